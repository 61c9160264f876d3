"""What a fleet admin and an employee see of spend: a line's month so far against its limit
with the projection, the lines of a scope near their limit, and the alerts sent lately."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Line, LineStatus, OrgUnit, SpendAlert
from services.fleet_query import FleetScope, scoped_lines
from services.usage import (
    Projection,
    Totals,
    local_today,
    month_start,
    month_to_date,
    projected_spend,
)

NEAR = 80  # percent of the limit


@dataclass(frozen=True)
class LineSpend:
    line: Line
    totals: Totals
    projection: Projection
    limit: Decimal | None

    @property
    def percent_to_date(self) -> int | None:
        return _percent(self.projection.to_date, self.limit)

    @property
    def percent_projected(self) -> int | None:
        return _percent(self.projection.projected, self.limit)


def _percent(amount: Decimal, limit: Decimal | None) -> int | None:
    if not limit or limit <= 0:
        return None
    return int(amount * 100 / limit)


def of_line(session: Session, line: Line, now: datetime | None = None) -> LineSpend:
    today = local_today(now)
    totals = month_to_date(session, [line.id], today)[line.id]
    projection = projected_spend(session, [line.id], today)[line.id]
    return LineSpend(line, totals, projection, line.monthly_limit)


def near_limit(
    session: Session, scope: FleetScope, now: datetime | None = None, limit: int = 50
) -> list[LineSpend]:
    """Lines of the scope whose projected month-end spend is at least 80 % of their limit,
    highest first. The candidates are the lines the evaluation has alerted at 80 % this month
    (so the page does not project the whole fleet); their projection is taken afresh."""
    today = local_today(now)
    alerted = (
        select(SpendAlert.line_id)
        .where(SpendAlert.month == month_start(today), SpendAlert.kind == str(NEAR))
        .scalar_subquery()
    )
    lines = list(
        session.scalars(
            scoped_lines(scope).where(
                Line.id.in_(alerted),
                Line.status == LineStatus.active,
                Line.monthly_limit.is_not(None),
            )
        )
    )
    if not lines:
        return []
    ids = [ln.id for ln in lines]
    projections = projected_spend(session, ids, today)
    totals = month_to_date(session, ids, today)
    rows = [LineSpend(ln, totals[ln.id], projections[ln.id], ln.monthly_limit) for ln in lines]
    rows = [r for r in rows if (r.percent_projected or 0) >= NEAR]
    rows.sort(key=lambda r: -(r.projection.projected / r.limit))
    return rows[:limit]


def recent(session: Session, scope: FleetScope, limit: int = 30) -> list[SpendAlert]:
    """The alerts sent lately in the scope (one per mail), newest first."""
    cond = [SpendAlert.customer_id == scope.customer_id, SpendAlert.mailed.is_(True)]
    if scope.unit_path:
        cond += [
            SpendAlert.unit_path >= scope.unit_path,
            SpendAlert.unit_path < OrgUnit.upper_bound(scope.unit_path),
        ]
    return list(
        session.scalars(select(SpendAlert).where(*cond).order_by(SpendAlert.id.desc()).limit(limit))
    )
