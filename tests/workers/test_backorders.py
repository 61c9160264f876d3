"""The back-order queue under real workers: never negative, never twice, strictly FIFO,
nothing lost when a worker is killed, cancelled lines give their stock back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import (
    Allocation,
    LineKind,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    StockLevel,
    Warehouse,
)
from models.base import utcnow
from services import orders, stock
from services.audit import Actor
from tests.factories import make_customer
from tests.fleet_factories import make_handset
from workers import queues

pytestmark = pytest.mark.worker
STAFF = Actor("staff", 1, "magazyn@operator.example")


def start_workers(n: int, burst: bool = True) -> list[subprocess.Popen]:
    args = [sys.executable, "-m", "core.cli", "worker", "--queues", "backorders,mail"]
    if burst:
        args.append("--burst")
    return [
        subprocess.Popen(
            args,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]


def wait_all(procs: list[subprocess.Popen]) -> str:
    logs = ""
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        logs += err
    return logs


def make_queue(session, product, quantities: list[int]):
    customer = make_customer(session)
    base = utcnow() - timedelta(hours=1)
    lines = []
    for i, qty in enumerate(quantities):
        order = Order(
            number=f"Q/{product.id}/{i}",
            customer_id=customer.id,
            state=OrderState.inProgress,
            total_net=Decimal("1.00"),
            released_at=base,
        )
        session.add(order)
        session.flush()
        line = OrderLine(
            order_id=order.id,
            customer_id=customer.id,
            kind=LineKind.handset,
            product_id=product.id,
            quantity=qty,
            unit_price=Decimal("1.00"),
            list_price=Decimal("1.00"),
            state=OrderLineState.waiting,
            queued_at=base + timedelta(seconds=i),
        )
        session.add(line)
        lines.append(line)
    session.flush()
    return [ln.id for ln in lines]


def count_allocations(rt) -> int:
    """Read without holding SQLite's write lock while the worker runs."""
    with rt.db.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return conn.scalar(select(func.count()).select_from(Allocation))


def check_invariants(session, product_id: int, line_ids: list[int]) -> list[OrderLine]:
    session.expire_all()
    levels = list(session.scalars(select(StockLevel).where(StockLevel.product_id == product_id)))
    for lv in levels:
        assert 0 <= lv.reserved <= lv.on_hand
    lines = [session.get(OrderLine, i) for i in line_ids]
    allocated_total = session.scalar(
        select(func.coalesce(func.sum(Allocation.quantity), 0))
        .join(OrderLine, OrderLine.id == Allocation.order_line_id)
        .where(OrderLine.product_id == product_id, Allocation.released_at.is_(None))
    )
    assert allocated_total == sum(lv.reserved for lv in levels)
    live = [ln for ln in lines if ln.state != OrderLineState.cancelled]
    assert allocated_total == sum(ln.allocated_qty for ln in live)
    for ln in lines:
        assert 0 <= ln.allocated_qty <= ln.quantity
        per_line = session.scalar(
            select(func.coalesce(func.sum(Allocation.quantity), 0)).where(
                Allocation.order_line_id == ln.id
            )
        )
        assert per_line == ln.allocated_qty
    # Strict FIFO: fully served lines, then at most one partly served, then untouched ones.
    seen_partial = seen_empty = False
    for ln in lines:
        if ln.state == OrderLineState.cancelled:
            continue
        if ln.allocated_qty == ln.quantity:
            assert not (seen_partial or seen_empty), "a later line was served before an earlier"
        elif ln.allocated_qty > 0:
            assert not (seen_partial or seen_empty)
            seen_partial = True
        else:
            seen_empty = True
    return lines


def test_four_workers_and_a_receipt_delivered_three_times(rt, committed):
    product = make_handset(committed)
    warehouse = Warehouse(code="WA1", name="Stryków")
    committed.add(warehouse)
    quantities = [1 + (i * 7) % 3 for i in range(120)]  # 1..3 units each, 240 in total
    line_ids = make_queue(committed, product, quantities)
    committed.commit()

    for _ in range(3):  # the warehouse reports the same delivery three times
        _receipt, _created = stock.receive(
            committed,
            STAFF,
            product=product,
            warehouse=warehouse,
            quantity=150,
            source="warehouse",
            reference="WZ/2026/77",
        )
        committed.commit()
    for _ in range(4):  # and four drains start at once
        rt.queue(queues.BACKORDERS).enqueue("workers.stock_jobs.drain_product", product.id)
    committed.rollback()
    wait_all(start_workers(4))

    lines = check_invariants(committed, product.id, line_ids)
    level = committed.scalar(select(StockLevel).where(StockLevel.product_id == product.id))
    assert level.on_hand == 150 and level.reserved == 150  # one delivery, all of it allocated
    assert sum(ln.allocated_qty for ln in lines) == 150


def test_killed_worker_loses_nothing_and_the_sweep_finishes(rt, committed):
    product = make_handset(committed)
    warehouse = Warehouse(code="WA2", name="Gądki")
    committed.add(warehouse)
    line_ids = make_queue(committed, product, [1] * 400)
    committed.commit()
    stock.receive(
        committed,
        STAFF,
        product=product,
        warehouse=warehouse,
        quantity=300,
        source="console",
        reference="PZ/1",
    )
    committed.commit()
    committed.rollback()
    [worker] = start_workers(1, burst=False)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and count_allocations(rt) < 5:
            time.sleep(0.05)  # wait until the drain is under way
        # SIGKILL the work horse (the forked child running the job), then the worker.
        subprocess.run(["pkill", "-KILL", "-P", str(worker.pid)], check=False)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.communicate(timeout=30)
    committed.rollback()
    served_before = committed.scalar(select(func.count()).select_from(Allocation))
    assert 0 < served_before < 300
    check_invariants(committed, product.id, line_ids)

    rt.redis.flushdb()  # the queue is gone too; only the database remembers
    rt.queue(queues.BACKORDERS).enqueue("workers.stock_jobs.sweep_backorders")
    committed.rollback()
    logs = wait_all(start_workers(1))
    lines = check_invariants(committed, product.id, line_ids)
    assert sum(ln.allocated_qty for ln in lines) == 300, logs[-3000:]
    # Every order was told, including about what the killed drain allocated.
    untold = select(func.count()).select_from(Allocation).where(Allocation.notified_at.is_(None))
    assert committed.scalar(untold) == 0


def test_cancelled_line_leaves_the_queue_and_returns_stock(rt, committed):
    product = make_handset(committed)
    warehouse = Warehouse(code="WA3", name="Sosnowiec")
    committed.add(warehouse)
    line_ids = make_queue(committed, product, [2, 2, 2])
    committed.commit()
    stock.receive(
        committed,
        STAFF,
        product=product,
        warehouse=warehouse,
        quantity=2,
        source="console",
        reference="PZ/2",
    )
    committed.commit()
    committed.rollback()
    wait_all(start_workers(1))
    first = committed.get(OrderLine, line_ids[0])
    assert first.state == OrderLineState.allocated
    assert stock.queue_position(committed, committed.get(OrderLine, line_ids[2])) == (2, 2)
    committed.rollback()

    orders.cancel_line(committed, STAFF, first)  # its two units go back and serve the next
    committed.commit()
    wait_all(start_workers(1))
    lines = check_invariants(committed, product.id, line_ids)
    assert lines[0].state == OrderLineState.cancelled and lines[0].allocated_qty == 2
    assert lines[1].state == OrderLineState.allocated
    assert lines[2].state == OrderLineState.waiting
    assert stock.queue_position(committed, lines[2]) == (1, 0)
