"""Demo usage: monthly files in the delivered format that load without a rejected row, usage
for every line, and more of it on working days."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from models import UsageDaily, UsageFile
from services.demo.usage import demo_months, write_demo_files
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_line, make_tariff
from tests.usage_factories import load, submit


def test_demo_months_are_three_full_months_and_this_month_to_yesterday():
    assert demo_months(date(2026, 12, 6)) == [
        (date(2026, 9, 1), date(2026, 9, 30)),
        (date(2026, 10, 1), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 30)),
        (date(2026, 12, 1), date(2026, 12, 5)),
    ]
    assert len(demo_months(date(2026, 12, 1))) == 3


def test_demo_files_load_cleanly_for_every_line(app, db, rt, tmp_path):
    c = make_customer(db)
    unit = make_unit(db, c, "Firma")
    tariff = make_tariff(db)
    lines = [make_line(db, c, unit, tariff) for _ in range(40)]
    paths = write_demo_files(db, tmp_path, date(2026, 12, 6), scale=3)
    assert [p.name for p in paths] == [
        "usage-2026-09.csv",
        "usage-2026-10.csv",
        "usage-2026-11.csv",
        "usage-2026-12.csv",
    ]
    for path in paths:
        file, _ = submit(db, rt, path)
        assert load(app, file.id) == "loaded"
    db.expire_all()
    assert db.scalar(select(func.sum(UsageFile.rows_rejected))) == 0
    assert db.scalar(select(func.sum(UsageFile.rows_loaded))) > 40 * 3 * 10
    used = set(db.scalars(select(UsageDaily.line_id).distinct()))
    assert used == {line.id for line in lines}
    per_day = {
        day: events
        for day, events in db.execute(
            select(UsageDaily.day, func.sum(UsageDaily.events))
            .where(UsageDaily.kind == "voice")
            .group_by(UsageDaily.day)
        )
    }
    weekdays = [n for d, n in per_day.items() if d.weekday() < 5]
    weekends = [n for d, n in per_day.items() if d.weekday() >= 5]
    assert sum(weekdays) / len(weekdays) > 3 * sum(weekends) / max(1, len(weekends))
    assert max(per_day) <= date(2026, 12, 5)
