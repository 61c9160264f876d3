"""One allocation of stock to the back-order queue: the oldest waiting line of a product gets
what is free, in one transaction, in as few statements as the database allows.

- PostgreSQL: one statement. A data-modifying CTE takes the product's drain lock (a
  transaction-scoped advisory lock, tried, never waited for: another drain of the same product
  answers ``BUSY`` and leaves it to the one that holds it), locks the head of the queue by
  ``(queued_at, id)`` with ``FOR UPDATE``, spreads the line's want over the product's active
  warehouses by priority, reserves with guarded updates (``reserved + n <= on_hand``), adds to
  the line and inserts the ``Allocation`` rows. Every write depends on what the write before it
  returned, so a level whose free stock shrank meanwhile simply gives less.
  The transaction commits without waiting for its WAL flush (``synchronous_commit = off``,
  for this transaction only): a crash of the database server may forget the last fraction of a
  second of allocations — each whole, never a part, so the queue stays consistent and the
  next drain gives the same units again in the same order. Nothing leaves the system on the
  strength of such a commit: the orders are told (e-mail, audit, order state) by
  ``services.order_allocations`` in an ordinary, durable transaction, and a durable commit
  makes every earlier one durable too.
- Elsewhere (SQLite): the same steps as a few Core statements; ``BEGIN IMMEDIATE`` already
  serialises writers.

Strict FIFO: a line that cannot be served in full takes what there is and stays at the head,
so nobody overtakes it. The table constraints (``0 <= reserved <= on_hand``,
``allocated_qty <= quantity``) refuse a double allocation even if the locking were wrong.
No ORM object is loaded: what happens on the order afterwards (audit, order state, e-mail) is
done in batches by ``services.order_allocations`` for the allocations not yet ``notified_at``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, exists, func, insert, select, text, update
from sqlalchemy.orm import Session

from models import Allocation, OrderLine, OrderLineState, StockLevel, Warehouse
from models.base import utcnow

BUSY = "busy"
DRAIN_LOCK_CLASS = 7001  # advisory-lock namespace of back-order drains


@dataclass(frozen=True)
class Allocated:
    order_line_id: int
    order_id: int
    quantity: int
    complete: bool


_PG_ALLOCATE = text(
    """
WITH lk AS MATERIALIZED (
    SELECT pg_try_advisory_xact_lock(:lock_class, :product_id) AS ok,
           set_config('synchronous_commit', 'off', true) AS sync
),
head AS MATERIALIZED (
    SELECT ol.id, ol.quantity - ol.allocated_qty AS want
    FROM order_line ol, lk
    WHERE lk.ok AND ol.product_id = :product_id AND ol.state = 'waiting'
    ORDER BY ol.queued_at, ol.id
    LIMIT 1
    FOR UPDATE OF ol
),
levels AS MATERIALIZED (
    SELECT sl.id, sl.on_hand - sl.reserved AS free,
           sum(sl.on_hand - sl.reserved) OVER (ORDER BY w.priority, sl.id) AS upto
    FROM stock_level sl JOIN warehouse w ON w.id = sl.warehouse_id
    WHERE sl.product_id = :product_id AND w.is_active AND sl.on_hand > sl.reserved
      AND EXISTS (SELECT 1 FROM head)
),
plan AS (
    SELECT levels.id, LEAST(levels.free, head.want - (levels.upto - levels.free)) AS take
    FROM levels, head
    WHERE levels.upto - levels.free < head.want
),
took AS (
    UPDATE stock_level sl
    SET reserved = sl.reserved + plan.take, updated_at = :now
    FROM plan
    WHERE sl.id = plan.id AND sl.reserved + plan.take <= sl.on_hand
    RETURNING sl.id, plan.take
),
given AS (SELECT COALESCE(SUM(take), 0) AS n FROM took),
served AS (
    UPDATE order_line ol
    SET allocated_qty = ol.allocated_qty + given.n,
        state = CASE WHEN ol.allocated_qty + given.n = ol.quantity
                     THEN 'allocated' ELSE 'waiting' END,
        updated_at = :now
    FROM head, given
    WHERE ol.id = head.id AND given.n > 0
    RETURNING ol.id, ol.order_id, given.n AS quantity, ol.allocated_qty = ol.quantity AS complete
),
recorded AS (
    INSERT INTO allocation (order_line_id, stock_level_id, quantity, created_at)
    SELECT served.id, took.id, took.take, :now FROM took, served
    RETURNING id
)
SELECT lk.ok, served.id, served.order_id, served.quantity, served.complete
FROM lk LEFT JOIN served ON true
"""
)


def allocate_next(session: Session | Connection, product_id: int) -> Allocated | str | None:
    """One allocation. Returns what was allocated, None if nothing more can be served now,
    or BUSY if another drain holds the product (that drain serves it). Takes a session or,
    for a drain's loop, a connection of its own."""
    bind = session if isinstance(session, Connection) else session.get_bind()
    if bind.dialect.name == "postgresql":
        row = session.execute(
            _PG_ALLOCATE,
            {"lock_class": DRAIN_LOCK_CLASS, "product_id": product_id, "now": utcnow()},
        ).one()
        if not row.ok:
            return BUSY
        if row.id is None:
            return None
        return Allocated(row.id, row.order_id, int(row.quantity), bool(row.complete))
    return _allocate_portable(session, product_id)


def _allocate_portable(session: Session | Connection, product_id: int) -> Allocated | None:
    head = session.execute(
        select(OrderLine.id, OrderLine.order_id, OrderLine.quantity - OrderLine.allocated_qty)
        .where(OrderLine.product_id == product_id, OrderLine.state == OrderLineState.waiting)
        .order_by(OrderLine.queued_at, OrderLine.id)
        .limit(1)
    ).first()
    if head is None:
        return None
    line_id, order_id, want = head
    levels = session.execute(
        select(StockLevel.id, StockLevel.on_hand - StockLevel.reserved)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(
            StockLevel.product_id == product_id,
            Warehouse.is_active.is_(True),
            StockLevel.on_hand > StockLevel.reserved,
        )
        .order_by(Warehouse.priority, StockLevel.id)
    ).all()
    now = utcnow()
    level_table, line_table = StockLevel.__table__, OrderLine.__table__
    given, taken = 0, []
    for level_id, free in levels:
        take = min(free, want - given)
        if take <= 0:
            break
        done = session.execute(
            update(level_table)
            .where(
                level_table.c.id == level_id, level_table.c.reserved + take <= level_table.c.on_hand
            )
            .values(reserved=level_table.c.reserved + take, updated_at=now)
        ).rowcount
        if done == 1:
            taken.append({"stock_level_id": level_id, "quantity": take})
            given += take
    if given == 0:
        return None
    complete = given == want
    done = session.execute(
        update(line_table)
        .where(
            line_table.c.id == line_id,
            line_table.c.state == OrderLineState.waiting.value,
            line_table.c.allocated_qty + given <= line_table.c.quantity,
        )
        .values(
            allocated_qty=line_table.c.allocated_qty + given,
            updated_at=now,
            state=(OrderLineState.allocated if complete else OrderLineState.waiting).value,
        )
    ).rowcount
    if done != 1:  # cannot happen under BEGIN IMMEDIATE; refuse rather than over-allocate
        raise RuntimeError("order line changed under the allocation lock")
    session.execute(
        insert(Allocation.__table__),
        [{"order_line_id": line_id, "created_at": now, **t} for t in taken],
    )
    return Allocated(line_id, order_id, given, complete)


def can_serve(session: Session | Connection, product_id: int) -> bool:
    """Free stock in an active warehouse and a line waiting for it: what a drain serves."""
    free = (
        select(StockLevel.id)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(
            StockLevel.product_id == product_id,
            Warehouse.is_active.is_(True),
            StockLevel.on_hand > StockLevel.reserved,
        )
    )
    waiting = select(OrderLine.id).where(
        OrderLine.product_id == product_id, OrderLine.state == OrderLineState.waiting
    )
    return bool(session.scalar(select(and_(exists(free), exists(waiting)))))


def has_unsettled(session: Session) -> list[int]:
    """Products with allocations whose order has not yet been told (a drain was killed)."""
    return list(
        session.scalars(
            select(func.distinct(OrderLine.product_id))
            .join(Allocation, Allocation.order_line_id == OrderLine.id)
            .where(Allocation.notified_at.is_(None))
        )
    )
