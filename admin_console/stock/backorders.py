"""The back-order queues as staff read them: one product's queue in serving order with the
date each place can expect its stock, and a summary of every queue.

The expected date follows ``services.stock.expected_date`` (open expected deliveries, soonest
first), counting the free stock already on hand first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Customer, Order, OrderLine, OrderLineState, Product, StockExpectation
from services import stock


def open_expectations(session: Session, product_ids: list[int]) -> dict[int, list]:
    """Open expected deliveries per product, soonest first (the order customers are told)."""
    out: dict[int, list] = {pid: [] for pid in product_ids}
    if not product_ids:
        return out
    for exp in session.scalars(
        select(StockExpectation)
        .where(StockExpectation.product_id.in_(product_ids), StockExpectation.is_open.is_(True))
        .order_by(StockExpectation.expected_on, StockExpectation.id)
    ):
        out[exp.product_id].append(exp)
    return out


def covered_on(expectations: list, units: int) -> date | None:
    """The date by which the expected deliveries cover ``units`` (as ``stock.expected_date``)."""
    total = 0
    for exp in expectations:
        total += exp.quantity
        if total >= units:
            return exp.expected_on
    return None


@dataclass
class QueueEntry:
    position: int
    line_id: int
    order_id: int
    order_number: str
    customer_id: int
    customer_name: str
    account_manager_id: int | None
    quantity: int
    allocated: int
    queued_at: datetime
    units_through: int  # units waiting up to and including this line
    expected_on: date | None = None
    served_next: bool = False  # the free stock already covers it: the next drain serves it

    @property
    def waiting(self) -> int:
        return self.quantity - self.allocated


def queue(
    session: Session, product_id: int, *, offset: int = 0, limit: int = 100
) -> tuple[list[QueueEntry], int]:
    """The product's waiting lines in the order they will be served, and how many wait."""
    order = (OrderLine.queued_at, OrderLine.id)
    ranked = (
        select(
            OrderLine.id,
            OrderLine.order_id,
            OrderLine.customer_id,
            OrderLine.quantity,
            OrderLine.allocated_qty,
            OrderLine.queued_at,
            func.row_number().over(order_by=order).label("position"),
            func.sum(OrderLine.quantity - OrderLine.allocated_qty)
            .over(order_by=order)
            .label("through"),
        )
        .where(OrderLine.product_id == product_id, OrderLine.state == OrderLineState.waiting)
        .subquery()
    )
    total = session.scalar(select(func.count()).select_from(ranked)) or 0
    rows = session.execute(
        select(ranked, Order.number, Customer.name, Customer.account_manager_id)
        .join(Order, Order.id == ranked.c.order_id)
        .join(Customer, Customer.id == ranked.c.customer_id)
        .order_by(ranked.c.position)
        .offset(offset)
        .limit(limit)
    )
    free = stock.available(session, [product_id]).get(product_id, 0)
    expectations = open_expectations(session, [product_id])[product_id]
    entries = []
    for r in rows:
        entry = QueueEntry(
            position=int(r.position),
            line_id=r.id,
            order_id=r.order_id,
            order_number=r.number,
            customer_id=r.customer_id,
            customer_name=r.name,
            account_manager_id=r.account_manager_id,
            quantity=r.quantity,
            allocated=r.allocated_qty,
            queued_at=aware_utc(r.queued_at),
            units_through=int(r.through),
        )
        needed = entry.units_through - free
        entry.served_next = needed <= 0
        entry.expected_on = None if entry.served_next else covered_on(expectations, needed)
        entries.append(entry)
    return entries, int(total)


@dataclass
class QueueSummary:
    product: Product
    lines: int
    units: int
    oldest: datetime
    free: int
    expected_units: int
    next_expected: StockExpectation | None
    served_now: bool  # the free stock covers the whole queue: the next drain serves it
    all_covered_on: date | None  # when the expected deliveries cover the whole queue
    uncovered: int  # units no free stock or expected delivery covers


def queue_summaries(session: Session) -> list[QueueSummary]:
    """Every product with a back-order queue, the longest-waiting first."""
    rows = session.execute(
        select(
            OrderLine.product_id,
            func.count(),
            func.sum(OrderLine.quantity - OrderLine.allocated_qty),
            func.min(OrderLine.queued_at),
        )
        .where(OrderLine.state == OrderLineState.waiting, OrderLine.product_id.is_not(None))
        .group_by(OrderLine.product_id)
    ).all()
    ids = [pid for pid, *_ in rows]
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}
    free = stock.available(session, ids)
    expected = open_expectations(session, ids)
    out = []
    for pid, lines, units, oldest in rows:
        exps = expected[pid]
        needed = int(units) - free.get(pid, 0)
        expected_units = sum(e.quantity for e in exps)
        out.append(
            QueueSummary(
                product=products[pid],
                lines=int(lines),
                units=int(units),
                oldest=aware_utc(oldest),
                free=free.get(pid, 0),
                expected_units=expected_units,
                next_expected=exps[0] if exps else None,
                served_now=needed <= 0,
                all_covered_on=covered_on(exps, needed) if needed > 0 else None,
                uncovered=max(0, needed - expected_units),
            )
        )
    out.sort(key=lambda s: (s.oldest, s.product.sku))
    return out


def aware_utc(value):
    """Aggregates over UTC columns may come back naive (SQLite): make them UTC-aware."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
