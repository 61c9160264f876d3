"""Serving the back-order queues: one drain per product, one allocation per transaction."""

from __future__ import annotations

import time

from models.base import utcnow
from services import orders, stock
from workers.context import unit_of_work

MAX_SECONDS = 600


def drain_product(product_id: int) -> dict:
    """Allocate to waiting lines of the product, oldest first, until stock or queue runs out.

    Safe to run twice or in parallel: allocations are guarded by locks and constraints, and a
    drain that finds the product held by another drain leaves it to that one.
    """
    started = utcnow()
    deadline = time.monotonic() + MAX_SECONDS
    allocations = units = 0
    outcome = "done"
    while time.monotonic() < deadline:
        with unit_of_work() as s:
            result = stock.allocate_next(s, product_id)
            if isinstance(result, stock.Allocated):
                orders.allocated(s, result)
        if result is stock.BUSY or result == stock.BUSY:
            outcome = "busy"
            break
        if result is None:
            with unit_of_work() as s:
                stock.mark_drained(s, product_id, started)
            break
        allocations += 1
        units += result.quantity
    else:
        outcome = "timeout"  # the sweep continues where this stopped
    return {"product": product_id, "allocations": allocations, "units": units, "outcome": outcome}


def sweep_backorders() -> int:
    """Periodic: drain products whose drain was lost (killed worker, flushed Redis)."""
    with unit_of_work() as s:
        product_ids = stock.products_to_drain(s)
        for product_id in product_ids:
            stock.enqueue_drain(s, product_id)
    return len(product_ids)
