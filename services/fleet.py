"""The fleet of lines: finding them (filters, search, keyset pages) and changing them in bulk.

A ``FleetScope`` says whose lines a caller may touch: one customer, optionally one subtree of
its department tree, optionally one employee's own lines. Every query and every bulk change
starts from ``scoped_lines(scope)``, so a foreign or out-of-scope id is simply not found.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal

import phonenumbers
from sqlalchemy import Select, and_, func, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session, aliased

from core.i18n import _l
from models import (
    AuditEvent,
    Employee,
    Line,
    LineStatus,
    OrgUnit,
    Product,
    Service,
    TariffPlan,
)
from models.base import utcnow
from services import ServiceError, provisioning
from services.audit import Actor

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class FleetScope:
    customer_id: int
    unit_path: str | None = None  # a subtree, or None for the whole company
    employee_id: int | None = None  # an employee's own lines only


def scoped_lines(scope: FleetScope) -> Select:
    query = select(Line).where(Line.customer_id == scope.customer_id)
    if scope.unit_path:
        query = query.where(
            Line.unit_path >= scope.unit_path, Line.unit_path < OrgUnit.upper_bound(scope.unit_path)
        )
    if scope.employee_id is not None:
        query = query.where(Line.employee_id == scope.employee_id)
    return query


def line_in_scope(session: Session, scope: FleetScope, line_id: int) -> Line | None:
    return session.scalar(scoped_lines(scope).where(Line.id == line_id))


def normalise_msisdn(raw: str, region: str = "PL") -> str:
    """E.164 for a Polish or international number; ServiceError when it is not one."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise ServiceError(_l("This is not a phone number."), field="msisdn") from exc
    if not phonenumbers.is_valid_number(number):
        raise ServiceError(_l("This phone number is not valid."), field="msisdn")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_msisdn(e164: str) -> str:
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def imei_valid(imei: str) -> bool:
    """15 digits with a Luhn check digit."""
    if not re.fullmatch(r"\d{15}", imei or ""):
        return False
    total = 0
    for i, ch in enumerate(reversed(imei)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# --- filters and search ------------------------------------------------------------------

SORTS = {
    "msisdn": Line.msisdn,
    "employee": func.coalesce(Employee.full_name, ""),
    "unit": OrgUnit.name,
    "tariff": TariffPlan.name,
    "status": Line.status,
}


@dataclass(frozen=True)
class FleetFilter:
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
        if self.status and self.status not in LineStatus.__members__:
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

    @classmethod
    def from_params(cls, params) -> FleetFilter:
        def _int(name):
            raw = params.get(name)
            try:
                return int(raw) if raw not in (None, "") else None
            except (TypeError, ValueError):
                return None

        def _bool(name, default=None):
            raw = params.get(name)
            if raw in (None, ""):
                return default
            if isinstance(raw, bool):
                return raw
            return str(raw).lower() in ("1", "true", "on", "yes")

        return cls(
            q=str(params.get("q") or "").strip()[:100],
            unit_id=_int("unit_id"),
            subtree=_bool("subtree", True),
            tariff_id=_int("tariff_id"),
            status=params.get("status") or None,
            service=params.get("service") or None,
            service_on=_bool("service_on"),
            handset_id=_int("handset_id"),
            sort=params.get("sort") or "msisdn",
            desc=_bool("desc", False),
        )


def _search_condition(q: str):
    digits = re.sub(r"\D", "", q)
    conditions = []
    if digits and len(digits) >= 3 and len(digits) == len(re.sub(r"[\s+()\-]", "", q)):
        # Looks like a number: MSISDN (any part), ICCID or IMEI (prefix).
        conditions.append(Line.msisdn.like(f"%{digits}%"))
        if len(digits) >= 8:
            conditions.append(Line.iccid.like(f"{digits}%"))
            conditions.append(Line.imei.like(f"{digits}%"))
    if not digits or len(digits) < len(q):
        words = [w for w in re.split(r"\s+", q.lower()) if w]
        conditions.append(
            and_(
                *[
                    func.lower(Employee.full_name).like(f"%{_escape(w)}%", escape="\\")
                    for w in words
                ]
            )
        )
    return or_(*conditions) if conditions else None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(session: Session, scope: FleetScope, flt: FleetFilter) -> Select:
    """Lines in scope matching the filter, joined with what sorting and search need."""
    query = (
        scoped_lines(scope)
        .outerjoin(Employee, Employee.id == Line.employee_id)
        .join(OrgUnit, OrgUnit.id == Line.unit_id)
        .join(TariffPlan, TariffPlan.id == Line.tariff_id)
    )
    if flt.unit_id:
        unit = session.scalar(
            select(OrgUnit).where(
                OrgUnit.id == flt.unit_id, OrgUnit.customer_id == scope.customer_id
            )
        )
        if unit is None:
            return query.where(False)
        if flt.subtree:
            query = query.where(
                Line.unit_path >= unit.path, Line.unit_path < OrgUnit.upper_bound(unit.path)
            )
        else:
            query = query.where(Line.unit_id == unit.id)
    if flt.tariff_id:
        query = query.where(Line.tariff_id == flt.tariff_id)
    if flt.status:
        query = query.where(Line.status == LineStatus(flt.status))
    if flt.service and flt.service_on is not None:
        query = query.where(getattr(Line, f"svc_{flt.service}").is_(flt.service_on))
    if flt.handset_id:
        query = query.where(Line.handset_id == flt.handset_id)
    if flt.q:
        cond = _search_condition(flt.q)
        if cond is not None:
            query = query.where(cond)
    return query


def count(session: Session, scope: FleetScope, flt: FleetFilter) -> int:
    sub = filtered(session, scope, flt).with_only_columns(Line.id).subquery()
    return session.scalar(select(func.count()).select_from(sub))


def filtered_ids(session: Session, scope: FleetScope, flt: FleetFilter) -> Select:
    return filtered(session, scope, flt).with_only_columns(Line.id)


# --- keyset pages ----------------------------------------------------------------------------


def encode_cursor(values: list) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None) -> list | None:
    if not token:
        return None
    try:
        pad = "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(token + pad))
    except (ValueError, TypeError):
        return None
    if not (isinstance(values, list) and len(values) == 2 and isinstance(values[1], int)):
        return None
    return values


@dataclass
class Page:
    rows: list  # (Line, Employee|None, OrgUnit, TariffPlan, Product|None)
    total: int
    next_cursor: str | None = None
    prev_cursor: str | None = None
    is_first: bool = True
    is_last: bool = True
    extras: dict = field(default_factory=dict)


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
) -> Page:
    """One page of the filtered fleet, by keyset on (sort value, id).

    ``after``: the page following that cursor; ``before``: the page preceding it; ``last``: the
    final page (read backwards from the end, as fast as the first).
    """
    size = max(1, min(size, MAX_PAGE_SIZE))
    sort_col = SORTS[flt.sort]
    handset = aliased(Product)
    query = filtered(session, scope, flt).add_columns(Employee, OrgUnit, TariffPlan, handset)
    query = query.outerjoin(handset, handset.id == Line.handset_id)
    key = tuple_(sort_col, Line.id)

    backwards = bool(before) or last
    cursor = decode_cursor(before if before else after)
    # Ascending overall order unless flt.desc; reading backwards flips it.
    ascending = not flt.desc
    if backwards:
        ascending = not ascending
    if cursor and not last:
        query = query.where(key > tuple_(*cursor) if ascending else key < tuple_(*cursor))
    order = (sort_col.asc(), Line.id.asc()) if ascending else (sort_col.desc(), Line.id.desc())
    rows = list(session.execute(query.order_by(*order).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    def cursor_of(row) -> str:
        line, employee, unit, tariff, _h = row
        value = {
            "msisdn": line.msisdn,
            "employee": employee.full_name if employee else "",
            "unit": unit.name,
            "tariff": tariff.name,
            "status": line.status.value,
        }[flt.sort]
        return encode_cursor([value, line.id])

    result = Page(rows=rows, total=count(session, scope, flt) if with_total else -1)
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


# --- changes -------------------------------------------------------------------------------


def _audit_rows(actor: Actor, customer_id: int, action: str, changes: list[tuple[int, dict, dict]]):
    now = utcnow()
    return [
        {
            "created_at": now,
            "actor_kind": actor.kind,
            "actor_id": actor.id,
            "actor_label": actor.label,
            "address": actor.address,
            "customer_id": customer_id,
            "action": action,
            "object_type": "line",
            "object_id": line_id,
            "before": before,
            "after": after,
        }
        for line_id, before, after in changes
    ]


def _selected(session: Session, scope: FleetScope, line_ids) -> list[Line]:
    """The selected lines that are in scope. ``line_ids``: a list or a Select of ids."""
    query = scoped_lines(scope)
    if isinstance(line_ids, Select):
        query = query.where(Line.id.in_(line_ids.scalar_subquery()))
    else:
        ids = [int(i) for i in line_ids]
        if not ids:
            raise ServiceError(_l("Select at least one line."))
        query = query.where(Line.id.in_(ids))
    return list(session.scalars(query.order_by(Line.id)))


def move_lines(session: Session, actor: Actor, scope: FleetScope, line_ids, unit: OrgUnit) -> int:
    """Move lines to ``unit`` (which the caller loaded through its own scope)."""
    if unit.customer_id != scope.customer_id:
        raise ServiceError(_l("This unit does not exist."), field="unit_id")
    rows = session.execute(
        scoped_lines(scope)
        .with_only_columns(Line.id, Line.unit_id)
        .where(
            Line.id.in_(line_ids.scalar_subquery())
            if isinstance(line_ids, Select)
            else Line.id.in_([int(i) for i in line_ids])
        )
    ).all()
    moving = [(lid, uid) for lid, uid in rows if uid != unit.id]
    if not rows:
        raise ServiceError(_l("Select at least one line."))
    ids = [lid for lid, _ in moving]
    for chunk in _chunks(ids, 900):
        session.execute(
            update(Line)
            .where(Line.id.in_(chunk))
            .values(unit_id=unit.id, unit_path=unit.path, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    if moving:
        session.execute(
            insert(AuditEvent),
            _audit_rows(
                actor,
                scope.customer_id,
                "line.moved",
                [(lid, {"unit_id": uid}, {"unit_id": unit.id}) for lid, uid in moving],
            ),
        )
    session.expire_all()
    return len(moving)


def assign_employee(
    session: Session, actor: Actor, scope: FleetScope, line_ids, employee: Employee | None
) -> int:
    if employee is not None and employee.customer_id != scope.customer_id:
        raise ServiceError(_l("This employee does not exist."), field="employee_id")
    lines = _selected(session, scope, line_ids)
    if not lines:
        raise ServiceError(_l("Select at least one line."))
    new_id = employee.id if employee else None
    changes = [
        (ln.id, {"employee_id": ln.employee_id}, {"employee_id": new_id})
        for ln in lines
        if ln.employee_id != new_id
    ]
    for ln in lines:
        ln.employee_id = new_id
    if changes:
        session.execute(
            insert(AuditEvent),
            _audit_rows(
                actor,
                scope.customer_id,
                "line.employee_assigned" if employee else "line.employee_unassigned",
                changes,
            ),
        )
    session.flush()
    return len(changes)


def request_tariff_change(
    session: Session,
    actor: Actor,
    scope: FleetScope,
    line_ids,
    tariff: TariffPlan,
    allowed_tariff_ids: set[int],
) -> int:
    if tariff.id not in allowed_tariff_ids:
        raise ServiceError(
            _l("This tariff is not available under your contract."), field="tariff_id"
        )
    lines = [
        ln
        for ln in _selected(session, scope, line_ids)
        if ln.tariff_id != tariff.id and ln.status in (LineStatus.active, LineStatus.suspended)
    ]
    return _request_many(session, actor, lines, "change_tariff", {"tariff_id": tariff.id})


def request_status_change(
    session: Session, actor: Actor, scope: FleetScope, line_ids, action: str
) -> int:
    wanted = {"suspend": LineStatus.active, "resume": LineStatus.suspended}
    if action not in wanted:
        raise ServiceError(_l("Unknown change."))
    lines = [ln for ln in _selected(session, scope, line_ids) if ln.status == wanted[action]]
    return _request_many(session, actor, lines, action, {})


def request_service_change(
    session: Session, actor: Actor, scope: FleetScope, line_ids, service: Service, on: bool
) -> int:
    lines = [
        ln
        for ln in _selected(session, scope, line_ids)
        if ln.status == LineStatus.active and ln.service_on(service) != on
    ]
    return _request_many(session, actor, lines, "set_service", {"service": service.value, "on": on})


def _request_many(
    session: Session, actor: Actor, lines: list[Line], action: str, params: dict
) -> int:
    if not lines:
        return 0
    pending = provisioning.open_requests(session, [ln.id for ln in lines])
    count_ = 0
    for ln in lines:
        if any(r.action == action and r.params == params for r in pending.get(ln.id, ())):
            continue  # the same change is already on its way
        provisioning.request_change(session, actor, ln, action, params, enqueue=False)
        count_ += 1
    provisioning.enqueue_lines(session, [ln.id for ln in lines])
    return count_


def set_monthly_limit(
    session: Session, actor: Actor, scope: FleetScope, line_ids, limit: Decimal | None
) -> int:
    if limit is not None and (limit < 0 or limit > Decimal("100000")):
        raise ServiceError(_l("The limit must be between 0 and 100 000 PLN."), field="limit")
    lines = _selected(session, scope, line_ids)
    changes = []
    for ln in lines:
        if ln.monthly_limit != limit:
            changes.append(
                (ln.id, {"monthly_limit": str(ln.monthly_limit)}, {"monthly_limit": str(limit)})
            )
            ln.monthly_limit = limit
    if changes:
        session.execute(
            insert(AuditEvent), _audit_rows(actor, scope.customer_id, "line.limit_changed", changes)
        )
    session.flush()
    return len(changes)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def with_scope(scope: FleetScope, **changes) -> FleetScope:
    return replace(scope, **changes)
