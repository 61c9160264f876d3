"""Stock: receiving deliveries and serving the back-order queue, fairly and never twice.

- ``receive`` records a delivery once per line of a warehouse document ``(reference, line_no)``,
  whichever channel reports it, and adds it to ``on_hand``; after the commit a drain job for
  the product is enqueued.
- ``allocate_next`` (``services.allocation``) is one allocation in one transaction: the oldest
  waiting line of the product by ``(queued_at, id)`` gets what is available, partially if it
  must — one statement on PostgreSQL, under a per-product drain lock. Strict FIFO: a line never
  jumps one that waits longer. Guarded updates and the table constraints make double allocation
  impossible even if the locking were wrong.
- ``workers.stock_jobs.drain_product`` repeats it until nothing more can be served and tells
  the orders in batches (``services.order_allocations``); the periodic sweep finds products
  whose drain was lost (a killed worker, a flushed Redis) and drains them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import aftercommit
from core.i18n import _l
from models import (
    Allocation,
    OrderLine,
    OrderLineState,
    Product,
    StockExpectation,
    StockLevel,
    StockReceipt,
    Warehouse,
)
from models.base import utcnow
from services import ServiceError, audit
from services.allocation import (  # noqa: F401  (part of this module's public face)
    BUSY,
    DRAIN_LOCK_CLASS,
    Allocated,
    allocate_next,
    can_serve,
    has_unsettled,
)
from services.audit import Actor
from workers import queues

MAX_RECEIPT = 100_000
MAX_DOCUMENT_LINE = 9999


def enqueue_drain(session: Session, product_id: int) -> None:
    aftercommit.enqueue(
        session, queues.BACKORDERS, "workers.stock_jobs.drain_product", product_id, job_timeout=3600
    )


def _level(session: Session, product_id: int, warehouse_id: int) -> StockLevel:
    level = session.scalar(
        select(StockLevel).where(
            StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id
        )
    )
    if level is not None:
        return level
    try:
        with session.begin_nested():
            level = StockLevel(
                product_id=product_id, warehouse_id=warehouse_id, on_hand=0, reserved=0
            )
            session.add(level)
            session.flush()
    except IntegrityError:  # created meanwhile by another receipt
        level = session.scalar(
            select(StockLevel).where(
                StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id
            )
        )
    return level


def receive(
    session: Session,
    actor: Actor,
    *,
    product: Product,
    warehouse: Warehouse,
    quantity: int,
    source: str,
    reference: str,
    line_no: int = 1,
) -> tuple[StockReceipt, bool]:
    """Record a delivery: line ``line_no`` of the warehouse document ``reference``. Returns
    (receipt, created); a document line recorded before, by any channel, changes nothing."""
    reference = (reference or "").strip()
    if not reference:
        raise ServiceError(_l("Enter the delivery document number."), field="reference")
    if not isinstance(line_no, int) or not 1 <= line_no <= MAX_DOCUMENT_LINE:
        raise ServiceError(
            _l("The line of the document must be a whole number from 1 to 9999."), field="line_no"
        )
    if not isinstance(quantity, int) or quantity <= 0 or quantity > MAX_RECEIPT:
        raise ServiceError(
            _l("The quantity must be a whole number from 1 to 100 000."), field="quantity"
        )
    if not warehouse.is_active:
        raise ServiceError(_l("This warehouse is closed."), field="warehouse_id")
    existing = session.scalar(
        select(StockReceipt).where(
            StockReceipt.reference == reference, StockReceipt.line_no == line_no
        )
    )
    if existing is not None:
        return existing, False
    try:
        with session.begin_nested():
            receipt = StockReceipt(
                product_id=product.id,
                warehouse_id=warehouse.id,
                quantity=quantity,
                source=source,
                reference=reference,
                line_no=line_no,
                received_by=actor.label,
            )
            session.add(receipt)
            session.flush()
    except IntegrityError:  # the same delivery arrived concurrently
        existing = session.scalar(
            select(StockReceipt).where(
                StockReceipt.reference == reference, StockReceipt.line_no == line_no
            )
        )
        return existing, False
    level = _level(session, product.id, warehouse.id)
    session.execute(
        update(StockLevel)
        .where(StockLevel.id == level.id)
        .values(on_hand=StockLevel.on_hand + quantity, updated_at=utcnow())
    )
    _close_expectations(session, product.id, warehouse.id, quantity)
    audit.record(
        session,
        actor,
        "stock.received",
        object_type="product",
        object_id=product.id,
        after={
            "warehouse": warehouse.code,
            "quantity": quantity,
            "source": source,
            "reference": reference,
            "line": line_no,
        },
    )
    enqueue_drain(session, product.id)
    return receipt, True


def _close_expectations(session: Session, product_id: int, warehouse_id: int, qty: int) -> None:
    """A delivery fulfils the oldest expected deliveries it covers."""
    for exp in session.scalars(
        select(StockExpectation)
        .where(
            StockExpectation.product_id == product_id,
            StockExpectation.warehouse_id == warehouse_id,
            StockExpectation.is_open.is_(True),
        )
        .order_by(StockExpectation.expected_on)
    ):
        if qty <= 0:
            break
        taken = min(qty, exp.quantity)
        qty -= taken
        exp.quantity -= taken
        if exp.quantity == 0:
            exp.quantity = taken  # keep the record of what was expected
            exp.is_open = False


# --- allocation (services.allocation) and what undoes it -------------------------------------


def release_line(session: Session, line: OrderLine) -> int:
    """A cancelled line gives its reserved, unshipped units back. Returns units returned."""
    if session.get_bind().dialect.name == "postgresql":
        # The line first, then its stock rows: the order a drain locks them in.
        session.execute(select(OrderLine.id).where(OrderLine.id == line.id).with_for_update())
    returned = 0
    for alloc in session.scalars(
        select(Allocation)
        .where(Allocation.order_line_id == line.id, Allocation.released_at.is_(None))
        .order_by(Allocation.id)
    ):
        session.execute(
            update(StockLevel)
            .where(StockLevel.id == alloc.stock_level_id)
            .values(reserved=StockLevel.reserved - alloc.quantity, updated_at=utcnow())
        )
        alloc.released_at = utcnow()
        returned += alloc.quantity
    if returned and line.product_id:
        enqueue_drain(session, line.product_id)
    session.flush()
    return returned


def ship_line(session: Session, line: OrderLine) -> None:
    """The warehouse shipped the line's allocated units: they leave stock."""
    to_ship = line.allocated_qty - line.shipped_qty
    if to_ship <= 0:
        return
    for alloc in session.scalars(
        select(Allocation).where(
            Allocation.order_line_id == line.id, Allocation.released_at.is_(None)
        )
    ):
        session.execute(
            update(StockLevel)
            .where(StockLevel.id == alloc.stock_level_id)
            .values(
                on_hand=StockLevel.on_hand - alloc.quantity,
                reserved=StockLevel.reserved - alloc.quantity,
                updated_at=utcnow(),
            )
        )
        alloc.released_at = utcnow()
    line.shipped_qty = line.allocated_qty
    session.flush()


# --- reading ---------------------------------------------------------------------------------


def available(session: Session, product_ids: list[int]) -> dict[int, int]:
    if not product_ids:
        return {}
    rows = session.execute(
        select(StockLevel.product_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(StockLevel.product_id.in_(product_ids), Warehouse.is_active.is_(True))
        .group_by(StockLevel.product_id)
    )
    return {pid: int(n or 0) for pid, n in rows}


def waiting_units(session: Session, product_ids: list[int]) -> dict[int, int]:
    if not product_ids:
        return {}
    rows = session.execute(
        select(OrderLine.product_id, func.sum(OrderLine.quantity - OrderLine.allocated_qty))
        .where(OrderLine.product_id.in_(product_ids), OrderLine.state == OrderLineState.waiting)
        .group_by(OrderLine.product_id)
    )
    return {pid: int(n or 0) for pid, n in rows}


def queue_position(session: Session, line: OrderLine) -> tuple[int, int] | None:
    """(position, units waiting ahead) of a waiting line in its product's queue; 1 = next."""
    if line.state != OrderLineState.waiting or line.queued_at is None:
        return None
    ahead = (OrderLine.queued_at < line.queued_at) | (
        (OrderLine.queued_at == line.queued_at) & (OrderLine.id < line.id)
    )
    count, units = session.execute(
        select(
            func.count(), func.coalesce(func.sum(OrderLine.quantity - OrderLine.allocated_qty), 0)
        ).where(
            OrderLine.product_id == line.product_id,
            OrderLine.state == OrderLineState.waiting,
            ahead,
        )
    ).one()
    return int(count) + 1, int(units)


def expected_date(session: Session, product_id: int, units_needed: int) -> date | None:
    """When enough expected deliveries will have arrived to cover ``units_needed`` units."""
    total = 0
    for exp in session.scalars(
        select(StockExpectation)
        .where(StockExpectation.product_id == product_id, StockExpectation.is_open.is_(True))
        .order_by(StockExpectation.expected_on)
    ):
        total += exp.quantity
        if total >= units_needed:
            return exp.expected_on
    return None


def products_to_drain(session: Session) -> list[int]:
    """For the sweep: products with free stock and waiting lines, undrained receipts, or
    allocations not yet told to their orders."""
    free = (
        select(StockLevel.product_id)
        .group_by(StockLevel.product_id)
        .having(func.sum(StockLevel.on_hand - StockLevel.reserved) > 0)
    )
    waiting = select(OrderLine.product_id).where(OrderLine.state == OrderLineState.waiting)
    rows = set(session.scalars(free.where(StockLevel.product_id.in_(waiting))))
    rows |= set(
        session.scalars(select(StockReceipt.product_id).where(StockReceipt.drained_at.is_(None)))
    )
    rows |= set(has_unsettled(session))  # a drain killed before it told the orders
    return sorted(rows)


def mark_drained(session: Session, product_id: int, started_at) -> None:
    session.execute(
        update(StockReceipt)
        .where(
            StockReceipt.product_id == product_id,
            StockReceipt.drained_at.is_(None),
            StockReceipt.received_at <= started_at,
        )
        .values(drained_at=utcnow())
    )


def receive_notices(session: Session, actor: Actor, notices, source: str) -> list[dict]:
    """Apply delivery notices all-or-nothing; repeated references are reported, not re-added.

    Returns one dict per notice: reference, line, sku, quantity, created (False: seen before).
    Raises ServiceError listing every notice that cannot be applied.
    """
    if not notices:
        raise ServiceError(_l("There are no deliveries to record."))
    skus = {n.sku for n in notices}
    codes = {n.warehouse for n in notices}
    products = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus)))}
    warehouses = {
        w.code: w for w in session.scalars(select(Warehouse).where(Warehouse.code.in_(codes)))
    }
    problems = []
    for n in notices:
        if n.sku not in products:
            problems.append(f"{n.reference}: SKU {n.sku}")
        if n.warehouse not in warehouses or not warehouses[n.warehouse].is_active:
            problems.append(f"{n.reference}: {n.warehouse}")
    if problems:
        raise ServiceError(
            _l("Unknown products or warehouses: %(list)s", list=", ".join(problems[:20]))
        )
    results = []
    for n in notices:
        receipt, created = receive(
            session,
            actor,
            product=products[n.sku],
            warehouse=warehouses[n.warehouse],
            quantity=n.quantity,
            source=source,
            reference=n.reference,
            line_no=n.line,
        )
        results.append(
            {
                "reference": n.reference,
                "line": n.line,
                "sku": n.sku,
                "quantity": n.quantity,
                "created": created,
                "receipt_id": receipt.id,
            }
        )
    return results
