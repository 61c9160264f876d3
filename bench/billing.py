"""Billing of the 50,000-line customer: the month's charges, the issue, and every document.

    .venv/bin/python -m bench.billing --db postgresql://postgres@127.0.0.1:5432/DBNAME
    .venv/bin/python -m bench.billing --db sqlite --lines 5000
    .venv/bin/python -m bench.billing --sql     # and the run's SQL statements by time

It builds its own data in a private schema (PostgreSQL) or a temporary file (SQLite), drops
it at the end, and prints the figures: 50,000 lines in 500 departments with cost centres, five
tariffs at contract prices, a tenth of the lines activated mid-month, one in twenty suspended
for ten days (history in the audit trail), 1,000 handsets (at most one a line) shipped in the
month, and three months of usage (September to November) written straight into ``usage_daily`` —
the per-line daily totals, with the monthly rollup that the rating reads refreshed from them; no
events or files — about ten rows per line and month: voice on four days, SMS on two, data on
four, and one line in twenty roaming (EU and world) on two days, so that most lines exceed the
smaller tariffs' allowances. On PostgreSQL the tables are then analysed, as autovacuum would
soon do.

Each step prints wall time, the CPU time of this process and, on a local PostgreSQL, the CPU
time of the database backends serving it (found by an ``application_name`` of this process's
own, read from ``/proc``): on a shared machine wall time mostly says how busy it was. The
month's charges are measured part by part (fees, one-off charges, usage), then the invoice's
steps (lines in, issue) in a transaction rolled back, then the whole run as the job does it
(``billing.execute`` and the commit). ``--sql`` lists the run's statements by time (the
``COPY`` of the invoice lines is not a statement SQLAlchemy sees: it is the "lines in" step).
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import make_url

from bench.cpu import process_cpu
from core import migrate
from core.db import Database
from models import (
    AuditEvent,
    BillingRun,
    Customer,
    Line,
    LineKind,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    OrgUnit,
    Product,
    ProductKind,
    RunStatus,
    TariffPlan,
)
from services import billing, invoices, usage_rollup
from services.audit import Actor
from services.billing_charges import combined, fee_charges, one_off_charges
from services.billing_period import WARSAW, Period
from services.billing_usage import usage_charges
from services.einvoice import documents

PERIOD = Period.month(2026, 11)
APPLICATION_NAME = f"asystent-bench-billing-{os.getpid()}"  # this process's backends only
ANALYZED = ("line", "audit_event", "usage_daily", "org_unit", "order_line", "tariff_plan")
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


def at(day: date) -> datetime:
    return datetime.combine(day, dtime(12), WARSAW).astimezone(UTC)


def _url(arg: str) -> tuple[str, callable]:
    if arg == "sqlite":
        path = os.path.join(tempfile.mkdtemp(prefix="bench-billing-"), "b.sqlite3")
        return f"sqlite:///{path}", lambda: os.remove(path)
    schema = f"bench_billing_{uuid.uuid4().hex[:8]}"
    url = arg.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    scoped = make_url(url).update_query_dict(
        {"options": f"-csearch_path={schema}", "application_name": APPLICATION_NAME}
    )
    return scoped.render_as_string(hide_password=False), drop


def build(session, lines: int, rng: random.Random) -> int:
    customer = Customer(
        number="B0000001",
        name="Wielka Sieć S.A.",
        nip="5261040828",
        street="ul. Długa 1",
        postal_code="00-001",
        city="Warszawa",
    )
    session.add(customer)
    session.flush()
    units = []
    for i in range(500):
        unit = OrgUnit(
            customer_id=customer.id, name=f"Dział {i}", cost_centre=f"CC-{i:04d}", path=f"/t{i}/"
        )
        session.add(unit)
        units.append(unit)
    session.flush()
    for unit in units:
        unit.path = f"/{unit.id}/"
    tariffs = []
    allowances = ((100, 50, 2048), (300, 100, 5120), (600, None, 10240), (None, None, 30720))
    for i, fee in enumerate(("29.99", "49.99", "69.99", "99.99", "149.99")):
        minutes, sms, data = allowances[i] if i < len(allowances) else (None, None, None)
        tariffs.append(
            TariffPlan(
                code=f"BIZ-{i}",
                name=f"Biznes {i}",
                monthly_fee=Decimal(fee),
                included_minutes=minutes,
                included_sms=sms,
                included_data_mb=data,
            )
        )
    session.add_all(tariffs)
    session.flush()
    rows = []
    for i in range(lines):
        unit = rng.choice(units)
        activated = (
            at(PERIOD.start + timedelta(days=rng.randrange(30))) if i % 10 == 0 else LONG_AGO
        )
        rows.append(
            {
                "customer_id": customer.id,
                "unit_id": unit.id,
                "unit_path": unit.path,
                "msisdn": f"+4860{i:07d}",
                "status": "active",
                "tariff_id": rng.choice(tariffs).id,
                "iccid": f"8948019{i:012d}",
                "imsi": f"26001{i:010d}",
                "activated_at": activated,
                "created_at": LONG_AGO,
                "updated_at": LONG_AGO,
            }
        )
    for start in range(0, len(rows), 5000):
        session.execute(insert(Line.__table__), rows[start : start + 5000])
    line_ids = [r[0] for r in session.execute(text("SELECT id, tariff_id FROM line")).all()]
    events = []
    for line_id in line_ids[::20]:
        day = PERIOD.start + timedelta(days=rng.randrange(15))
        for offset, verb, before, after in (
            (0, "suspend", "active", "suspended"),
            (10, "resume", "suspended", "active"),
        ):
            events.append(
                {
                    "created_at": at(day + timedelta(days=offset)),
                    "actor_kind": "system",
                    "actor_label": "network",
                    "customer_id": customer.id,
                    "action": f"provisioning.{verb}.confirmed",
                    "object_type": "line",
                    "object_id": line_id,
                    "before": {"status": before},
                    "after": {"status": after},
                }
            )
    session.execute(insert(AuditEvent.__table__), events)
    phone = Product(
        sku="PH-1", kind=ProductKind.handset, name="Telefon", list_price=Decimal("1999.00")
    )
    session.add(phone)
    order = Order(number="ZB/1", customer_id=customer.id, state=OrderState.completed)
    session.add(order)
    session.flush()
    session.execute(
        insert(OrderLine.__table__),
        [
            {
                "order_id": order.id,
                "customer_id": customer.id,
                "kind": LineKind.handset.value,
                "state": OrderLineState.completed.value,
                "product_id": phone.id,
                "line_id": line_ids[i],
                "quantity": 1,
                "allocated_qty": 1,
                "shipped_qty": 1,
                "unit_price": Decimal("1799.00"),
                "list_price": Decimal("1999.00"),
                "params": {},
                "completed_at": at(PERIOD.start + timedelta(days=i % 30)),
                "created_at": LONG_AGO,
                "updated_at": LONG_AGO,
            }
            for i in range(min(1000, len(line_ids)))
        ],
    )
    session.flush()
    usage_rows = write_usage(session, customer.id, line_ids, rng)
    return customer.id, usage_rows


USAGE_MONTHS = (Period.month(2026, 9), Period.month(2026, 10), PERIOD)


def write_usage(session, customer_id: int, line_ids: list[int], rng: random.Random) -> int:
    """Three months of per-line daily totals, inserted directly (COPY on PostgreSQL)."""
    rows = []
    for line_id in line_ids:
        roams = line_id % 20 == 0
        for month in USAGE_MONTHS:
            cells = {}
            for kind, days, low, high in (
                ("voice", 4, 600, 6000),
                ("sms", 2, 1, 40),
                ("data", 4, 100_000_000, 900_000_000),
            ):
                for day in rng.sample(range(month.days), days):
                    cells[(day, kind, "domestic")] = rng.randint(low, high)
            if roams:
                for day in rng.sample(range(month.days), 2):
                    cells[(day, "voice", "world")] = rng.randint(60, 1200)
                    cells[(day, "data", "eu")] = rng.randint(10_000_000, 300_000_000)
            for (day, kind, zone), quantity in cells.items():
                rows.append(
                    (
                        line_id,
                        month.start + timedelta(days=day),
                        kind,
                        zone,
                        "out",
                        customer_id,
                        quantity,
                        1,
                        "0.00",
                    )
                )
    columns = "line_id, day, kind, zone, direction, customer_id, quantity, events, charge"
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur, cur.copy(f"COPY usage_daily ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        conn.exec_driver_sql(
            f"INSERT INTO usage_daily ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            [(*r[:1], r[1].isoformat(), *r[2:]) for r in rows],
        )
    usage_rollup.refresh(session, customer_id=customer_id)  # the monthly totals the rating reads
    return len(rows)


class _NoQueue:
    def enqueue_now(self, *args, **kwargs):
        return None


class Meter:
    """Wall time, this process's CPU and its PostgreSQL backends' CPU, per step."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.local = engine.dialect.name == "postgresql" and (
            engine.url.host in ("127.0.0.1", "localhost", None)
        )
        self.steps: list[tuple[str, float, float, float | None, str]] = []

    def _backend_cpu(self) -> float | None:
        if not self.local:
            return None
        with self.engine.connect() as conn:  # a pooled connection is one of ours: counted too
            pids = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                {"n": APPLICATION_NAME},
            ).scalars()
            return sum(process_cpu(pid) for pid in pids)

    def measure(self, name: str, fn, note=lambda result: ""):
        db0, cpu0, t0 = self._backend_cpu(), time.process_time(), time.perf_counter()
        result = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        db1 = self._backend_cpu()
        self.steps.append((name, wall, cpu, None if db0 is None else db1 - db0, note(result)))
        return result

    def print(self) -> None:
        print(f"  {'step':<44} {'wall':>7} {'CPU':>7} {'PG CPU':>7}")
        for name, wall, cpu, db, note in self.steps:
            pg = "—" if db is None else f"{db:.2f}"
            print(f"  {name:<44} {wall:7.2f} {cpu:7.2f} {pg:>7}  {note}")


class Statements:
    """Time and count of each SQL statement run on ``engine`` while ``on``."""

    def __init__(self, engine) -> None:
        self.on = False
        self.seen: dict[str, list] = collections.defaultdict(lambda: [0, 0.0])
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany):
        if self.on:
            seen = self.seen[" ".join(statement.split())[:110]]
            seen[0] += 1
            seen[1] += time.perf_counter() - conn.info["bench_t0"]

    def print(self, top: int = 12) -> None:
        print("  statements of the whole run by time (count, seconds):")
        for sql, (count, seconds) in sorted(self.seen.items(), key=lambda kv: -kv[1][1])[:top]:
            print(f"    {count:5d} {seconds:6.2f}  {sql}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--sql", action="store_true", help="list the run's SQL statements")
    args = parser.parse_args(argv)
    url, cleanup = _url(args.db)
    try:
        migrate.upgrade(url)
        db = Database(url)
        meter = Meter(db.engine)
        statements = Statements(db.engine) if args.sql else None
        session = db.new_session()
        session.info["runtime"] = _NoQueue()
        print(f"load average at the start: {load()}")
        customer_id, _rows = meter.measure(
            "data built (lines, history, orders, usage)",
            lambda: build(session, args.lines, random.Random(7)),
            lambda r: f"{r[1]:,} usage_daily rows (3 months)",
        )
        session.commit()
        if db.engine.dialect.name == "postgresql":  # statistics, as autovacuum soon has them
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f"ANALYZE {', '.join(ANALYZED)}"))

        # The month's charges part by part, then the invoice's steps; all rolled back.
        parts = []
        for name, part in (
            ("fees (pro-rated from the history)", fee_charges),
            ("one-off charges (orders)", one_off_charges),
            ("usage (services.billing_usage)", usage_charges),
        ):
            parts.append(
                meter.measure(
                    name, lambda p=part: p(session, customer_id, PERIOD), lambda r: f"{len(r):,}"
                )
            )
            session.expunge_all()
        charges = combined(*parts)
        customer = session.get(Customer, customer_id)
        draft = invoices.new_draft(session, customer, PERIOD.start, PERIOD.end)
        meter.measure(
            "invoice lines in",
            lambda: invoices.add_lines(session, draft, charges),
            lambda _r: f"{len(charges):,} lines",
        )
        meter.measure(
            "issue (VAT, totals, number)",
            lambda: invoices.issue(session, Actor.system("bench"), draft, date(2026, 12, 1)),
        )
        session.rollback()
        session.expunge_all()

        def whole_run():
            run = BillingRun(
                customer_id=customer_id, period_start=PERIOD.start, status=RunStatus.running
            )
            session.add(run)
            session.flush()
            invoice = billing.execute(session, run, issue_date=date(2026, 12, 1))
            session.commit()
            return invoice

        if statements:
            statements.on = True
        invoice = meter.measure(
            "whole run (billing.execute + commit)",
            whole_run,
            lambda inv: f"{inv.number}, gross {inv.total_gross} PLN",
        )
        if statements:
            statements.on = False
        usage_lines = sum(1 for li in invoices.lines_of(session, invoice) if li.category == "usage")
        session.rollback()
        for kind, name in (
            ("fa3", "FA(3)"),
            ("ubl", "UBL"),
            ("csv", "detail CSV"),
            ("xlsx", "detail XLSX"),
            ("pdf", "PDF (first in the process)"),
            ("pdf", "PDF again"),
        ):
            meter.measure(
                f"document: {name}",
                lambda k=kind: documents.render(session, invoice, k),
                lambda b: f"{len(b) / 1024:.1f} kB",
            )
            session.rollback()
        engine = "PostgreSQL" if "postgresql" in url else "SQLite"
        print(
            f"{engine}, {args.lines} lines: {len(charges):,} invoice lines "
            f"({usage_lines:,} usage), load average at the end: {load()}"
        )
        meter.print()
        if statements:
            statements.print()
        session.close()
        db.engine.dispose()
    finally:
        cleanup()


if __name__ == "__main__":
    main()
