"""Usage totals for reports, billing and spend alerts. Everything here reads the per-line totals,
never the raw events: the monthly rollup (``usage_monthly``) for the whole months of a period
and the daily totals (``usage_daily``) for the days at its edges (``parts``), so each call
costs a few index range scans.

Units: voice in seconds (``voice_minutes`` rounds up per total, not per call), SMS and MMS in
messages, data in bytes (``data_mb``: 1 MB = 1,000,000 bytes), charges in PLN net. Days are
calendar days in Europe/Warsaw; a period is ``[start, end)`` in days.

Stable API:

- ``month_to_date(session, line_ids, today=None)`` -> {line id: Totals} for the month of
  ``today`` up to and including ``today``;
- ``projected_spend(session, line_ids, today=None, window_days=14)`` -> {line id: Projection};
- ``period_totals(session, line_ids, start, end)`` -> {line id: Totals};
- ``subtree_totals(session, customer_id, unit_path, start, end)`` -> Totals of all lines whose
  unit lies in the subtree rooted at ``unit_path`` (the lines' current units);
- ``parts(start, end)`` -> the tables (rollup, daily totals) and conditions that cover a
  period, for set-based queries (reports).

Lines without usage are present in the answers with empty totals.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Line, UsageDaily, UsageMonthly
from services.usage_format import WARSAW

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass
class Cell:
    quantity: int = 0
    events: int = 0
    charge: Decimal = ZERO


@dataclass
class Totals:
    """Sums over (kind, zone, direction) cells; the properties answer the usual questions."""

    cells: dict[tuple[str, str, str], Cell] = field(default_factory=dict)

    def add(self, kind: str, zone: str, direction: str, quantity, events, charge) -> None:
        cell = self.cells.setdefault((str(kind), str(zone), str(direction)), Cell())
        cell.quantity += int(quantity or 0)
        cell.events += int(events or 0)
        cell.charge = (cell.charge + _money(charge)).quantize(CENT)

    def quantity(self, kind: str | None = None, zone=None, direction=None) -> int:
        return sum(c.quantity for k, c in self.cells.items() if _match(k, kind, zone, direction))

    def charge_of(self, kind: str | None = None, zone=None, direction=None) -> Decimal:
        total = sum(
            (c.charge for k, c in self.cells.items() if _match(k, kind, zone, direction)), ZERO
        )
        return total.quantize(CENT)

    @property
    def charge(self) -> Decimal:
        return self.charge_of()

    @property
    def voice_seconds(self) -> int:
        return self.quantity("voice")

    @property
    def voice_minutes(self) -> int:
        return math.ceil(self.voice_seconds / 60)

    @property
    def sms(self) -> int:
        return self.quantity("sms")

    @property
    def mms(self) -> int:
        return self.quantity("mms")

    @property
    def data_bytes(self) -> int:
        return self.quantity("data")

    @property
    def data_mb(self) -> Decimal:
        return (Decimal(self.data_bytes) / 1_000_000).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def roaming(self) -> dict[str, Totals]:
        """Totals per roaming zone (eu, europe, world) that has any usage."""
        zones: dict[str, Totals] = {}
        for (kind, zone, direction), c in self.cells.items():
            if zone != "domestic":
                zones.setdefault(zone, Totals()).add(
                    kind, zone, direction, c.quantity, c.events, c.charge
                )
        return zones

    @property
    def roaming_charge(self) -> Decimal:
        return self.charge - self.charge_of(zone="domestic")


def _match(key, kind, zone, direction) -> bool:
    return (
        (kind is None or key[0] == kind)
        and (zone is None or key[1] == zone)
        and (direction is None or key[2] == direction)
    )


def _money(value) -> Decimal:
    if value is None:
        return ZERO
    # SQLite sums NUMERIC as floating point: back to cents.
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def local_today(now: datetime | None = None) -> date:
    return (now or datetime.now(WARSAW)).astimezone(WARSAW).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return month_end(day) + timedelta(days=1)


def split(start: date, end: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """The days ``[start, end)`` as the whole months inside them (``[first month, end)`` by
    their first days, or None) and the day ranges left at the edges."""
    first = start if start.day == 1 else next_month(start)
    last = month_start(end)  # the whole months end where the month of ``end`` begins
    if first >= last:
        return None, [(start, end)] if start < end else []
    edges = [(a, b) for a, b in ((start, first), (last, end)) if a < b]
    return (first, last), edges


def parts(start: date, end: date) -> list[tuple[type[UsageMonthly] | type[UsageDaily], list]]:
    """Where the usage of the days ``[start, end)`` is: ``(table, conditions on it)`` for the
    rollup's whole months and for the daily totals' edge days (a period without a whole month
    is daily totals only). The two tables name their columns alike, and the sums over all the
    parts are the period's sums. Each part is queried (and grouped) on its own, so that each
    is read by its own indexes and joined to the lines by their key."""
    months, edges = split(start, end)
    found: list[tuple[type[UsageMonthly] | type[UsageDaily], list]] = []
    if months is not None:
        m = UsageMonthly
        found.append((m, [m.month >= months[0], m.month < months[1]]))
    d = UsageDaily
    found.extend((d, [d.day >= first, d.day < stop]) for first, stop in edges)
    return found


def _grouped(session: Session, line_ids: Sequence[int], start: date, end: date):
    ids = list(dict.fromkeys(line_ids))
    for i in range(0, len(ids), 900):
        batch = ids[i : i + 900]
        for t, period in parts(start, end):
            yield from session.execute(
                select(
                    t.line_id,
                    t.kind,
                    t.zone,
                    t.direction,
                    func.sum(t.quantity),
                    func.sum(t.events),
                    func.sum(t.charge),
                )
                .where(t.line_id.in_(batch), *period)
                .group_by(t.line_id, t.kind, t.zone, t.direction)
            )


def period_totals(
    session: Session, line_ids: Iterable[int], start: date, end: date
) -> dict[int, Totals]:
    """Totals per line for the days ``start`` (inclusive) to ``end`` (exclusive)."""
    ids = list(line_ids)
    result = {line_id: Totals() for line_id in ids}
    for line_id, kind, zone, direction, quantity, events, charge in _grouped(
        session, ids, start, end
    ):
        result[line_id].add(kind, zone, direction, quantity, events, charge)
    return result


def month_to_date(
    session: Session, line_ids: Iterable[int], today: date | None = None
) -> dict[int, Totals]:
    """Totals per line from the 1st of ``today``'s month through ``today`` (Europe/Warsaw)."""
    today = today or local_today()
    return period_totals(session, line_ids, month_start(today), today + timedelta(days=1))


@dataclass(frozen=True)
class Projection:
    to_date: Decimal  # charges from the 1st through today
    projected: Decimal  # expected charges for the whole month
    weekday_rate: Decimal  # per working day (Mon–Fri), from the window
    weekend_rate: Decimal  # per Saturday or Sunday, from the window


def projected_spend(
    session: Session,
    line_ids: Iterable[int],
    today: date | None = None,
    window_days: int = 14,
) -> dict[int, Projection]:
    """The expected month-end charges of each line.

    Run-rate with weekday weighting: over the ``window_days`` complete days before ``today``
    (they may reach into the previous month) the average charge per weekday (Mon–Fri) and per
    weekend day is taken; if the window has no day of one sort, that sort uses the window's
    overall daily average. Then

        projected = charges before today + Σ over today … last day of month of the rate of
                    that day's sort

    and never less than the charges to date (today's usage may already exceed its rate).
    Today itself is counted as a day to come because its usage is still arriving.
    """
    today = today or local_today()
    ids = list(line_ids)
    window_start = today - timedelta(days=window_days)
    first = month_start(today)
    daily = {line_id: {} for line_id in ids}
    for i in range(0, len(ids), 900):
        part = ids[i : i + 900]
        for line_id, day, charge in session.execute(
            select(UsageDaily.line_id, UsageDaily.day, func.sum(UsageDaily.charge))
            .where(
                UsageDaily.line_id.in_(part),
                UsageDaily.day >= min(window_start, first),
                UsageDaily.day <= today,
            )
            .group_by(UsageDaily.line_id, UsageDaily.day)
        ):
            daily[line_id][day] = _money(charge)
    window = [window_start + timedelta(days=n) for n in range(window_days)]
    n_weekdays = sum(1 for d in window if d.weekday() < 5)
    n_weekend = window_days - n_weekdays
    to_come = [today + timedelta(days=n) for n in range((month_end(today) - today).days + 1)]
    come_weekdays = sum(1 for d in to_come if d.weekday() < 5)
    come_weekend = len(to_come) - come_weekdays
    result = {}
    for line_id, days in daily.items():
        weekday_sum = sum((days.get(d, ZERO) for d in window if d.weekday() < 5), ZERO)
        weekend_sum = sum((days.get(d, ZERO) for d in window if d.weekday() >= 5), ZERO)
        overall = (weekday_sum + weekend_sum) / window_days if window_days else ZERO
        weekday_rate = weekday_sum / n_weekdays if n_weekdays else overall
        weekend_rate = weekend_sum / n_weekend if n_weekend else overall
        before = sum((c for d, c in days.items() if first <= d < today), ZERO)
        to_date = before + days.get(today, ZERO)
        projected = before + weekday_rate * come_weekdays + weekend_rate * come_weekend
        result[line_id] = Projection(
            to_date=to_date.quantize(CENT),
            projected=max(projected, to_date).quantize(CENT, ROUND_HALF_UP),
            weekday_rate=Decimal(weekday_rate).quantize(CENT, ROUND_HALF_UP),
            weekend_rate=Decimal(weekend_rate).quantize(CENT, ROUND_HALF_UP),
        )
    return result


def subtree_totals(
    session: Session, customer_id: int, unit_path: str, start: date, end: date
) -> Totals:
    """Totals of every line of the customer whose unit is in the subtree at ``unit_path``
    (``/12/45/``), for the days ``start`` (inclusive) to ``end`` (exclusive)."""
    upper = unit_path[:-1] + "0"  # '/' + 1: the end of the subtree's range
    totals = Totals()
    for t, period in parts(start, end):
        rows = session.execute(
            select(
                t.kind,
                t.zone,
                t.direction,
                func.sum(t.quantity),
                func.sum(t.events),
                func.sum(t.charge),
            )
            .join(Line, Line.id == t.line_id)
            .where(
                t.customer_id == customer_id,
                *period,
                Line.customer_id == customer_id,
                Line.unit_path >= unit_path,
                Line.unit_path < upper,
            )
            .group_by(t.kind, t.zone, t.direction)
        )
        for kind, zone, direction, quantity, events, charge in rows:
            totals.add(kind, zone, direction, quantity, events, charge)
    return totals
