"""Usage grouped for reports: by line, unit (each unit with the totals of its whole subtree),
tariff or employee; top spenders; month over month.

Reads ``usage_daily`` only, with one grouped query per answer: conditional sums give every
figure of a group in one row. Subtree totals sum the per-unit-path totals of the scope's lines
over every unit whose path is a prefix (``path >= u.path AND path < upper(u.path)``).
Lines are counted in their current unit, tariff and employee.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from models import Employee, Line, OrgUnit, TariffPlan, UsageDaily
from services.fleet_query import FleetScope, scope_conditions
from services.reports.period import Period, add_months
from services.usage import ZERO, _money, month_start

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


def _sums(d=UsageDaily):
    def kind_sum(kind):
        return func.coalesce(func.sum(case((d.kind == kind, d.quantity), else_=0)), 0)

    cols = [
        kind_sum("voice").label("voice"),
        kind_sum("sms").label("sms"),
        kind_sum("mms").label("mms"),
        kind_sum("data").label("data"),
        func.coalesce(func.sum(d.charge), 0).label("charge"),
    ]
    for zone in ROAMING_ZONES:
        cols.append(
            func.coalesce(func.sum(case((d.zone == zone, d.charge), else_=0)), 0).label(zone)
        )
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


def _base(scope: FleetScope, period: Period, key):
    return (
        select(key.label("key"), *_sums())
        .select_from(UsageDaily)
        .join(Line, Line.id == UsageDaily.line_id)
        .where(
            *scope_conditions(scope),
            UsageDaily.customer_id == scope.customer_id,
            UsageDaily.day >= period.start,
            UsageDaily.day < period.end,
        )
        .group_by(key)
    )


def _grouped(session: Session, scope: FleetScope, period: Period, key) -> dict:
    return {row.key: _figures(row) for row in session.execute(_base(scope, period, key))}


def _charges(session: Session, scope: FleetScope, period: Period, key) -> dict:
    query = (
        select(key.label("key"), func.sum(UsageDaily.charge))
        .select_from(UsageDaily)
        .where(
            UsageDaily.customer_id == scope.customer_id,
            UsageDaily.day >= period.start,
            UsageDaily.day < period.end,
        )
        .group_by(key)
    )
    if _needs_lines(scope, key):
        query = query.join(Line, Line.id == UsageDaily.line_id).where(*scope_conditions(scope))
    return {k: _money(v) for k, v in session.execute(query)}


def _needs_lines(scope: FleetScope, key) -> bool:
    """Whole-company totals by day (or in all) read usage_daily alone, by its (customer, day)
    index; anything by line attribute or within a subtree joins the lines."""
    company_wide = scope.unit_path is None and scope.employee_id is None
    return not (company_wide and getattr(key, "table", None) is not Line.__table__)


def top_lines(session: Session, scope: FleetScope, period: Period, limit: int = TOP) -> list:
    """The ``limit`` lines with the highest charges: [(line id, charge)]."""
    query = (
        select(UsageDaily.line_id, func.sum(UsageDaily.charge).label("charge"))
        .join(Line, Line.id == UsageDaily.line_id)
        .where(
            *scope_conditions(scope),
            UsageDaily.customer_id == scope.customer_id,
            UsageDaily.day >= period.start,
            UsageDaily.day < period.end,
        )
        .group_by(UsageDaily.line_id)
        .order_by(func.sum(UsageDaily.charge).desc(), UsageDaily.line_id)
        .limit(limit)
    )
    return [(line_id, _money(charge)) for line_id, charge in session.execute(query)]


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


def subtree_figures(session: Session, scope: FleetScope, period: Period) -> dict[int, Figures]:
    """Per unit of the scope: the figures of every line in its subtree, in one query (the
    per-path sums joined to the units whose path is a prefix)."""
    per_path = _base(scope, period, Line.unit_path).subquery()
    upper = func.substr(OrgUnit.path, 1, func.length(OrgUnit.path) - 1) + literal("0")
    sums = [func.sum(per_path.c[name]).label(name) for name in _column_names()]
    query = (
        select(OrgUnit.id.label("key"), *sums)
        .join(per_path, (per_path.c.key >= OrgUnit.path) & (per_path.c.key < upper))
        .where(OrgUnit.customer_id == scope.customer_id)
        .group_by(OrgUnit.id)
    )
    return {row.key: _figures(row) for row in session.execute(query)}


def _column_names():
    return ["voice", "sms", "mms", "data", "charge", *ROAMING_ZONES]


def _subtree_charges(session, scope, period) -> dict[int, Decimal]:
    """Per unit of the scope: the charges of its whole subtree (as ``subtree_figures``)."""
    per_path = (
        select(Line.unit_path.label("key"), func.sum(UsageDaily.charge).label("charge"))
        .select_from(UsageDaily)
        .join(Line, Line.id == UsageDaily.line_id)
        .where(
            *scope_conditions(scope),
            UsageDaily.customer_id == scope.customer_id,
            UsageDaily.day >= period.start,
            UsageDaily.day < period.end,
        )
        .group_by(Line.unit_path)
        .subquery()
    )
    upper = func.substr(OrgUnit.path, 1, func.length(OrgUnit.path) - 1) + literal("0")
    query = (
        select(OrgUnit.id, func.sum(per_path.c.charge))
        .join(per_path, (per_path.c.key >= OrgUnit.path) & (per_path.c.key < upper))
        .where(OrgUnit.customer_id == scope.customer_id)
        .group_by(OrgUnit.id)
    )
    return {k: _money(v) for k, v in session.execute(query)}


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
        months=month_over_month(session, scope, period),
    )


def _roots(groups: list[Group]) -> list[Group]:
    """The units of the list whose parent is not in it (their subtrees cover every line)."""
    paths = {g.detail for g in groups}
    return [g for g in groups if g.detail.rsplit("/", 2)[0] + "/" not in paths]


def _unit_groups(session, scope, period, previous) -> list[Group]:
    subtree = subtree_figures(session, scope, period)
    before = _subtree_charges(session, scope, previous)
    groups = []
    for unit_id, name, path, depth in _unit_rows(session, scope):
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
    session: Session, scope: FleetScope, period: Period, months: int = 6
) -> list[tuple[date, Decimal]]:
    """Charges per calendar month for the ``months`` months ending with the period's last
    month (one query grouped by day, folded into months)."""
    last = month_start(period.last_day)
    first = add_months(last, -(months - 1))
    end = add_months(last, 1)
    per_day = _charges(session, scope, Period(first, end), UsageDaily.day)
    result = {add_months(first, n): ZERO for n in range(months)}
    for day, charge in per_day.items():
        result[month_start(day)] += charge
    return sorted(result.items())
