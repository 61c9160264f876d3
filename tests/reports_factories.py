"""A small fleet with random daily usage for report tests, and an independent way to sum it.

The daily totals are written directly, and the monthly rollup refreshed from them
(``services.usage_rollup.refresh``) as any writer of daily totals other than the ingestion must.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from models import UsageDaily
from services import usage_rollup
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_employee, make_line, make_tariff

KINDS = ("voice", "sms", "mms", "data")
ZONES = ("domestic", "domestic", "eu", "europe", "world")


def usage_fleet(db, seed: int = 7, start: date = date(2026, 9, 1), days: int = 91) -> dict:
    rnd = random.Random(seed)
    c = make_customer(db)
    root = make_unit(db, c, "Firma")
    sales = make_unit(db, c, "Sprzedaż", root)
    north = make_unit(db, c, "Północ", sales)
    it = make_unit(db, c, "IT", root)
    basic, pro = make_tariff(db, name="Basic"), make_tariff(db, name="Pro")
    people = [make_employee(db, c, u, name=f"Osoba {u.name}") for u in (sales, north, it)]
    lines = [
        make_line(db, c, sales, basic, people[0]),
        make_line(db, c, north, pro, people[1]),
        make_line(db, c, north, basic),
        make_line(db, c, it, pro, people[2]),
        make_line(db, c, root, basic),
    ]
    rows = []
    for line in lines[:-1]:  # the root line has no usage
        for n in range(days):
            day = start + timedelta(days=n)
            for kind in KINDS:
                if rnd.random() < 0.5:
                    continue
                zone = rnd.choice(ZONES)
                qty = {"voice": rnd.randint(1, 3000), "data": rnd.randint(1, 9 * 10**8)}.get(
                    kind, rnd.randint(1, 20)
                )
                charge = Decimal(rnd.randint(0, 2500)) / 100
                rows.append((line, day, kind, zone, qty, charge))
                db.add(
                    UsageDaily(
                        line_id=line.id,
                        customer_id=c.id,
                        day=day,
                        kind=kind,
                        zone=zone,
                        direction="out",
                        quantity=qty,
                        events=1,
                        charge=charge,
                    )
                )
    other = make_customer(db)
    foreign = make_line(db, other, make_unit(db, other, "Inna"), basic)
    db.add(
        UsageDaily(
            line_id=foreign.id,
            customer_id=other.id,
            day=start,
            kind="voice",
            zone="domestic",
            direction="out",
            quantity=600,
            events=1,
            charge=Decimal("99.00"),
        )
    )
    db.flush()
    usage_rollup.refresh(db, line_ids=[line.id for line in lines] + [foreign.id])
    return {
        "customer": c,
        "root": root,
        "sales": sales,
        "north": north,
        "it": it,
        "lines": lines,
        "rows": rows,
        "tariffs": (basic, pro),
        "people": people,
        "other": other,
    }


def independent_sum(rows, start: date, end: date, pick=lambda row: True) -> dict:
    """Plain Python sums of the generated rows in ``[start, end)`` that ``pick`` selects."""
    out = {"voice": 0, "sms": 0, "mms": 0, "data": 0, "charge": Decimal("0.00")}
    out.update({z: Decimal("0.00") for z in ("eu", "europe", "world")})
    for row in rows:
        _line, day, kind, zone, qty, charge = row
        if start <= day < end and pick(row):
            out[kind] += qty
            out["charge"] += charge
            if zone != "domestic":
                out[zone] += charge
    return out
