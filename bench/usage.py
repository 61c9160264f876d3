"""Usage ingestion speed: one generated usage file of ``--events`` events (default 1,000,000,
three months, 3,000 lines) loaded by the same job as delivered files, on PostgreSQL (schema
``bench_usage`` of the ``test`` database, recreated each run) and SQLite (a file under
``bench/data/``, recreated each run).

    .venv/bin/python -m bench.usage                     # both databases
    .venv/bin/python -m bench.usage --db sqlite --events 200000

Reports wall time and CPU time (this process plus the PostgreSQL backend serving it): on a
shared machine events per CPU second is the steadier figure. Figures are written to
``bench/data/usage-<db>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select

from bench.common import DATA_DIR, Target, log, own_target, postgres_reachable, reset
from bench.cpu import APPLICATION_NAME, CpuMeter
from core import migrate
from core.runtime import Runtime
from models import Customer, Line, TariffPlan, UsageFile
from services import usage_files
from services.orgtree import add_unit
from services.usage_format import COLUMNS

SCHEMA = "bench_usage"
LINES = 3_000  # about 3.7 events per line and day, as 15 million for 50,000 lines in 3 months
FIRST = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 91


# This run's backends only: other benches on the same server use APPLICATION_NAME too.
RUN_APPLICATION_NAME = f"{APPLICATION_NAME}-usage-{os.getpid()}"


def usage_target(name: str) -> Target:
    return own_target(name, "usage.sqlite3", SCHEMA, RUN_APPLICATION_NAME)


def msisdn(n: int) -> str:
    return f"+48700{n:06d}"


def make_file(events: int) -> Path:
    """The generated file (reused when it exists): events over 91 days and 3,000 lines."""
    path = DATA_DIR / f"usage-{events}.csv"
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(events)
    kinds = ("voice", "voice", "voice", "sms", "data", "data", "mms")
    zones = ("domestic",) * 17 + ("eu", "europe", "world")
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write(",".join(COLUMNS) + "\n")
        step = DAYS * 86400 / events
        for i in range(events):
            when = FIRST + timedelta(seconds=int(i * step))
            kind = rng.choice(kinds)
            quantity = (
                rng.randint(5, 1800)
                if kind == "voice"
                else rng.randint(1000, 500_000_000)
                if kind == "data"
                else 1
            )
            direction = "out" if kind == "data" or rng.random() < 0.5 else "in"
            out.write(
                f"{msisdn(rng.randrange(LINES))},{when:%Y-%m-%dT%H:%M:%SZ},{kind},{direction},"
                f"{rng.choice(zones)},{quantity},{rng.randrange(300) / 100:.2f}\n"
            )
    tmp.replace(path)
    return path


def _lines(rt: Runtime) -> None:
    with rt.db.session_scope() as s:
        customer = Customer(
            number="B0000001",
            name="Bench Usage S.A.",
            nip="5260001246",
            street="ul. Testowa 1",
            postal_code="00-001",
            city="Warszawa",
        )
        s.add(customer)
        tariff = TariffPlan(
            code="BENCH", name="Bench", monthly_fee=Decimal("49.99"), included_data_mb=10240
        )
        s.add(tariff)
        s.flush()
        unit = add_unit(s, customer.id, "Bench")
        s.execute(
            insert(Line),
            [
                {
                    "customer_id": customer.id,
                    "unit_id": unit.id,
                    "unit_path": unit.path,
                    "msisdn": msisdn(n),
                    "tariff_id": tariff.id,
                    "iccid": f"8948019{n:012d}",
                    "imsi": f"26001{n:010d}",
                }
                for n in range(LINES)
            ],
        )


def measure(name: str, events: int) -> dict:
    tgt = usage_target(name)
    if name == "postgres" and (reason := postgres_reachable(tgt)):
        return {"skipped": reason}
    path = make_file(events)
    reset(tgt)
    migrate.upgrade(tgt.url)
    rt = Runtime(tgt.settings())
    _lines(rt)
    with rt.db.session_scope() as s:
        file, _created = usage_files.submit_path(
            s, rt.files, path, name=path.name, submitted_by="bench", enqueue=False
        )
        file_id = file.id
    import portal
    from workers.usage_jobs import load_usage_file

    app = portal.create_app(rt)
    meter = CpuMeter(tgt.url if name == "postgres" else None, application_name=RUN_APPLICATION_NAME)
    meter.start()
    started = time.perf_counter()
    with app.app_context():
        outcome = load_usage_file(file_id)
    wall = time.perf_counter() - started
    cpu = meter.stop()
    meter.close()
    with rt.db.session_scope() as s:
        f = s.get(UsageFile, file_id)
        loaded, rejected = f.rows_loaded, f.rows_rejected
        daily = s.scalar(select(UsageFile.rows_total).where(UsageFile.id == file_id))
    rt.db.engine.dispose()
    result = {
        "database": name,
        "outcome": outcome,
        "events": loaded,
        "rejected": rejected,
        "rows": daily,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "events_per_s": round(loaded / wall),
        "events_per_cpu_s": round(loaded / cpu) if cpu else None,
        "db_cpu_visible": meter.db_visible,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    (DATA_DIR / f"usage-{name}.json").write_text(json.dumps(result, indent=2))
    return result


def run(db: str, events: int) -> dict:
    results = {}
    for name in ("postgres", "sqlite") if db == "both" else (db,):
        log(f"{name}: usage ingestion of {events:,} events")
        results[name] = measure(name, events)
        log(f"{name}: {results[name]}")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.usage", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    run(args.db, args.events)


if __name__ == "__main__":
    main()
