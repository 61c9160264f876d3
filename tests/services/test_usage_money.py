"""Usage charges sum to the grosz on every database: the daily totals added chunk after chunk,
sums in SQL, and comparisons of sums with amounts (as limits and alerts make them)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from models import UsageDaily, UsageEvent
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_line, make_tariff
from tests.usage_factories import load, submit, write_usage


def test_ten_thousand_small_charges_sum_exactly(app, db, rt, tmp_path, monkeypatch):
    c = make_customer(db)
    line = make_line(db, c, make_unit(db, c, "Firma"), make_tariff(db), msisdn="+48500400001")
    charges = {"voice": "0.01", "sms": "0.07", "mms": "0.10", "data": "0.20"}
    kinds = list(charges)
    rows = [
        f"{line.msisdn},2026-09-01T{i % 20:02d}:{i % 60:02d}:00Z,{kinds[i % 4]},out,domestic,"
        f"1,{charges[kinds[i % 4]]}"
        for i in range(10_000)
    ]
    file, _ = submit(db, rt, write_usage(tmp_path, rows))
    # SQLite: each daily total is added to 2,500 times, as a float it would drift.
    sqlite = db.get_bind().dialect.name == "sqlite"
    monkeypatch.setenv("USAGE_CHUNK_ROWS", "4" if sqlite else "400")
    assert load(app, file.id) == "loaded"
    db.expire_all()

    # 2,500 of each: 25.00 + 175.00 + 250.00 + 500.00
    daily = dict(db.execute(select(UsageDaily.kind, UsageDaily.charge)).all())
    assert daily == {
        "voice": Decimal("25.00"),
        "sms": Decimal("175.00"),
        "mms": Decimal("250.00"),
        "data": Decimal("500.00"),
    }
    # Compared in SQL, as a limit check would: equal to the amount, not a hair above it.
    assert db.scalar(
        select(func.count()).select_from(UsageDaily).where(UsageDaily.charge == Decimal("25.00"))
    )
    assert db.scalar(select(func.sum(UsageDaily.charge))) == Decimal("950.00")
    over = (
        select(UsageDaily.line_id)
        .group_by(UsageDaily.line_id)
        .having(func.sum(UsageDaily.charge) > Decimal("950.00"))
    )
    assert db.scalars(over).all() == []
    events = select(func.sum(UsageEvent.charge)).where(UsageEvent.file_id == file.id)
    assert db.scalar(events) == Decimal("950.00")
