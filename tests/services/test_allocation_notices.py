"""Allocations are told to their orders in batches: one e-mail per order listing what it got,
one audit event per allocation, never twice; a partly served position stays at the head."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from models import (
    Allocation,
    AuditEvent,
    LineKind,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    OutgoingMail,
    Warehouse,
)
from models.base import utcnow
from services import orders, stock
from services.audit import Actor
from tests.factories import make_customer, make_portal_user
from tests.fleet_factories import make_handset

STAFF = Actor("staff", 1, "magazyn@operator.example")


def _order(db, customer, user, product, quantities, at):
    order = Order(
        number=f"N/{at.timestamp():.0f}/{len(quantities)}",
        customer_id=customer.id,
        state=OrderState.inProgress,
        placed_by_id=user.id,
        total_net=Decimal("1.00"),
        released_at=at,
    )
    db.add(order)
    db.flush()
    lines = []
    for i, qty in enumerate(quantities):
        line = OrderLine(
            order_id=order.id,
            customer_id=customer.id,
            kind=LineKind.handset,
            product_id=product.id,
            quantity=qty,
            unit_price=Decimal("1.00"),
            list_price=Decimal("1.00"),
            state=OrderLineState.waiting,
            queued_at=at + timedelta(seconds=i),
        )
        db.add(line)
        lines.append(line)
    db.flush()
    return order, lines


def test_orders_are_told_once_per_batch(db, redis_clean):
    product = make_handset(db, name="Fon Kolejka")
    warehouse = Warehouse(code="WN1", name="Stryków")
    db.add(warehouse)
    customer = make_customer(db)
    buyer = make_portal_user(db, customer, email="kupiec@firma.example")
    base = utcnow() - timedelta(hours=2)
    first, (a, b) = _order(db, customer, buyer, product, [1, 2], base)
    second, (c,) = _order(db, customer, buyer, product, [3], base + timedelta(minutes=5))
    stock.receive(
        db, STAFF, product=product, warehouse=warehouse, quantity=4, source="t", reference="N1"
    )
    results = []
    while (result := stock.allocate_next(db, product.id)) is not None:
        results.append(result)
    assert [(r.order_line_id, r.quantity, r.complete) for r in results] == [
        (a.id, 1, True),
        (b.id, 2, True),
        (c.id, 1, False),  # partly: the rest waits at the head of the queue
    ]
    assert orders.settle_allocations(db, product.id) == 3
    assert orders.settle_allocations(db, product.id) == 0  # told once
    db.expire_all()
    mails = list(
        db.scalars(
            select(OutgoingMail)
            .where(OutgoingMail.recipient == buyer.email)
            .order_by(OutgoingMail.id)
        )
    )
    assert len(mails) == 2  # one per order
    assert first.number in mails[0].subject and "1 szt. Fon Kolejka" in mails[0].body_text
    assert "2 szt. Fon Kolejka" in mails[0].body_text
    assert second.number in mails[1].subject and "pozostałe 2 szt." in mails[1].body_text
    events = db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "order.line_allocated")
    )
    assert events == 3
    assert (
        db.scalar(
            select(func.count()).select_from(Allocation).where(Allocation.notified_at.is_(None))
        )
        == 0
    )
    assert db.get(OrderLine, c.id).state == OrderLineState.waiting
    assert db.get(Order, first.id).state == OrderState.inProgress
    assert stock.queue_position(db, db.get(OrderLine, c.id)) == (1, 0)
