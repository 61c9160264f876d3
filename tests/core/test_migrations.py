from __future__ import annotations

from datetime import date
from decimal import Decimal

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core import migrate
from core.db import make_engine
from models import UsageDaily, UsageMonthly
from tests.conftest import _postgres_schema_url
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_line, make_tariff


def test_single_head():
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, heads


def test_models_match_migrations(rt):
    migrate.check(rt.settings.database_url)  # raises if autogenerate finds a difference


def _fresh_database(settings, tmp_path):
    """An empty database of the suite's kind: (URL, drop)."""
    if not settings.database_url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}", lambda: None
    base = make_url(settings.database_url).difference_update_query(["options"])
    url, schema = _postgres_schema_url(base.render_as_string(hide_password=False))

    def drop():
        engine = create_engine(base)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    return url, drop


def test_0017_fills_the_monthly_rollup_from_the_daily_totals(settings, tmp_path):
    url, drop = _fresh_database(settings, tmp_path)
    try:
        migrate.upgrade(url, "0016")
        engine = make_engine(url)
        with Session(engine) as s:
            c = make_customer(s)
            unit = make_unit(s, c, "Firma")
            tariff = make_tariff(s)
            a, b = make_line(s, c, unit, tariff), make_line(s, c, unit, tariff)
            rows = [
                (a, date(2026, 9, 1), "voice", "domestic", "out", 120, 2, "1.10"),
                (a, date(2026, 9, 30), "voice", "domestic", "out", 60, 1, "0.35"),
                (a, date(2026, 9, 30), "voice", "domestic", "in", 30, 1, "0.00"),
                (a, date(2026, 10, 1), "voice", "domestic", "out", 7, 1, "0.01"),
                (b, date(2026, 10, 31), "data", "eu", "out", 10**9, 3, "2.05"),
                (b, date(2026, 10, 2), "data", "eu", "out", 5, 1, "0.10"),
            ]
            s.execute(
                insert(UsageDaily),
                [
                    {
                        "line_id": line.id,
                        "customer_id": c.id,
                        "day": day,
                        "kind": kind,
                        "zone": zone,
                        "direction": direction,
                        "quantity": quantity,
                        "events": events,
                        "charge": Decimal(charge),
                    }
                    for line, day, kind, zone, direction, quantity, events, charge in rows
                ],
            )
            ids, customer_id = (a.id, b.id), c.id
            s.commit()
        migrate.upgrade(url, "0017")
        m = UsageMonthly
        with Session(engine) as s:
            got = {
                (line_id, month, str(kind), str(zone), str(direction)): (q, e, charge)
                for line_id, month, kind, zone, direction, q, e, charge in s.execute(
                    select(m.line_id, m.month, m.kind, m.zone, m.direction, m.quantity)
                    .add_columns(m.events, m.charge)
                    .where(m.customer_id == customer_id)
                )
            }
        assert got == {
            (ids[0], date(2026, 9, 1), "voice", "domestic", "out"): (180, 3, Decimal("1.45")),
            (ids[0], date(2026, 9, 1), "voice", "domestic", "in"): (30, 1, Decimal("0.00")),
            (ids[0], date(2026, 10, 1), "voice", "domestic", "out"): (7, 1, Decimal("0.01")),
            (ids[1], date(2026, 10, 1), "data", "eu", "out"): (10**9 + 5, 4, Decimal("2.15")),
        }
        migrate.downgrade(url, "0016")
        engine.dispose()
    finally:
        drop()
