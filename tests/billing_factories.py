"""Factories for billing tests: a customer with departments (cost centres), lines with a
history of confirmed network changes, and completed order positions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time
from decimal import Decimal

from stdnum.pl import nip as stdnip

from integrations import ksef
from models import AuditEvent, Line, LineKind, Order, OrderLine, OrderLineState, OrderState
from services.billing_period import WARSAW
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_handset, make_line, make_tariff

_seq = itertools.count(1)
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


def at(day, hour: int = 12) -> datetime:
    """A moment on ``day`` in Warsaw, as UTC."""
    return datetime.combine(day, time(hour), WARSAW).astimezone(UTC)


def ksef_nip() -> str:
    """A NIP KSeF accepts: checksum valid, tax-office code (digits 2–3) not 00."""
    for base in itertools.count(526025000 + next(_seq) * 7919 % 99000):
        for d in "0123456789":
            candidate = f"{base}{d}"
            if stdnip.is_valid(candidate) and ksef.is_valid_nip(candidate):
                return candidate
    raise AssertionError  # pragma: no cover


def billing_customer(session, lines: int = 3, fee: str = "49.99", **kw):
    kw.setdefault("nip", ksef_nip())
    customer = make_customer(session, **kw)
    sales = make_unit(session, customer, "Sprzedaż")
    sales.cost_centre = "CC-100"
    it = make_unit(session, customer, "IT")
    it.cost_centre = "CC-200"
    tariff = make_tariff(session, fee=fee)
    made = [
        make_line(session, customer, sales if i % 2 == 0 else it, tariff, activated_at=LONG_AGO)
        for i in range(lines)
    ]
    for line in made:
        line.created_at = LONG_AGO
    session.flush()
    return customer, tariff, made


def history(session, line: Line, when: datetime, action: str, before: dict, after: dict):
    """Record a change the network confirmed, as services.provisioning records it."""
    session.add(
        AuditEvent(
            created_at=when,
            actor_kind="system",
            actor_label="network",
            customer_id=line.customer_id,
            action=f"provisioning.{action}.confirmed",
            object_type="line",
            object_id=line.id,
            before=before,
            after=after,
        )
    )
    session.flush()


def completed_handset(session, customer, line: Line | None, when: datetime, price="999.00", qty=1):
    product = make_handset(session, price=price)
    order = Order(
        number=f"ZB/{next(_seq):06d}",
        customer_id=customer.id,
        state=OrderState.completed,
        total_net=Decimal(price) * qty,
    )
    session.add(order)
    session.flush()
    ol = OrderLine(
        order_id=order.id,
        customer_id=customer.id,
        kind=LineKind.handset,
        state=OrderLineState.completed,
        product_id=product.id,
        line_id=line.id if line else None,
        quantity=qty,
        allocated_qty=qty,
        shipped_qty=qty,
        unit_price=Decimal(price),
        list_price=Decimal(price),
        completed_at=when,
    )
    session.add(ol)
    session.flush()
    return ol
