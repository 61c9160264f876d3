"""Usage grouped for reports: by line, unit (each unit with the totals of its whole subtree),
tariff or employee; top spenders; month over month.

Reads the per-line totals only (``services.usage.parts``: the monthly rollup for the whole
months of the period, the daily totals for the days at its edges), with one grouped query per
answer and part, the parts' answers added up: conditional sums give every figure of a group in
one row. Subtree totals: one query sums the scope's lines per unit path (about one row per
unit), and each path's figures count for every unit on the path (``/1/12/123/`` for ``/1/``,
``/1/12/`` and itself). Lines are counted in their current unit, tariff and employee.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from models import Employee, Line, OrgUnit, TariffPlan, UsageMonthly
from services.fleet_query import FleetScope, scope_conditions
from services.reports.period import Period, add_months
from services.usage import ZERO, _money, month_start, parts

GROUPS = ("line", "unit", "tariff", "employee")
ROAMING_ZONES = ("eu", "europe", "world")
TOP = 10


@dataclass
class Figures:
    voice_seconds: int = 0
    sms: int = 0
    mms: int = 0
    data_bytes: int = 0
    roaming: dict[str, Decimal] = field(default_factory=dict)  # zone -> charge
    charge: Decimal = ZERO

    @property
    def voice_minutes(self) -> int:
        return -(-self.voice_seconds // 60)

    @property
    def data_mb(self) -> Decimal:
        return (Decimal(self.data_bytes) / 1_000_000).quantize(Decimal("0.1"))

    def add(self, other: Figures) -> None:
        self.voice_seconds += other.voice_seconds
        self.sms += other.sms
        self.mms += other.mms
        self.data_bytes += other.data_bytes
        for zone, value in other.roaming.items():
            self.roaming[zone] = self.roaming.get(zone, ZERO) + value
        self.charge += other.charge


@dataclass
class Group:
    key: int | None
    label: str
    detail: str = ""  # e.g. the unit path or the employee of a line
    depth: int = 0  # units: depth in the tree
    figures: Figures = field(default_factory=Figures)  # units: of the whole subtree
    previous: Decimal = ZERO  # the charge of the previous period

    @property
    def change(self) -> Decimal | None:
        if not self.previous:
            return None
        return ((self.figures.charge - self.previous) * 100 / self.previous).quantize(
            Decimal("0.1")
        )


@dataclass
class UsageReport:
    period: Period
    group_by: str
    groups: list[Group]
    total: Figures
    previous_total: Decimal
    top: list[Group]
    months: list[tuple[date, Decimal]]  # month over month: (first day, charge)


def _sums(d):
    """Conditional sums over the rows of ``d`` (``UsageMonthly`` or ``UsageDaily``). ``FILTER``
    adds only the rows of its kind or zone (a ``CASE … ELSE 0`` would add a zero for every
    other row, in every column)."""

    def kind_sum(kind):
        return func.coalesce(func.sum(d.quantity).filter(d.kind == kind), 0)

    cols = [
        kind_sum("voice").label("voice"),
        kind_sum("sms").label("sms"),
        kind_sum("mms").label("mms"),
        kind_sum("data").label("data"),
        func.coalesce(func.sum(d.charge), 0).label("charge"),
    ]
    for zone in ROAMING_ZONES:
        cols.append(func.coalesce(func.sum(d.charge).filter(d.zone == zone), 0).label(zone))
    return cols


def _figures(row) -> Figures:
    roaming = {z: _money(getattr(row, z)) for z in ROAMING_ZONES}
    return Figures(
        voice_seconds=int(row.voice),
        sms=int(row.sms),
        mms=int(row.mms),
        data_bytes=int(row.data),
        roaming={z: v for z, v in roaming.items() if v},
        charge=_money(row.charge),
    )


def _part_queries(scope: FleetScope, period: Period, key, columns, where=lambda t: ()) -> list:
    """One query per part of the period (``services.usage.parts``: the rollup's whole months,
    the daily totals' edge days), each the ``columns`` of that table's rows within the scope
    (and ``where``) grouped by ``key`` (a column of the line)."""
    return [
        select(key.label("key"), *columns(t))
        .select_from(t)
        .join(Line, Line.id == t.line_id)
        .where(t.customer_id == scope.customer_id, *dates, *where(t), *scope_conditions(scope))
        .group_by(key)
        for t, dates in parts(period.start, period.end)
    ]


def _charged(t) -> tuple:
    """Rows without a charge add nothing to a sum of charges: queries of charges alone skip
    them (many are free: incoming calls, data within the bundle)."""
    return (t.charge != 0,)


def _grouped(session: Session, scope: FleetScope, period: Period, key) -> dict:
    """Figures per ``key``: the parts' figures added up."""
    result: dict = {}
    for query in _part_queries(scope, period, key, _sums):
        for row in session.execute(query):
            figures = _figures(row)
            if row.key in result:
                result[row.key].add(figures)
            else:
                result[row.key] = figures
    return result


def _charges(session: Session, scope: FleetScope, period: Period, key, where=lambda t: ()) -> dict:
    """Charges per ``key`` (a column of the line) within the scope."""
    result: dict = {}
    for query in _part_queries(scope, period, key, lambda t: [func.sum(t.charge)], where):
        for k, charge in session.execute(query):
            result[k] = result.get(k, ZERO) + _money(charge)
    return result


def _company_wide(scope: FleetScope) -> bool:
    """Whole-company figures read the usage tables alone, by their (customer, month) and
    (customer, day) indexes; anything within a subtree or of one employee joins the lines."""
    return scope.unit_path is None and scope.employee_id is None


def top_lines(session: Session, scope: FleetScope, period: Period, limit: int = TOP) -> list:
    """The ``limit`` lines with the highest charges: [(line id, charge)]."""
    per_part = []
    for t, dates in parts(period.start, period.end):
        charge = func.sum(t.charge).label("charge")
        query = (
            select(t.line_id.label("line_id"), charge)
            .where(t.customer_id == scope.customer_id, *dates, *_charged(t))
            .group_by(t.line_id)
        )
        if not _company_wide(scope):
            query = query.join(Line, Line.id == t.line_id).where(*scope_conditions(scope))
        per_part.append(query)
    if len(per_part) > 1:  # each part summed per line, then the parts' sums added up
        rows = union_all(*per_part).subquery()
        charge = func.sum(rows.c.charge).label("charge")
        query = select(rows.c.line_id, charge).group_by(rows.c.line_id)
    elif not per_part:
        return []
    query = query.order_by(charge.desc(), "line_id").limit(limit)
    return [(line_id, _money(c)) for line_id, c in session.execute(query)]


KEYS = {
    "line": Line.id,
    "unit": Line.unit_path,
    "tariff": Line.tariff_id,
    "employee": Line.employee_id,
}


def _line_groups(session, scope, keys) -> dict[int, tuple[str, str]]:
    labels = {}
    ids = list(keys)
    for i in range(0, len(ids), 900):
        rows = session.execute(
            select(Line.id, Line.msisdn, Employee.full_name)
            .outerjoin(Employee, Employee.id == Line.employee_id)
            .where(Line.id.in_(ids[i : i + 900]), Line.customer_id == scope.customer_id)
        )
        for line_id, msisdn, name in rows:
            labels[line_id] = (msisdn, name or "")
    return labels


def _unit_rows(session, scope):
    query = select(OrgUnit.id, OrgUnit.name, OrgUnit.path, OrgUnit.depth).where(
        OrgUnit.customer_id == scope.customer_id
    )
    if scope.unit_path:
        query = query.where(
            OrgUnit.path >= scope.unit_path, OrgUnit.path < OrgUnit.upper_bound(scope.unit_path)
        )
    return list(session.execute(query.order_by(OrgUnit.path)))


def subtree_figures(
    session: Session, scope: FleetScope, period: Period, units: dict[str, int] | None = None
) -> dict[int, Figures]:
    """Per unit of the scope with usage in its subtree: the figures of every line in that
    subtree. One query sums per unit path; each path's figures then count for every unit on
    the path. ``units``: path -> id of the scope's units, when the caller has them."""
    unit_of = units if units is not None else _unit_ids(session, scope)
    totals: dict[int, Figures] = {}
    for path, figures in _grouped(session, scope, period, Line.unit_path).items():
        for unit_id in _units_on(path, unit_of):
            totals.setdefault(unit_id, Figures()).add(figures)
    return totals


def _subtree_charges(session, scope, period, units: dict[str, int]) -> dict[int, Decimal]:
    """Per unit of the scope: the charges of its whole subtree (as ``subtree_figures``)."""
    totals: dict[int, Decimal] = {}
    for path, charge in _charges(session, scope, period, Line.unit_path, _charged).items():
        for unit_id in _units_on(path, units):
            totals[unit_id] = totals.get(unit_id, ZERO) + charge
    return totals


def _unit_ids(session, scope) -> dict[str, int]:
    return {path: unit_id for unit_id, _name, path, _depth in _unit_rows(session, scope)}


def _units_on(path: str | None, unit_of: dict[str, int]) -> list[int]:
    """The ids of the units on ``path`` (``/1/12/``: the units ``/1/`` and ``/1/12/``) that
    are in ``unit_of`` (path -> id)."""
    found = []
    end = path.find("/", 1) if path else -1
    while end != -1:
        unit_id = unit_of.get(path[: end + 1])
        if unit_id is not None:
            found.append(unit_id)
        end = path.find("/", end + 1)
    return found


def build(session: Session, scope: FleetScope, period: Period, group_by: str) -> UsageReport:
    if group_by not in GROUPS:
        raise ValueError(group_by)
    previous = period.previous()
    if group_by == "unit":
        groups = _unit_groups(session, scope, period, previous)
        roots = _roots(groups)
        total = Figures()
        for g in roots:
            total.add(g.figures)
        previous_total = sum((g.previous for g in roots), ZERO)
    else:
        key = KEYS[group_by]
        figures = _grouped(session, scope, period, key)
        before = _charges(session, scope, previous, key)
        groups = _labelled(session, scope, group_by, figures, before)
        groups.sort(key=lambda g: (-g.figures.charge, g.label))
        total = Figures()
        for g in groups:
            total.add(g.figures)
        previous_total = sum(before.values(), ZERO)
    if group_by == "line":
        top = [g for g in groups[:TOP] if g.figures.charge > 0]
    else:
        ranked = [(k, c) for k, c in top_lines(session, scope, period) if c > 0]
        labels = _line_groups(session, scope, [k for k, _c in ranked])
        top = [Group(k, *labels.get(k, ("?", "")), figures=Figures(charge=c)) for k, c in ranked]
    return UsageReport(
        period=period,
        group_by=group_by,
        groups=groups,
        total=total,
        previous_total=previous_total,
        top=top,
        months=month_over_month(
            session, scope, period, known=_known_months(period, total, previous_total)
        ),
    )


def _known_months(period: Period, total: Figures, previous_total: Decimal) -> dict:
    """The charges of calendar months the report has already summed: for a month, that month
    and the one before."""
    if not period.is_month:
        return {}
    return {period.start: total.charge, period.previous().start: previous_total}


def _roots(groups: list[Group]) -> list[Group]:
    """The units of the list whose parent is not in it (their subtrees cover every line)."""
    paths = {g.detail for g in groups}
    return [g for g in groups if g.detail.rsplit("/", 2)[0] + "/" not in paths]


def _unit_groups(session, scope, period, previous) -> list[Group]:
    rows = _unit_rows(session, scope)
    units = {path: unit_id for unit_id, _name, path, _depth in rows}
    subtree = subtree_figures(session, scope, period, units)
    before = _subtree_charges(session, scope, previous, units)
    groups = []
    for unit_id, name, path, depth in rows:
        groups.append(
            Group(
                key=unit_id,
                label=name,
                detail=path,
                depth=depth,
                figures=subtree.get(unit_id, Figures()),
                previous=before.get(unit_id, ZERO),
            )
        )
    return groups


def _labelled(session, scope, group_by, figures, before) -> list[Group]:
    keys = set(figures) | set(before)
    labels: dict = {}
    if group_by == "line":
        labels = _line_groups(session, scope, [k for k in keys if k is not None])
    elif group_by == "tariff":
        rows = session.execute(
            select(TariffPlan.id, TariffPlan.name).where(TariffPlan.id.in_(keys))
        )
        labels = {k: (name, "") for k, name in rows}
    elif group_by == "employee":
        rows = session.execute(
            select(Employee.id, Employee.full_name, Employee.email).where(
                Employee.id.in_([k for k in keys if k is not None]),
                Employee.customer_id == scope.customer_id,
            )
        )
        labels = {k: (name, email or "") for k, name, email in rows}
    groups = []
    for k in keys:
        label, detail = labels.get(k, ("", ""))
        groups.append(
            Group(
                key=k,
                label=label,
                detail=detail,
                figures=figures.get(k, Figures()),
                previous=before.get(k, ZERO),
            )
        )
    return groups


def month_over_month(
    session: Session, scope: FleetScope, period: Period, months: int = 6, known=None
) -> list[tuple[date, Decimal]]:
    """Charges per calendar month for the ``months`` months ending with the period's last
    month (one query over the monthly rollup, grouped by month). ``known``: {first day:
    charge} of the latest of those months, already summed by the caller; only the months
    before them are read."""
    known = known or {}
    last = month_start(period.last_day)
    first = add_months(last, -(months - 1))
    result = {add_months(first, n): ZERO for n in range(months)}
    result.update((month, charge) for month, charge in known.items() if month in result)
    end = min(known, default=add_months(last, 1))
    m = UsageMonthly
    query = (
        select(m.month, func.sum(m.charge))
        .where(m.customer_id == scope.customer_id, m.month >= first, m.month < end, *_charged(m))
        .group_by(m.month)
    )
    if not _company_wide(scope):
        query = query.join(Line, Line.id == m.line_id).where(*scope_conditions(scope))
    if first < end:
        for month, charge in session.execute(query):
            result[month] += _money(charge)
    return sorted(result.items())
