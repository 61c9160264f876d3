"""Daily usage totals for spend tests, written straight into ``usage_daily`` (the monthly rollup
refreshed from them)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from models import Direction, Line, UsageDaily, UsageKind, Zone
from services import usage_rollup


def charge_days(
    session, line: Line, first: date, last: date, amount: str, zone: Zone = Zone.domestic
) -> None:
    """``amount`` PLN of voice on each day from ``first`` to ``last`` (inclusive)."""
    day = first
    while day <= last:
        session.add(
            UsageDaily(
                line_id=line.id,
                day=day,
                kind=UsageKind.voice,
                zone=zone,
                direction=Direction.outgoing,
                customer_id=line.customer_id,
                quantity=600,
                events=3,
                charge=Decimal(amount),
            )
        )
        day += timedelta(days=1)
    usage_rollup.refresh(session, line_ids=[line.id])
