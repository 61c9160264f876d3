"""Finding lines: the caller's scope, filters, search and keyset pages.

A ``FleetScope`` says whose lines a caller may touch: one customer, optionally one subtree of
its department tree, optionally one employee's own lines. Every query starts from
``scoped_lines(scope)``, so a foreign or out-of-scope id is simply not found.

``services.fleet`` re-exports what callers need; they import that module.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import Select, false, func, literal, select, tuple_
from sqlalchemy.orm import Session, aliased, defer, load_only

from models import Employee, Line, LineStatus, OrgUnit, Product, Service, TariffPlan
from services.fleet_search import search_condition

PAGE_SIZE = 50
# The list counts matching lines up to this many; beyond it, it says "over 10,000" (counting
# 50,000 lines on every page costs more than the rest of the page).
COUNT_LIMIT = 10_000
MAX_PAGE_SIZE = 200
ANY_STATUS = "any"  # the status filter value that includes terminated lines

# The handset of a line, as joined by list queries (sorting by handset model needs the name).
Handset = aliased(Product, name="handset")

# PIN/PUK codes never leave the database through list or detail queries: a later report that
# reveals them does so on purpose, with an audit event. Touching them here raises.
WITHOUT_SECRETS = tuple(
    defer(col, raiseload=True) for col in (Line.pin1, Line.puk1, Line.pin2, Line.puk2)
)


# What a page of the list loads of each row: a 200-row page is a thousand entities, so the
# columns nobody shows (timestamps, the path) stay in the database; touching one loads it.
LIST_COLUMNS = (
    defer(Line.created_at),
    defer(Line.updated_at),
    defer(Line.activated_at),
    defer(Line.terminated_at),
    load_only(Employee.full_name, Employee.email, Employee.position),
    load_only(OrgUnit.name, OrgUnit.cost_centre, OrgUnit.path),
    load_only(TariffPlan.name),
    load_only(Handset.name),
)


@dataclass(frozen=True)
class FleetScope:
    customer_id: int
    unit_path: str | None = None  # a subtree, or None for the whole company
    employee_id: int | None = None  # an employee's own lines only


def in_subtree(customer_id: int, path: str) -> list:
    """Lines in the subtree at ``path``: one range on the line's denormalised path (kept in
    step when a unit moves, ``services.orgtree``), answered by the index line (customer_id,
    unit_path, status) — for a count, from the index alone."""
    return [Line.unit_path >= path, Line.unit_path < OrgUnit.upper_bound(path)]


def scope_conditions(scope: FleetScope) -> list:
    conds = [Line.customer_id == scope.customer_id]
    if scope.unit_path:
        conds += in_subtree(scope.customer_id, scope.unit_path)
    if scope.employee_id is not None:
        conds.append(Line.employee_id == scope.employee_id)
    return conds


def scoped_lines(scope: FleetScope) -> Select:
    return select(Line).where(*scope_conditions(scope))


def line_in_scope(session: Session, scope: FleetScope, line_id: int) -> Line | None:
    return session.scalar(scoped_lines(scope).where(Line.id == line_id))


# --- filters and search ------------------------------------------------------------------

# name -> (expression, kind of its value in a cursor). Nullable columns are coalesced so that
# the keyset comparison never meets a NULL.
SORTS = {
    "msisdn": (Line.msisdn, "str"),
    "employee": (func.coalesce(Employee.full_name, ""), "str"),
    "position": (func.coalesce(Employee.position, ""), "str"),
    "unit": (OrgUnit.name, "str"),
    "cost_centre": (func.coalesce(OrgUnit.cost_centre, ""), "str"),
    "tariff": (TariffPlan.name, "str"),
    "status": (Line.status, "str"),
    "handset": (func.coalesce(Handset.name, ""), "str"),
    "imei": (func.coalesce(Line.imei, ""), "str"),
    "iccid": (Line.iccid, "str"),
    "limit": (func.coalesce(Line.monthly_limit, -1), "num"),
}


@dataclass(frozen=True)
class FleetFilter:
    """What the fleet list shows. ``status`` None hides terminated lines; ``"any"`` shows all."""

    q: str = ""
    unit_id: int | None = None
    subtree: bool = True
    tariff_id: int | None = None
    status: str | None = None
    service: str | None = None
    service_on: bool | None = None
    handset_id: int | None = None
    sort: str = "msisdn"
    desc: bool = False

    def __post_init__(self):
        if self.sort not in SORTS:
            object.__setattr__(self, "sort", "msisdn")
        if self.status and self.status not in LineStatus.__members__ and self.status != ANY_STATUS:
            object.__setattr__(self, "status", None)
        if self.service and self.service not in Service.__members__:
            object.__setattr__(self, "service", None)

    def as_params(self) -> dict:
        """Query-string form, for links and for jobs (plain JSON values)."""
        out: dict = {}
        for key, value in self.__dict__.items():
            if value in (None, "", False) and key not in ("subtree",):
                continue
            out[key] = value
        if out.get("subtree") is True:
            out.pop("subtree")
        if out.get("sort") == "msisdn":
            out.pop("sort")
        return out

    @property
    def is_filtered(self) -> bool:
        """Anything beyond the default view (sorting aside)?"""
        return any((self.q, self.unit_id, self.tariff_id, self.status, self.handset_id)) or bool(
            self.service and self.service_on is not None
        )

    @classmethod
    def from_params(cls, params) -> FleetFilter:
        def _int(name):
            raw = params.get(name)
            try:
                value = int(raw) if raw not in (None, "") else None
            except (TypeError, ValueError):
                return None
            return value if value is not None and 0 < value < 2**63 else None

        def _bool(name, default=None):
            raw = params.get(name)
            if raw in (None, ""):
                return default
            if isinstance(raw, bool):
                return raw
            return str(raw).lower() in ("1", "true", "on", "yes")

        def _str(name):
            raw = params.get(name)
            return raw if isinstance(raw, str) and raw else None

        return cls(
            q=str(params.get("q") or "").strip()[:100],
            unit_id=_int("unit_id"),
            subtree=_bool("subtree", True),
            tariff_id=_int("tariff_id"),
            status=_str("status"),
            service=_str("service"),
            service_on=_bool("service_on"),
            handset_id=_int("handset_id"),
            sort=_str("sort") or "msisdn",
            desc=_bool("desc", False),
        )


def conditions(session: Session, scope: FleetScope, flt: FleetFilter) -> list:
    """The WHERE clauses of lines in scope matching the filter (no joins needed)."""
    conds = scope_conditions(scope)
    if flt.unit_id:
        unit = session.scalar(
            select(OrgUnit).where(
                OrgUnit.id == flt.unit_id, OrgUnit.customer_id == scope.customer_id
            )
        )
        if unit is None:
            return [false()]
        if flt.subtree:
            conds += in_subtree(scope.customer_id, unit.path)
        else:
            conds.append(Line.unit_id == unit.id)
    if flt.tariff_id:
        conds.append(Line.tariff_id == flt.tariff_id)
    if flt.status is None:
        conds.append(Line.status != LineStatus.terminated)
    elif flt.status != ANY_STATUS:
        conds.append(Line.status == LineStatus(flt.status))
    if flt.service and flt.service_on is not None:
        conds.append(getattr(Line, f"svc_{flt.service}").is_(flt.service_on))
    if flt.handset_id:
        conds.append(Line.handset_id == flt.handset_id)
    if flt.q:
        dialect = session.get_bind().dialect.name
        cond = search_condition(dialect, scope.customer_id, flt.q)
        if cond is not None:
            conds.append(cond)
            if dialect == "sqlite":
                # Start from the lines the search found: SQLite has no statistics and would
                # otherwise read the customer's whole fleet by its index ("+ 0" keeps the
                # condition and hides the index).
                conds[0] = (Line.customer_id + 0) == scope.customer_id
    return conds


def filtered(
    session: Session, scope: FleetScope, flt: FleetFilter, conds: list | None = None
) -> Select:
    """Lines in scope matching the filter, joined with what sorting needs."""
    conds = conditions(session, scope, flt) if conds is None else conds
    return (
        select(Line)
        .where(*conds)
        .outerjoin(Employee, Employee.id == Line.employee_id)
        .join(OrgUnit, OrgUnit.id == Line.unit_id)
        .join(TariffPlan, TariffPlan.id == Line.tariff_id)
    )


# The table each sort needs besides the line (sorting by the line's own columns needs none).
SORT_JOINS = {
    "employee": (Employee, Employee.id == Line.employee_id, True),
    "position": (Employee, Employee.id == Line.employee_id, True),
    "unit": (OrgUnit, OrgUnit.id == Line.unit_id, False),
    "cost_centre": (OrgUnit, OrgUnit.id == Line.unit_id, False),
    "tariff": (TariffPlan, TariffPlan.id == Line.tariff_id, False),
    "handset": (Handset, Handset.id == Line.handset_id, True),
}


def _sort_joins(query: Select, sort: str) -> Select:
    if sort not in SORT_JOINS:
        return query
    target, on, outer = SORT_JOINS[sort]
    return query.join(target, on, isouter=outer)


def count(session: Session, scope: FleetScope, flt: FleetFilter, conds: list | None = None) -> int:
    """One query, on the line table alone."""
    conds = conditions(session, scope, flt) if conds is None else conds
    return session.scalar(select(func.count()).select_from(Line).where(*conds))


def count_up_to(
    session: Session, scope: FleetScope, flt: FleetFilter, limit: int, conds: list | None = None
) -> int:
    """The number of matching lines, counted up to ``limit + 1`` at most: more than ``limit``
    means "over ``limit``"."""
    conds = conditions(session, scope, flt) if conds is None else conds
    found = select(Line.id).where(*conds).limit(limit + 1).subquery()
    return session.scalar(select(func.count()).select_from(found))


def filtered_ids(session: Session, scope: FleetScope, flt: FleetFilter) -> Select:
    return select(Line.id).where(*conditions(session, scope, flt))


# --- keyset pages ----------------------------------------------------------------------------


def encode_cursor(values: list) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None, kind: str = "str") -> list | None:
    """The [sort value, line id] of a cursor; None for anything that is not one of ours."""
    if not token or len(token) > 600:
        return None
    try:
        pad = "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(token + pad))
    except (ValueError, TypeError):
        return None
    if not (isinstance(values, list) and len(values) == 2):
        return None
    value, line_id = values
    if not isinstance(line_id, int) or isinstance(line_id, bool) or not 0 < line_id < 2**63:
        return None
    if kind == "num":
        try:
            value = Decimal(str(value))
        except InvalidOperation:
            return None
        if not value.is_finite() or abs(value) > 10**12:
            return None
    elif not isinstance(value, str):
        return None
    return [value, line_id]


@dataclass
class Page:
    rows: list  # (Line, Employee|None, OrgUnit, TariffPlan, Product|None)
    total: int  # exact, or count_limit + 1 when there are more (total_capped)
    next_cursor: str | None = None
    prev_cursor: str | None = None
    is_first: bool = True
    is_last: bool = True
    extras: dict = field(default_factory=dict)
    count_limit: int | None = None

    @property
    def total_capped(self) -> bool:
        """More lines match than were counted: show "over ``count_limit``"."""
        return self.count_limit is not None and self.total > self.count_limit


def page(
    session: Session,
    scope: FleetScope,
    flt: FleetFilter,
    *,
    after: str | None = None,
    before: str | None = None,
    last: bool = False,
    size: int = PAGE_SIZE,
    with_total: bool = True,
    count_limit: int | None = None,
) -> Page:
    """One page of the filtered fleet, by keyset on (sort value, id).

    ``after``: the page following that cursor; ``before``: the page preceding it; ``last``: the
    final page (read backwards from the end, as fast as the first). A cursor that does not
    decode is ignored (first page). Going back to the start tops the page up to ``size`` rows.
    ``count_limit``: count at most that many lines (one more means "over that many").
    """
    size = max(1, min(size, MAX_PAGE_SIZE))
    sort_col, kind = SORTS[flt.sort]
    cursor = None if last else decode_cursor(before or after, kind)
    backwards = last or (bool(before) and cursor is not None)
    conds = conditions(session, scope, flt)
    key = tuple_(sort_col, Line.id)
    # Ascending overall order unless flt.desc; reading backwards flips it.
    ascending = not flt.desc
    if backwards:
        ascending = not ascending
    order = (sort_col.asc(), Line.id.asc()) if ascending else (sort_col.desc(), Line.id.desc())
    # First the ids of the page (the line table, and only the joins the sort needs), then the
    # rows of just those: a filter matching thousands of lines sorts thousands of small
    # records, and joins employee, unit, tariff and handset for one page only.
    ids = _sort_joins(select(Line.id).where(*conds), flt.sort)
    if cursor:
        bound = tuple_(literal(cursor[0]), literal(cursor[1]))
        ids = ids.where(key > bound if ascending else key < bound)
    query = (
        select(Line, Employee, OrgUnit, TariffPlan, Handset, sort_col.label("sort_key"))
        .outerjoin(Employee, Employee.id == Line.employee_id)
        .join(OrgUnit, OrgUnit.id == Line.unit_id)
        .join(TariffPlan, TariffPlan.id == Line.tariff_id)
        .outerjoin(Handset, Handset.id == Line.handset_id)
        .where(Line.id.in_(ids.order_by(*order).limit(size + 1)))
        .options(*WITHOUT_SECRETS, *LIST_COLUMNS)
    )
    rows = list(session.execute(query.order_by(*order)))
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
        if not more and cursor is not None and len(rows) < size:
            # Back at the start with a short page: show the real first page instead.
            return page(
                session, scope, flt, size=size, with_total=with_total, count_limit=count_limit
            )

    def cursor_of(row) -> str:
        return encode_cursor([row.sort_key, row[0].id])

    result = Page(
        rows=[tuple(r[:5]) for r in rows],
        total=-1,
        count_limit=count_limit,
    )
    if with_total:
        result.total = (
            count(session, scope, flt, conds)
            if count_limit is None
            else count_up_to(session, scope, flt, count_limit, conds)
        )
    if rows:
        result.next_cursor = cursor_of(rows[-1])
        result.prev_cursor = cursor_of(rows[0])
    if backwards:
        result.is_first = not more
        result.is_last = last
    else:
        result.is_first = cursor is None
        result.is_last = not more
    return result
