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

from sqlalchemy import Connection, and_, bindparam, exists, func, select, text
from sqlalchemy.orm import Session

from models import Allocation, OrderLine, OrderLineState, StockLevel, Warehouse
from models.base import UTCDateTime, utcnow

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


_NOW = bindparam("now", type_=UTCDateTime())
# The portable steps, built once: constructing SQLAlchemy expressions a turn costs more than
# SQLite takes to run them.
_HEAD = text(
    "SELECT id, order_id, quantity - allocated_qty FROM order_line "
    "WHERE product_id = :product_id AND state = 'waiting' ORDER BY queued_at, id LIMIT 1"
)
_LEVELS = text(
    "SELECT sl.id, sl.on_hand - sl.reserved FROM stock_level sl "
    "JOIN warehouse w ON w.id = sl.warehouse_id "
    "WHERE sl.product_id = :product_id AND w.is_active AND sl.on_hand > sl.reserved "
    "ORDER BY w.priority, sl.id"
)
_RESERVE = text(
    "UPDATE stock_level SET reserved = reserved + :n, updated_at = :now "
    "WHERE id = :id AND reserved + :n <= on_hand"
).bindparams(_NOW)
_SERVE = text(
    "UPDATE order_line SET allocated_qty = allocated_qty + :n, state = :state, "
    "updated_at = :now WHERE id = :id AND state = 'waiting' AND allocated_qty + :n <= quantity"
).bindparams(_NOW)
_RECORD = text(
    "INSERT INTO allocation (order_line_id, stock_level_id, quantity, created_at) "
    "VALUES (:line, :level, :n, :now)"
).bindparams(_NOW)


def _allocate_portable(session: Session | Connection, product_id: int) -> Allocated | None:
    head = session.execute(_HEAD, {"product_id": product_id}).first()
    if head is None:
        return None
    line_id, order_id, want = head
    levels = session.execute(_LEVELS, {"product_id": product_id}).all()
    now = utcnow()
    given, taken = 0, []
    for level_id, free in levels:
        take = min(free, want - given)
        if take <= 0:
            break
        if session.execute(_RESERVE, {"n": take, "now": now, "id": level_id}).rowcount == 1:
            taken.append({"line": line_id, "level": level_id, "n": take, "now": now})
            given += take
    if given == 0:
        return None
    complete = given == want
    state = OrderLineState.allocated if complete else OrderLineState.waiting
    done = session.execute(
        _SERVE, {"n": given, "state": state.value, "now": now, "id": line_id}
    ).rowcount
    if done != 1:  # cannot happen under BEGIN IMMEDIATE; refuse rather than over-allocate
        raise RuntimeError("order line changed under the allocation lock")
    session.execute(_RECORD, taken)
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
