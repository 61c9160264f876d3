"""Draining the back-order queue: 10,000 waiting positions of one product, one large delivery.

The queue of the ordering data (``bench.orders_data``): 10,000 positions of one unit of the
sold-out phone, in orders of three customers. Real ``rq`` worker processes (``asystent worker
--queues backorders``; 4 on PostgreSQL, 1 on SQLite, whose writers queue for one lock anyway)
are started and registered first; then the warehouse reports one delivery of 10,000 units three
times (the same document line: it counts once) and three more drain jobs are queued, so that
every worker takes one. Timed from the commit of the delivery until every position is
allocated, and until every order has been told (audit, order state, e-mail queued).

Checked afterwards: no position got more than it asked for, each position's allocations add up
to what it shows, the stock rows' ``reserved`` equals the allocations on them and stays within
``on_hand``, first come first served, nothing left untold.

The ceiling: the bare allocation statement (the one-statement CTE on PostgreSQL, the portable
statements on SQLite) run in a loop on the same data in this process, one transaction each,
nothing else. Everything is put back afterwards (allocations, stock, receipts, the audit
events and e-mails of the run).

CPU: the workers (with their forked work horses, counted when the worker reaps them) and the
PostgreSQL backends of the bench, sampled while the drain runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bench.common import BENCH_DIR, Target, log
from bench.cpu import TICK
from bench.orders_data import APPLICATION_NAME, DRAIN_LINES, OrdersData
from core import aftercommit
from core.db import make_engine
from core.runtime import Runtime
from models import Allocation, AuditEvent, OutgoingMail, Product, StockReceipt, Warehouse
from services import allocation, stock
from services.audit import Actor
from workers import queues

REFERENCE = "BENCH/DRAIN"
TIMEOUT_S = 600
WAREHOUSE = "STR"


def _cpu(pid: int, with_children: bool) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    used = int(fields[11]) + int(fields[12])
    if with_children:
        used += int(fields[13]) + int(fields[14])  # reaped children: the work horses
    return used / TICK


class Sampler(threading.Thread):
    """CPU of the workers (and their reaped work horses) and of the bench's PostgreSQL
    backends, sampled every 0.2 s while the drain runs (a backend that ends between two
    samples loses its last fraction of a second)."""

    def __init__(self, tgt: Target, worker_pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.worker_pids = worker_pids
        self.engine = None
        if tgt.name == "postgres":
            self.engine = make_engine(tgt.url.split("?")[0], pool_size=1)
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stopping = threading.Event()
        self._sample(initial=True)

    def _backends(self) -> list[int]:
        if self.engine is None:
            return []
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                    {"n": APPLICATION_NAME},
                ).scalars()
            )

    def _sample(self, initial: bool = False) -> None:
        seen = {pid: _cpu(pid, True) for pid in self.worker_pids}
        seen.update({pid: _cpu(pid, False) for pid in self._backends()})
        for pid, cpu in seen.items():
            if cpu < 0:
                continue
            self.first.setdefault(pid, cpu if initial else 0.0)
            self.last[pid] = cpu

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            self._sample()

    def stop(self) -> float:
        self.stopping.set()
        self.join()
        self._sample()
        if self.engine is not None:
            self.engine.dispose()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def _reader(tgt: Target):
    """Counting while workers write: no write lock on SQLite, not counted as bench CPU."""
    url = tgt.url.replace(f"application_name={APPLICATION_NAME}", "application_name=orders-poll")
    engine = make_engine(url)
    if tgt.name == "sqlite":
        engine = engine.execution_options(sqlite_begin="DEFERRED")
    return engine


# --- the data before and after ---------------------------------------------------------------


def _snapshot(s: Session, product_id: int) -> dict:
    return {
        "levels": [
            dict(r._mapping)
            for r in s.execute(
                text("SELECT id, on_hand, reserved FROM stock_level WHERE product_id = :p"),
                {"p": product_id},
            )
        ],
        "expectations": [
            dict(r._mapping)
            for r in s.execute(
                text("SELECT id, quantity, is_open FROM stock_expectation WHERE product_id = :p"),
                {"p": product_id},
            )
        ],
        "audit": s.scalar(select(func.coalesce(func.max(AuditEvent.id), 0))),
        "mail": s.scalar(select(func.coalesce(func.max(OutgoingMail.id), 0))),
        "allocation": s.scalar(select(func.coalesce(func.max(Allocation.id), 0))),
    }


def _restore(engine, product_id: int, snap: dict) -> None:
    """Put the queue, the stock and the trail back as they were before the run."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM allocation WHERE order_line_id IN (SELECT ol.id FROM order_line ol "
                "JOIN customer_order o ON o.id = ol.order_id WHERE o.number LIKE 'D/%')"
            )
        )
        conn.execute(text("DELETE FROM allocation WHERE id > :a"), {"a": snap["allocation"]})
        conn.execute(
            text(
                "UPDATE order_line SET state = 'waiting', allocated_qty = 0 WHERE id IN "
                "(SELECT ol.id FROM order_line ol JOIN customer_order o ON o.id = ol.order_id "
                "WHERE o.number LIKE 'D/%')"
            )
        )
        conn.execute(text("DELETE FROM audit_event WHERE id > :a"), {"a": snap["audit"]})
        conn.execute(text("DELETE FROM outgoing_mail WHERE id > :m"), {"m": snap["mail"]})
        conn.execute(
            text("DELETE FROM stock_receipt WHERE reference LIKE :r"), {"r": f"{REFERENCE}%"}
        )
        for level in snap["levels"]:
            conn.execute(
                text(
                    "UPDATE stock_level SET on_hand = :on_hand, reserved = :reserved WHERE id = :id"
                ),
                level,
            )
        for exp in snap["expectations"]:
            conn.execute(
                text(
                    "UPDATE stock_expectation SET quantity = :quantity, is_open = :is_open "
                    "WHERE id = :id"
                ),
                exp,
            )


def _deliver(rt: Runtime, product_id: int, run: str, *, enqueue: bool) -> float:
    """The warehouse reports the delivery three times; returns the time of the first commit."""
    committed_at = 0.0
    actor = Actor("system", None, "bench-warehouse")
    for attempt in range(3):
        with rt.db.session_scope() as s:
            product = s.get(Product, product_id)
            warehouse = s.scalar(select(Warehouse).where(Warehouse.code == WAREHOUSE))
            _receipt, created = stock.receive(
                s,
                actor,
                product=product,
                warehouse=warehouse,
                quantity=DRAIN_LINES,
                source=("warehouse", "file", "console")[attempt],
                reference=f"{REFERENCE}/{run}",
            )
            assert created == (attempt == 0), "the same delivery line was counted twice"
            if not enqueue:
                aftercommit.discard(s)
        if attempt == 0:
            committed_at = time.perf_counter()
    return committed_at


# --- workers ---------------------------------------------------------------------------------


def _start_workers(tgt: Target, rt: Runtime, n: int) -> list[subprocess.Popen]:
    from rq import Worker

    tag = f"bench-drain-{os.getpid()}"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "core.cli",
                "worker",
                "--queues",
                queues.BACKORDERS,
                "--name",
                f"{tag}-{i}",
            ],
            cwd=BENCH_DIR.parent,
            env=tgt.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        names = {w.name for w in Worker.all(connection=rt.redis)}
        if sum(1 for i in range(n) if f"{tag}-{i}" in names) == n:
            return procs
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.1)
    _stop_workers(procs)
    raise RuntimeError("the workers did not start: " + (procs[0].stderr.read() or "")[-2000:])


def _stop_workers(procs: list[subprocess.Popen]) -> str:
    logs = ""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            _out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            _out, err = p.communicate()
        logs += err or ""
    return logs


# --- checks ----------------------------------------------------------------------------------


def verify(engine, product_id: int) -> dict:
    """The guarantees, read from the database after the drain."""
    with engine.connect() as conn:

        def one(sql: str, **params) -> int:
            return int(conn.execute(text(sql), {"p": product_id, **params}).scalar() or 0)

        over = one(
            "SELECT count(*) FROM (SELECT order_line_id, sum(quantity) AS q FROM allocation "
            "GROUP BY order_line_id) a JOIN order_line ol ON ol.id = a.order_line_id "
            "WHERE a.q > ol.quantity AND ol.product_id = :p"
        )
        mismatched = one(
            "SELECT count(*) FROM order_line ol WHERE ol.product_id = :p "
            "AND ol.state IN ('waiting', 'allocated') AND ol.allocated_qty <> "
            "(SELECT coalesce(sum(a.quantity), 0) FROM allocation a WHERE a.order_line_id = ol.id)"
        )
        bad_levels = one(
            "SELECT count(*) FROM stock_level sl WHERE sl.product_id = :p AND ("
            "sl.reserved < 0 OR sl.reserved > sl.on_hand OR sl.reserved <> "
            "(SELECT coalesce(sum(a.quantity), 0) FROM allocation a "
            " WHERE a.stock_level_id = sl.id AND a.released_at IS NULL))"
        )
        overtaken = one(
            "SELECT count(*) FROM order_line w WHERE w.product_id = :p AND w.state = 'waiting' "
            "AND EXISTS (SELECT 1 FROM order_line x WHERE x.product_id = :p "
            "AND x.state = 'allocated' AND x.allocated_qty > 0 AND x.queued_at IS NOT NULL "
            "AND (x.queued_at > w.queued_at OR (x.queued_at = w.queued_at AND x.id > w.id)))"
        )
        untold = one(
            "SELECT count(*) FROM allocation a JOIN order_line ol ON ol.id = a.order_line_id "
            "WHERE a.notified_at IS NULL AND ol.product_id = :p"
        )
        on_hand, reserved = conn.execute(
            text(
                "SELECT coalesce(sum(on_hand), 0), coalesce(sum(reserved), 0) FROM stock_level "
                "WHERE product_id = :p"
            ),
            {"p": product_id},
        ).one()
        receipts = one(
            "SELECT count(*) FROM stock_receipt WHERE reference LIKE :r", r=f"{REFERENCE}%"
        )
    return {
        "double_allocations": over,
        "lines_not_matching_allocations": mismatched,
        "stock_rows_inconsistent": bad_levels,
        "overtaken": overtaken,
        "untold": untold,
        "on_hand": int(on_hand),
        "reserved": int(reserved),
        "receipts": receipts,
        "ok": not (over or mismatched or bad_levels or overtaken or untold),
    }


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar() or 0)


# --- the measurement -------------------------------------------------------------------------


def _drain_run(tgt: Target, rt: Runtime, data: OrdersData, workers: int) -> dict:
    reader = _reader(tgt)
    product_id = data.drain_product_id
    with rt.db.session_scope() as s:
        snap = _snapshot(s, product_id)
    procs = _start_workers(tgt, rt, workers)
    try:
        sampler = Sampler(tgt, [p.pid for p in procs])
        sampler.start()
        committed = _deliver(rt, product_id, "run", enqueue=True)
        for _ in range(workers - 1):  # one drain job for every worker
            rt.queue(queues.BACKORDERS).enqueue(
                "workers.stock_jobs.drain_product", product_id, job_timeout=3600
            )
        allocated_s = settled_s = None
        made = 0
        while time.perf_counter() - committed < TIMEOUT_S:
            made = _count(
                reader, "SELECT count(*) FROM allocation WHERE id > :a", a=snap["allocation"]
            )
            if made >= data.drain_lines:
                allocated_s = time.perf_counter() - committed
                break
            time.sleep(0.02)
        while allocated_s is not None and time.perf_counter() - committed < TIMEOUT_S:
            untold = _count(
                reader,
                "SELECT count(*) FROM allocation WHERE id > :a AND notified_at IS NULL",
                a=snap["allocation"],
            )
            if untold == 0:
                settled_s = time.perf_counter() - committed
                break
            time.sleep(0.02)
        # Let the jobs end (a drain still settling, the busy ones) before reading the CPU.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            rt.queue(queues.BACKORDERS).count or _busy(rt, procs)
        ):
            time.sleep(0.05)
        cpu_s = sampler.stop()
    finally:
        logs = _stop_workers(procs)
    checks = verify(reader, product_id)
    mails = _count(reader, "SELECT count(*) FROM outgoing_mail WHERE id > :m", m=snap["mail"])
    results = _job_results(rt)
    reader.dispose()
    if allocated_s is None:
        _restore(rt.db.engine, product_id, snap)
        raise RuntimeError(f"only {made} of {data.drain_lines} allocated; {logs[-1500:]}")
    return {
        "snap": snap,
        "allocations": made,
        "allocated_s": round(allocated_s, 3),
        "settled_s": round(settled_s, 3) if settled_s is not None else None,
        "rate": round(made / allocated_s, 1),
        "cpu_s": round(cpu_s, 2),
        "cpu_rate": round(made / cpu_s, 1) if cpu_s > 0 else None,
        "mails_queued": mails,
        "jobs": results,
        "checks": checks,
    }


def _busy(rt: Runtime, procs) -> bool:
    from rq import Worker

    tag = f"bench-drain-{os.getpid()}"
    return any(
        w.get_state() == "busy" for w in Worker.all(connection=rt.redis) if w.name.startswith(tag)
    )


def _job_results(rt: Runtime) -> list:
    """The outcome of each drain job ({"allocations", "outcome"}), from RQ's finished registry."""
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    queue = rt.queue(queues.BACKORDERS)
    out = []
    registry = FinishedJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=rt.redis)
        result = job.return_value()
        if isinstance(result, dict) and "outcome" in result:
            out.append({"allocations": result["allocations"], "outcome": result["outcome"]})
        registry.remove(job, delete_job=True)
    return sorted(out, key=lambda r: -r["allocations"])


def _ceiling(tgt: Target, rt: Runtime, data: OrdersData) -> dict:
    """The bare allocation statement in a loop, one transaction each, on the same queue."""
    product_id = data.drain_product_id
    _deliver(rt, product_id, "ceiling", enqueue=False)
    engine = rt.db.engine
    made = 0
    cpu_start = time.process_time()
    backends_before = _backend_cpu(tgt)
    start = time.perf_counter()
    if tgt.name == "postgres":
        params = {"lock_class": allocation.DRAIN_LOCK_CLASS, "product_id": product_id}
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            while True:
                row = conn.execute(allocation._PG_ALLOCATE, {**params, "now": _now()}).one()
                if row.id is None:
                    break
                made += 1
    else:
        with engine.connect() as conn:  # as the drain does: one connection, a commit a turn
            while True:
                result = allocation._allocate_portable(conn, product_id)
                conn.commit()
                if result is None:
                    break
                made += 1
    seconds = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start + _backend_cpu(tgt) - backends_before
    return {
        "allocations": made,
        "seconds": round(seconds, 3),
        "rate": round(made / seconds, 1),
        "cpu_s": round(cpu_s, 2),
        "cpu_rate": round(made / cpu_s, 1) if cpu_s > 0 else None,
    }


def _now():
    from models.base import utcnow

    return utcnow()


def _backend_cpu(tgt: Target, engine=None) -> float:
    """CPU seconds so far of the PostgreSQL backends serving these parts."""
    if tgt.name != "postgres":
        return 0.0
    own = engine is None
    engine = engine or make_engine(tgt.url.split("?")[0], pool_size=1)
    with engine.connect() as conn:
        pids = list(
            conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                {"n": APPLICATION_NAME},
            ).scalars()
        )
    if own:
        engine.dispose()
    return sum(max(0.0, _cpu(pid, False)) for pid in pids)


def measure(tgt: Target, data: OrdersData, rt: Runtime) -> dict:
    workers = 4 if tgt.name == "postgres" else 1
    _clear_queues(rt)
    with rt.db.session_scope() as s:
        waiting = s.scalar(
            select(func.count())
            .select_from(StockReceipt)
            .where(StockReceipt.reference.like(f"{REFERENCE}%"))
        )
    if waiting:
        raise RuntimeError("a previous drain run was not put back; regenerate the data")
    log(f"{tgt.name}: drain: {data.drain_lines:,} waiting positions, {workers} worker(s)")
    drain = _drain_run(tgt, rt, data, workers)
    snap = drain.pop("snap")
    _restore(rt.db.engine, data.drain_product_id, snap)
    log(
        f"{tgt.name}: drain: {drain['allocations']:,} allocations in {drain['allocated_s']:.2f} s "
        f"({drain['rate']:.0f}/s; CPU {drain['cpu_s']:.1f} s), told in {drain['settled_s']} s, "
        f"checks {'ok' if drain['checks']['ok'] else drain['checks']}"
    )
    with rt.db.session_scope() as s:
        snap = _snapshot(s, data.drain_product_id)
    try:
        ceiling = _ceiling(tgt, rt, data)
    finally:
        _restore(rt.db.engine, data.drain_product_id, snap)
        _clear_queues(rt)
    log(
        f"{tgt.name}: drain: bare statement loop {ceiling['rate']:.0f}/s "
        f"(CPU {ceiling['cpu_s']:.1f} s for {ceiling['allocations']:,})"
    )
    ratio = drain["rate"] / ceiling["rate"] if ceiling["rate"] else None
    cpu_ratio = (
        drain["cpu_rate"] / ceiling["cpu_rate"]
        if drain.get("cpu_rate") and ceiling.get("cpu_rate")
        else None
    )
    return {
        "workers": workers,
        "lines": data.drain_lines,
        "drain": drain,
        "ceiling": ceiling,
        "ratio": round(ratio, 3) if ratio else None,
        "cpu_ratio": round(cpu_ratio, 3) if cpu_ratio else None,
    }


def _clear_queues(rt: Runtime) -> None:
    """Jobs left in the bench's Redis by the runs (drains, e-mails, provisioning)."""
    for name in (queues.BACKORDERS, queues.MAIL, queues.PROVISIONING):
        rt.queue(name).empty()
