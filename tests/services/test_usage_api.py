"""The usage API that reports, billing and spend alerts read: month to date, the projected
month-end spend, and totals of a unit subtree, from the daily totals and the monthly rollup."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from models import UsageDaily
from services import usage, usage_rollup
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_line, make_tariff


@pytest.fixture
def fleet(db):
    c = make_customer(db)
    root = make_unit(db, c, "Firma")
    sales = make_unit(db, c, "Sprzedaż", root)
    north = make_unit(db, c, "Północ", sales)
    it = make_unit(db, c, "IT", root)
    tariff = make_tariff(db)
    lines = {
        "sales": make_line(db, c, sales, tariff),
        "north": make_line(db, c, north, tariff),
        "it": make_line(db, c, it, tariff),
    }
    other = make_customer(db)
    lines["foreign"] = make_line(db, other, make_unit(db, other, "Inna"), tariff)
    return {"customer": c, "root": root, "sales": sales, "it": it, "lines": lines}


def add(db, line, day, kind, zone, direction, quantity, charge, events=1):
    db.add(
        UsageDaily(
            line_id=line.id,
            customer_id=line.customer_id,
            day=day,
            kind=kind,
            zone=zone,
            direction=direction,
            quantity=quantity,
            events=events,
            charge=Decimal(charge),
        )
    )
    usage_rollup.refresh(db, line_ids=[line.id])


def test_month_to_date_totals(db, fleet):
    line = fleet["lines"]["sales"]
    add(db, line, date(2026, 11, 30), "voice", "domestic", "out", 6000, "9.00")  # last month
    add(db, line, date(2026, 12, 1), "voice", "domestic", "out", 61, "0.40")
    add(db, line, date(2026, 12, 2), "voice", "domestic", "in", 120, "0.00")
    add(db, line, date(2026, 12, 2), "sms", "domestic", "out", 3, "0.30", events=3)
    add(db, line, date(2026, 12, 3), "data", "domestic", "out", 1_500_000, "0.00")
    add(db, line, date(2026, 12, 3), "data", "eu", "out", 2_000_000, "1.10")
    add(db, line, date(2026, 12, 4), "voice", "world", "out", 300, "15.00")
    add(db, line, date(2026, 12, 6), "sms", "domestic", "out", 1, "0.10")  # after "today"
    empty = fleet["lines"]["it"]
    result = usage.month_to_date(db, [line.id, empty.id], today=date(2026, 12, 5))
    t = result[line.id]
    assert t.voice_seconds == 481 and t.voice_minutes == 9
    assert t.sms == 3 and t.mms == 0
    assert t.data_bytes == 3_500_000 and t.data_mb == Decimal("3.5")
    assert t.charge == Decimal("16.80")
    assert t.roaming_charge == Decimal("16.10")
    assert set(t.roaming) == {"eu", "world"}
    assert t.roaming["eu"].data_mb == Decimal("2.0") and t.roaming["world"].voice_minutes == 5
    assert t.quantity("voice", direction="out") == 361
    assert result[empty.id].charge == Decimal("0.00") and result[empty.id].voice_minutes == 0


def test_projection_uses_the_weekday_and_weekend_run_rate(db, fleet):
    line = fleet["lines"]["sales"]
    today = date(2026, 12, 10)  # a Thursday
    # The 14 days before today: 10 weekdays at 2.00, 4 weekend days at 0.50.
    for n in range(1, 15):
        day = today - timedelta(days=n)
        add(db, line, day, "voice", "domestic", "out", 60, "2.00" if day.weekday() < 5 else "0.50")
    add(db, line, today, "data", "domestic", "out", 1000, "0.70")  # today so far
    p = usage.projected_spend(db, [line.id], today=today)[line.id]
    assert p.weekday_rate == Decimal("2.00") and p.weekend_rate == Decimal("0.50")
    # Before today in December: 1-9 Dec = 7 weekdays (1-4, 7-9) and 2 weekend days (5, 6).
    before = 7 * Decimal("2.00") + 2 * Decimal("0.50")
    assert p.to_date == before + Decimal("0.70")
    # Today … 31 Dec: 22 days, 16 weekdays and 6 weekend days.
    assert p.projected == before + 16 * Decimal("2.00") + 6 * Decimal("0.50")


def test_projection_is_never_below_what_is_spent(db, fleet):
    line = fleet["lines"]["north"]
    today = date(2026, 12, 31)
    add(db, line, today, "voice", "world", "out", 3000, "250.00")
    p = usage.projected_spend(db, [line.id], today=today)[line.id]
    assert p.to_date == p.projected == Decimal("250.00")
    assert usage.projected_spend(db, [fleet["lines"]["it"].id], today=today)[
        fleet["lines"]["it"].id
    ].projected == Decimal("0.00")


def test_subtree_totals_cover_the_subtree_of_the_customer_only(db, fleet):
    lines = fleet["lines"]
    for key, charge in (("sales", "1.00"), ("north", "2.00"), ("it", "4.00"), ("foreign", "8.00")):
        add(db, lines[key], date(2026, 11, 15), "voice", "domestic", "out", 60, charge)
    add(db, lines["north"], date(2026, 12, 1), "voice", "domestic", "out", 60, "16.00")
    customer = fleet["customer"]
    nov = (date(2026, 11, 1), date(2026, 12, 1))
    sales = usage.subtree_totals(db, customer.id, fleet["sales"].path, *nov)
    assert sales.charge == Decimal("3.00") and sales.voice_minutes == 2
    root = usage.subtree_totals(db, customer.id, fleet["root"].path, *nov)
    assert root.charge == Decimal("7.00")
    assert usage.subtree_totals(db, customer.id, fleet["it"].path, *nov).charge == Decimal("4.00")
    both = usage.period_totals(db, [lines["north"].id], date(2026, 11, 1), date(2027, 1, 1))
    assert both[lines["north"].id].charge == Decimal("18.00")
