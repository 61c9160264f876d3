"""Demo warehouses, stock, expected deliveries, a number pool, and an out-of-stock phone."""

from __future__ import annotations

import random
from datetime import timedelta

import phonenumbers
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from models import Line, PoolNumber, Product, ProductKind, StockExpectation, StockLevel, Warehouse
from models.base import utcnow

STOCK = {
    # sku: (Stryków, Gądki)
    "APL-IP16-128": (40, 15),
    "APL-IP16P-256": (0, 0),  # sold out: orders wait in the back-order queue
    "SAM-S25-256": (25, 10),
    "SAM-A56-128": (120, 60),
    "XIA-RN14-256": (80, 0),
    "MOT-G85-256": (60, 30),
    "NOK-105-4G": (200, 0),
    "SAM-TABS10": (3, 0),
    "ACC-USBC-25W": (500, 200),
    "ACC-CASE-IP16": (150, 0),
    "ACC-BUDS-FE": (0, 0),
    "ACC-CAR-HOLD": (90, 40),
}
EXPECTED = {
    "APL-IP16P-256": [(12, 30), (26, 50)],
    "ACC-BUDS-FE": [(7, 100)],
    "SAM-TABS10": [(10, 20)],
}


def load_stock(session: Session) -> str:
    today = utcnow().date()
    strykow = Warehouse(code="STR", name="Magazyn centralny Stryków", priority=10)
    gadki = Warehouse(code="GAD", name="Magazyn Gądki", priority=20)
    session.add_all([strykow, gadki])
    session.flush()
    products = {
        p.sku: p
        for p in session.scalars(
            select(Product).where(Product.kind.in_([ProductKind.handset, ProductKind.accessory]))
        )
    }
    for sku, (a, b) in STOCK.items():
        for warehouse, qty in ((strykow, a), (gadki, b)):
            session.add(
                StockLevel(
                    product_id=products[sku].id, warehouse_id=warehouse.id, on_hand=qty, reserved=0
                )
            )
    for sku, deliveries in EXPECTED.items():
        for days, qty in deliveries:
            session.add(
                StockExpectation(
                    product_id=products[sku].id,
                    warehouse_id=strykow.id,
                    quantity=qty,
                    expected_on=today + timedelta(days=days),
                    reference=f"ZAM/DOST/{sku}/{days}",
                )
            )
    numbers = _pool(session, 400)
    session.flush()
    return f"Stock: 2 warehouses, {len(STOCK)} products, {numbers} free numbers in the pool."


def _pool(session: Session, count: int) -> int:
    taken = set(session.scalars(select(Line.msisdn)))
    rng = random.Random(7)
    rows, seen = [], set()
    while len(rows) < count:
        n = (
            "+48"
            + rng.choice(["512", "516", "663", "667", "698", "725", "789"])
            + f"{rng.randrange(10**6):06d}"
        )
        if n in taken or n in seen or not phonenumbers.is_valid_number(phonenumbers.parse(n)):
            continue
        seen.add(n)
        golden = len(set(n[-6:])) <= 2
        rows.append({"msisdn": n, "status": "free", "is_golden": golden})
    session.execute(insert(PoolNumber), rows)
    return len(rows)
