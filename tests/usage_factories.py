"""Usage files for tests: rows in the delivered format, written to a temporary file; and the
check that the monthly rollup holds the sums of the daily totals."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from models import UsageDaily, UsageMonthly
from services import usage_files

HEADER = "msisdn,started_at,kind,direction,zone,quantity,charge"
_seq = itertools.count(1)


def write_usage(folder: Path, rows: list[str], header: str = HEADER, name=None) -> Path:
    path = folder / (name or f"usage-{next(_seq)}.csv")
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def submit(session, rt, path: Path, **kw):
    file, created = usage_files.submit_path(
        session, rt.files, path, name=path.name, submitted_by="test", enqueue=False, **kw
    )
    return file, created


def load(app, file_id: int) -> str:
    from workers.usage_jobs import load_usage_file

    with app.app_context():
        return load_usage_file(file_id)


def rollup_differences(session) -> dict:
    """Every (line, month, kind, zone, direction) whose ``usage_monthly`` row is not the sum of
    its ``usage_daily`` rows (month: the first day of the day's month), summed here in Python:
    {key: (monthly, summed daily)}. Empty when the rollup is right."""
    summed: dict[tuple, list] = {}
    daily = select(
        UsageDaily.line_id,
        UsageDaily.day,
        UsageDaily.kind,
        UsageDaily.zone,
        UsageDaily.direction,
        UsageDaily.quantity,
        UsageDaily.events,
        UsageDaily.charge,
    )
    for line_id, day, kind, zone, direction, quantity, events, charge in session.execute(daily):
        cell = summed.setdefault(
            (line_id, day.replace(day=1), str(kind), str(zone), str(direction)),
            [0, 0, Decimal("0.00")],
        )
        cell[0] += quantity
        cell[1] += events
        cell[2] += charge
    m = UsageMonthly
    monthly = {
        (line_id, month, str(kind), str(zone), str(direction)): [quantity, events, charge]
        for line_id, month, kind, zone, direction, quantity, events, charge in session.execute(
            select(m.line_id, m.month, m.kind, m.zone, m.direction, m.quantity, m.events, m.charge)
        )
    }
    return {
        key: (monthly.get(key), summed.get(key))
        for key in set(summed) | set(monthly)
        if monthly.get(key) != summed.get(key)
    }
