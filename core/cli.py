"""The ``asystent`` command: database, demo data, worker, scheduler, and ``run`` for all of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from sqlalchemy.exc import OperationalError

from core.settings import ConfigError, load_settings

DEMO_PASSWORD = "Demo-2026!"  # noqa: S105 - the documented demo password


def _create_app():
    import portal

    return portal.create_app()


@click.group(
    cls=FlaskGroup,
    create_app=_create_app,
    add_default_commands=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def cli() -> None:
    """Asystent: the business self-service portal and the operator's console."""


cli.add_command(shell_command)
cli.add_command(routes_command)


def _runtime():
    return current_app.extensions["asystent.runtime"]


# --- database -----------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the schema up to REVISION (default: the newest)."""
    from core import migrate

    migrate.upgrade(load_settings().database_url, revision)
    click.echo("Database schema is up to date.")


@db.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Step the schema back to REVISION (default: one step)."""
    from core import migrate

    migrate.downgrade(load_settings().database_url, revision)


@db.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    from core import migrate

    migrate.revision(load_settings().database_url, message)


@db.command("check")
def db_check() -> None:
    """Fail if the models and the migrations differ."""
    from core import migrate

    migrate.check(load_settings().database_url)
    click.echo("Models and migrations match.")


# --- demo ---------------------------------------------------------------------------------


@cli.group()
def demo() -> None:
    """Demo data."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has customers.")
@click.option("--no-usage", is_flag=True, help="Skip the three months of demo usage.")
@with_appcontext
def demo_load(if_empty: bool, no_usage: bool) -> None:
    """Load the demo operator, staff and customers (deterministic), then their usage."""
    from sqlalchemy import select

    from models import Customer
    from services.demo import load_demo

    rt = _runtime()
    with rt.db.session_scope() as s:
        empty = s.scalar(select(Customer.id).limit(1)) is None
        report = load_demo(s, DEMO_PASSWORD, if_empty=if_empty)
    click.echo(report)
    if empty and not no_usage:
        _load_demo_usage(rt)
        _bill_demo(rt)


def _bill_demo(rt) -> None:
    """Bill the full months of demo usage in this process, one transaction per invoice."""
    from services import billing
    from services.demo.billing import bill_demo_period, demo_periods
    from services.usage import local_today

    started = time.monotonic()
    issued = 0
    for period in demo_periods(local_today()):
        with rt.db.session_scope() as s:
            customer_ids = billing.billable_customers(s, period)
        for customer_id in customer_ids:
            with rt.db.session_scope() as s:
                issued += (
                    bill_demo_period(s, customer_id, period, rt.settings.operator_party) is not None
                )
    click.echo(f"Invoices: {issued} issued in {time.monotonic() - started:.0f} s.")


def _load_demo_usage(rt) -> None:
    """Demo usage files, loaded through the same path as delivered files (in this process)."""
    import tempfile
    from pathlib import Path

    from services import usage_files
    from services.demo.usage import write_demo_files
    from services.usage import local_today
    from workers.usage_jobs import load_usage_file

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="asystent-usage-") as folder:
        with rt.db.session_scope() as s:
            paths = write_demo_files(s, Path(folder), local_today())
        written = time.monotonic() - started
        loaded = 0
        for path in paths:
            with rt.db.session_scope() as s:
                file, _created = usage_files.submit_path(
                    s, rt.files, path, name=path.name, submitted_by="demo", enqueue=False
                )
                file_id = file.id
            load_usage_file(file_id)
            with rt.db.session_scope() as s:
                loaded += s.get(usage_files.UsageFile, file_id).rows_loaded
    click.echo(
        f"Usage: {len(paths)} monthly files, {loaded:,} events "
        f"(written in {written:.0f} s, loaded in {time.monotonic() - started - written:.0f} s)."
    )


# --- warehouse simulator ------------------------------------------------------------------


@cli.group()
def warehouse() -> None:
    """The warehouse simulator: report deliveries as the ERP would."""


@warehouse.command("deliver")
@click.argument("sku")
@click.argument("quantity", type=click.IntRange(1, 100_000))
@click.option("--warehouse", "code", default="STR", show_default=True)
@click.option("--reference", default=None, help="Delivery document number (default: next W-SIM).")
@with_appcontext
def warehouse_deliver(sku: str, quantity: int, code: str, reference: str | None) -> None:
    """Deliver QUANTITY units of SKU: stock is received and the back-order queue drained."""
    from sqlalchemy import func, select

    from integrations.warehouse import SimulatedWarehouse
    from models import StockReceipt
    from services import ServiceError, stock
    from services.audit import Actor

    rt = _runtime()
    with rt.db.session_scope() as s:
        start = (s.scalar(select(func.count()).select_from(StockReceipt)) or 0) + 1
        notice = SimulatedWarehouse(start).notice(sku, quantity, code, reference)
        try:
            [result] = stock.receive_notices(
                s, Actor.system("warehouse-simulator"), [notice], "warehouse"
            )
        except ServiceError as exc:
            raise click.ClickException(exc.text) from exc
    state = "recorded" if result["created"] else "already recorded earlier (nothing added)"
    click.echo(
        f"Delivery {notice.reference}: {quantity} x {notice.sku} to {notice.warehouse} {state}."
    )


# --- usage files --------------------------------------------------------------------------


@cli.group()
def usage() -> None:
    """Usage files delivered by the operator's billing platform."""


@usage.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--now", is_flag=True, help="Load in this process instead of by a worker.")
@with_appcontext
def usage_load(path: str, now: bool) -> None:
    """Submit the usage file PATH (CSV, see docs/usage-format.md); a worker loads it."""
    from pathlib import Path

    from services import ServiceError, usage_files

    rt = _runtime()
    source = Path(path)
    with rt.db.session_scope() as s:
        try:
            file, created = usage_files.submit_path(
                s, rt.files, source, name=source.name, submitted_by="cli", enqueue=not now
            )
        except ServiceError as exc:
            raise click.ClickException(exc.text) from exc
        file_id, state = file.id, file.state
    if not created:
        click.echo(f"This file was delivered before (file #{file_id}, {state}); nothing changed.")
        return
    if not now:
        click.echo(f"File #{file_id} recorded; a worker is loading it.")
        return
    from workers.usage_jobs import load_usage_file

    load_usage_file(file_id)
    with rt.db.session_scope() as s:
        file = s.get(usage_files.UsageFile, file_id)
        click.echo(
            f"File #{file_id} {file.state}: {file.rows_loaded} events loaded, "
            f"{file.rows_rejected} rows rejected."
        )


# --- workers ------------------------------------------------------------------------------


@cli.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--simple", is_flag=True, help="Run jobs inside the worker process (no fork).")
@click.option("--queues", "queue_names", default=None, help="Comma-separated queue names.")
@click.option("--name", default=None)
@with_appcontext
def worker(burst: bool, simple: bool, queue_names: str | None, name: str | None) -> None:
    """Run an RQ worker with the application context."""
    from rq import SimpleWorker, Worker

    from workers import queues

    rt = _runtime()
    names = queue_names.split(",") if queue_names else list(queues.ALL)
    unknown = set(names) - set(queues.ALL)
    if unknown:
        raise click.UsageError(f"Unknown queue: {', '.join(sorted(unknown))}.")
    cls = SimpleWorker if simple else Worker
    w = cls(
        [rt.queue(n) for n in names],
        connection=rt.redis,
        name=name,
        worker_ttl=30,
        maintenance_interval=5,
    )
    # with_scheduler: RQ moves due retries (Retry intervals) back to their queues; it takes a
    # lock per queue, so any number of workers may run it.
    w.work(burst=burst, logging_level="INFO", with_scheduler=True)


@cli.command()
@with_appcontext
def scheduler() -> None:
    """Run the periodic-job scheduler (sweeps, monthly runs)."""
    from workers.periodic import build_scheduler

    build_scheduler(_runtime()).start()


# --- run ------------------------------------------------------------------------------------


def _banner(host: str, port: int) -> str:
    base = f"http://{host}:{port}"
    return f"""
  Asystent is running.
    Portal:        {base}/
    Admin console: {base}/admin/
    Health:        {base}/healthz

  Demo logins (password {DEMO_PASSWORD}):
    portal   admin@polmarket.example        fleet admin, whole company
    portal   it@polmarket.example           fleet admin, one division
    portal   jan.kowalski@polmarket.example employee
    portal   admin@transkom.example         fleet admin
    portal   admin@nowak.example            fleet admin
    console  opiekun@operator.example       account manager (Polmarket, Transkom)
    console  admin@operator.example         operator admin (two-step code: see above)

  Mail goes to instance/outbox/ unless SMTP_HOST is set. Ctrl-C stops everything.
"""


@cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", "worker_count", default=1, show_default=True, type=int)
def run_all(host: str, port: int, worker_count: int) -> None:
    """Start web (portal and console), workers and the scheduler; Ctrl-C stops them all."""
    from werkzeug.serving import run_simple

    import wsgi
    from core.embedded_redis import EmbeddedRedis

    settings = load_settings()
    redis_proc = None
    if settings.embedded_redis:
        embedded = EmbeddedRedis(settings.instance_path)
        if not embedded.ping():
            # Its own session: Ctrl-C reaches the workers first; Redis is stopped last.
            redis_proc = embedded.start(detach=True)

    def _terminate(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    # Also when started from a shell that ignores SIGINT for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    children: list[subprocess.Popen] = []
    me = [sys.executable, "-m", "core.cli"]
    try:
        for i in range(worker_count):
            children.append(subprocess.Popen([*me, "worker", "--name", f"run-{os.getpid()}-{i}"]))  # noqa: S603
        children.append(subprocess.Popen([*me, "scheduler"]))  # noqa: S603
        app = wsgi.create_app()
        click.echo(_banner(host, port))
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if redis_proc is not None:
            embedded.shutdown()
        click.echo("Asystent stopped.")


def main() -> None:
    try:
        cli.main(prog_name="asystent")
    except ConfigError as exc:
        click.echo(f"Configuration error: {exc}", err=True)
        sys.exit(2)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        click.echo(f"Cannot use the database: {reason}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
