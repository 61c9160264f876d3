"""Serving the back-order queues: one drain per product, one allocation per transaction.

Each allocation is one short transaction (one statement on PostgreSQL). What the orders do
with it — audit, order state, the e-mail to whoever ordered — is done in batches after those
commits, every ``SETTLE_EVERY`` allocations or ``SETTLE_SECONDS`` and when the drain ends (a
job of its own would cost a forked work horse and a new connection each time). Settling claims
each allocation once, so a drain and the sweep may settle at the same time.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from models.base import utcnow
from services import order_allocations, stock
from workers.context import runtime, unit_of_work

MAX_SECONDS = 600
SETTLE_EVERY = 500
SETTLE_SECONDS = 1.0
RETRIES = 5  # a deadlock with a cancellation or a shipment, or a lock row that moved


def _retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001")


def _allocate(s: Connection, product_id: int):
    """One allocation in its own transaction, committed here; retried on a deadlock (with a
    cancellation or a shipment) and when the head of the queue changed under the statement."""
    for attempt in range(RETRIES):
        try:
            result = stock.allocate_next(s, product_id)
            if result is None and attempt + 1 < RETRIES and stock.can_serve(s, product_id):
                s.commit()
                continue
            s.commit()
            return result
        except DBAPIError as exc:
            s.rollback()
            if not _retryable(exc) or attempt + 1 == RETRIES:
                raise
    return None


def settle_product(product_id: int) -> int:
    """Tell the orders about the product's allocations not told yet."""
    total = 0
    while True:
        with unit_of_work() as s:
            n = order_allocations.settle_allocations(s, product_id)
        total += n
        if n < order_allocations.BATCH:
            return total


def drain_product(product_id: int) -> dict:
    """Allocate to waiting lines of the product, oldest first, until stock or queue runs out.

    Safe to run twice or in parallel: allocations are guarded by locks and constraints, and a
    drain that finds the product held by another drain leaves it to that one.
    """
    started = utcnow()
    deadline = time.monotonic() + MAX_SECONDS
    allocations = units = 0
    outcome = "done"
    settle_product(product_id)  # what a killed drain allocated but did not tell
    unsettled, settled_at = 0, time.monotonic()
    # One connection for the loop (no pool checkout a turn), one transaction a turn. On
    # PostgreSQL the allocation is one statement, so it runs as its own transaction: one round
    # trip, no BEGIN and COMMIT of their own.
    s = runtime().db.engine.connect()
    if s.dialect.name == "postgresql":
        s = s.execution_options(isolation_level="AUTOCOMMIT")
    try:
        while time.monotonic() < deadline:
            result = _allocate(s, product_id)
            if result == stock.BUSY:
                outcome = "busy"
                break
            if result is None:
                with unit_of_work() as us:
                    stock.mark_drained(us, product_id, started)
                break
            allocations += 1
            units += result.quantity
            unsettled += 1
            if unsettled >= SETTLE_EVERY or time.monotonic() - settled_at >= SETTLE_SECONDS:
                settle_product(product_id)
                unsettled, settled_at = 0, time.monotonic()
        else:
            outcome = "timeout"  # the sweep continues where this stopped
    finally:
        s.close()
    if unsettled:
        settle_product(product_id)
    return {"product": product_id, "allocations": allocations, "units": units, "outcome": outcome}


def sweep_backorders() -> int:
    """Periodic: drain products whose drain was lost (killed worker, flushed Redis)."""
    with unit_of_work() as s:
        product_ids = stock.products_to_drain(s)
        for product_id in product_ids:
            stock.enqueue_drain(s, product_id)
    return len(product_ids)
