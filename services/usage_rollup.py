"""The per-line monthly totals (``usage_monthly``): always the sums of the daily totals.

``usage_monthly`` has the dimensions of ``usage_daily`` with ``month`` (the first day of the
Europe/Warsaw month) instead of the day. Whatever writes daily totals keeps it in step in the
same transaction:

- the ingestion adds a chunk's sums to both tables (``usage_ingest``: ``fold_months`` of the
  chunk's daily sums, or ``MONTHLY_FROM_DAILY_STAGE`` on PostgreSQL; ``usage_ingest_pg``: the
  month's sums prepared with the chunk's daily sums, ``MONTHLY_FROM_STAGE``), each an upsert with
  ``MONTHLY_CONFLICT``, in the order of the key so that concurrent loads lock rows in one order;
- anything that writes daily rows directly (bench data, test data) calls ``refresh`` for the
  lines it wrote, which recomputes their months from their daily rows with the statement that
  migration 0017 used to fill the table.

``services.usage.parts`` tells the readers where a period's usage is: the rollup for its whole
months, the daily totals for the days at its edges.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Date, cast, delete, func, insert, select
from sqlalchemy.orm import Session

from models import UsageDaily, UsageMonthly

MONTHLY_COLUMNS = "line_id, month, kind, zone, direction, customer_id, quantity, events, charge"
MONTHLY_KEY = "line_id, month, kind, zone, direction"
MONTHLY_CONFLICT = f"""
ON CONFLICT ({MONTHLY_KEY}) DO UPDATE SET
    quantity = usage_monthly.quantity + excluded.quantity,
    events = usage_monthly.events + excluded.events,
    charge = usage_monthly.charge + excluded.charge
"""
# PostgreSQL: the month's sums of a chunk's daily sums (the temporary ``usage_daily_stage``)…
_MONTH_SUMS = """
SELECT line_id, date_trunc('month', day)::date, kind, zone, direction, customer_id,
       sum(quantity), sum(events), sum(charge)
FROM usage_daily_stage
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 1, 2, 3, 4, 5
"""
# … upserted at once (``usage_ingest``, chunks parsed in Python)…
MONTHLY_FROM_DAILY_STAGE = f"""
INSERT INTO usage_monthly ({MONTHLY_COLUMNS})
{_MONTH_SUMS}
{MONTHLY_CONFLICT}
"""
# … or prepared in a temporary table of their own while the previous chunk may still be open,
# and upserted in turn, in key order (``usage_ingest_pg``).
MONTHLY_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS usage_monthly_stage (
    line_id integer, month date, kind varchar(5), zone varchar(8), direction varchar(3),
    customer_id integer, quantity bigint, events integer, charge numeric(14, 2)
) ON COMMIT DELETE ROWS
"""
MONTHLY_SUMS = f"INSERT INTO usage_monthly_stage ({MONTHLY_COLUMNS}) {_MONTH_SUMS}"
MONTHLY_FROM_STAGE = f"""
INSERT INTO usage_monthly ({MONTHLY_COLUMNS})
SELECT {MONTHLY_COLUMNS} FROM usage_monthly_stage
ORDER BY {MONTHLY_KEY}
{MONTHLY_CONFLICT}
"""  # noqa: S608 - module constants only
BATCH = 900


def fold_months(daily: dict[tuple, list]) -> dict[tuple, list]:
    """Daily sums ``{(line, day, kind, zone, direction): [customer, quantity, events, charge]}``
    summed per month: the same shape with the month's first day for the day."""
    months: dict[tuple, list] = {}
    for (line_id, day, kind, zone, direction), cell in daily.items():
        key = (line_id, day.replace(day=1), kind, zone, direction)
        total = months.get(key)
        if total is None:
            months[key] = list(cell)
        else:
            total[1] += cell[1]
            total[2] += cell[2]
            total[3] += cell[3]
    return dict(sorted(months.items()))


def month_of_day(session: Session, day=UsageDaily.day):
    """SQL: the first day of the month of the date ``day``."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc("month", day), Date)
    return func.date(day, "start of month")


def refresh(
    session: Session, *, customer_id: int | None = None, line_ids: Iterable[int] | None = None
) -> None:
    """Recompute the monthly totals of the customer's lines (or of ``line_ids``) from their
    daily totals: for writers of ``usage_daily`` other than the ingestion."""
    if line_ids is None:
        if customer_id is None:
            raise ValueError("refresh needs a customer or lines")
        _refresh(session, [UsageDaily.customer_id == customer_id], customer_id=customer_id)
        return
    ids = sorted(set(line_ids))
    for i in range(0, len(ids), BATCH):
        part = ids[i : i + BATCH]
        _refresh(session, [UsageDaily.line_id.in_(part)], line_ids=part)


def _refresh(session: Session, daily_where, *, customer_id=None, line_ids=None) -> None:
    session.flush()
    gone = delete(UsageMonthly)
    if line_ids is not None:
        gone = gone.where(UsageMonthly.line_id.in_(line_ids))
    else:
        gone = gone.where(UsageMonthly.customer_id == customer_id)
    session.execute(gone.execution_options(synchronize_session=False))
    month = month_of_day(session)
    d = UsageDaily
    # The charges are summed as stored (grosze on SQLite), so nothing is converted.
    sums = (
        select(
            d.line_id,
            month,
            d.kind,
            d.zone,
            d.direction,
            d.customer_id,
            func.sum(d.quantity),
            func.sum(d.events),
            func.sum(d.charge),
        )
        .where(*daily_where)
        .group_by(d.line_id, month, d.kind, d.zone, d.direction, d.customer_id)
    )
    m = UsageMonthly
    columns = [
        m.line_id,
        m.month,
        m.kind,
        m.zone,
        m.direction,
        m.customer_id,
        m.quantity,
        m.events,
        m.charge,
    ]
    session.execute(insert(m).from_select(columns, sums))
