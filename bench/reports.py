"""Report speed: the monthly usage report by unit with subtree totals (p95), the XLSX of the
SIM configuration report (one row per line) and the PDF of the unit summary.

Data: one customer with ``--lines`` lines (default 50,000) in a tree of 1,111 units
(10 × 10 × 10 under a root), and three months (September–November 2026) of daily usage
totals. The totals are generated directly in ``usage_daily`` (one set-based INSERT on
PostgreSQL, batched inserts on SQLite), not through the event ingestion, and the monthly
rollup ``usage_monthly`` is filled from them as migration 0017 fills it
(``services.usage_rollup.refresh``): the reports read only those two tables, and ingestion has
its own benchmark (bench/usage.py). About 2.6 daily rows per line and day standing for about
5.8 events per line and day (≥ 15 million events for 50,000 lines over 91 days). PostgreSQL:
schema ``bench_reports`` of the ``test`` database, recreated when the data set changes;
SQLite: ``bench/data/reports.sqlite3`` (default 5,000 lines).

    .venv/bin/python -m bench.reports                   # both databases
    .venv/bin/python -m bench.reports --db sqlite --lines 2000

Figures are written to ``bench/data/reports-<db>.json``: wall times (p50, p95), and the CPU time
per call of this process plus its own PostgreSQL backend, taken in a second pass without
parallel workers (a shared machine's load shows in the first, hardly in the second). Besides the
company-wide monthly unit report: the same for one division (a tenth of the lines), and for a
range of two months that starts and ends mid-month (the edges read daily totals).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import time
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, text

from bench.common import (
    DATA_DIR,
    Target,
    log,
    own_target,
    percentile,
    postgres_reachable,
    reset,
)
from bench.cpu import process_cpu
from core import migrate
from core.runtime import Runtime
from models import Customer, Line, OrgUnit, TariffPlan, UsageDaily, UsageMonthly
from services import usage_rollup
from services.fleet_query import FleetScope
from services.orgtree import add_unit
from services.reports import documents, usage_report
from services.reports.period import Period

SCHEMA = "bench_reports"
FIRST, DAYS = date(2026, 9, 1), 91
MONTH = Period(date(2026, 11, 1), date(2026, 12, 1))
RANGE = Period(date(2026, 9, 16), date(2026, 11, 16))  # October whole, two half months
# kind, zone, direction, max quantity, max events - 1, max charge, probability per line and day
PROFILE = [
    ("voice", "domestic", "out", 1800, 3, 1.5, 0.9),
    ("voice", "domestic", "in", 1800, 2, 0.0, 0.6),
    ("sms", "domestic", "out", 5, 2, 0.3, 0.3),
    ("data", "domestic", "out", 300_000_000, 2, 0.0, 0.8),
    ("data", "eu", "out", 200_000_000, 2, 2.0, 0.01),
    ("voice", "world", "out", 600, 1, 8.0, 0.005),
]


def reports_target(name: str) -> Target:
    return own_target(name, "reports.sqlite3", SCHEMA)


def _marker(name: str):
    return DATA_DIR / f"reports-{name}-data.json"


def _existing(name: str, lines: int) -> dict | None:
    path = _marker(name)
    if path.exists():
        data = json.loads(path.read_text())
        if data.get("lines") == lines and "monthly_rows" in data:
            return data
    return None


def _rollup(rt: Runtime, customer_id: int) -> int:
    """The monthly rollup of the generated daily totals, as migration 0017 fills it."""
    with rt.db.session_scope() as s:
        usage_rollup.refresh(s, customer_id=customer_id)
    with rt.db.engine.begin() as conn:
        conn.execute(
            text("ANALYZE usage_monthly" if rt.db.engine.name == "postgresql" else "ANALYZE")
        )
        return conn.scalar(select(func.count()).select_from(UsageMonthly))


def _fleet(rt: Runtime, lines: int) -> int:
    with rt.db.session_scope() as s:
        customer = Customer(
            number="B0000002",
            name="Bench Reports S.A.",
            nip="5260001253",
            street="ul. Testowa 2",
            postal_code="00-001",
            city="Warszawa",
        )
        s.add(customer)
        tariffs = [
            TariffPlan(code=f"BR{i}", name=f"Biznes {i}", monthly_fee=Decimal("49.99"))
            for i in range(4)
        ]
        s.add_all(tariffs)
        s.flush()
        root = add_unit(s, customer.id, "Bench Reports S.A.")
        leaves = []
        for a in range(10):
            division = add_unit(s, customer.id, f"Pion {a}", root)
            for b in range(10):
                dept = add_unit(s, customer.id, f"Dział {a}.{b}", division)
                for c in range(10):
                    leaves.append(add_unit(s, customer.id, f"Zespół {a}.{b}.{c}", dept))
        s.flush()
        rnd = random.Random(lines)
        rows = []
        for n in range(lines):
            unit = leaves[rnd.randrange(len(leaves))]
            rows.append(
                {
                    "customer_id": customer.id,
                    "unit_id": unit.id,
                    "unit_path": unit.path,
                    "msisdn": f"+48710{n:06d}",
                    "tariff_id": tariffs[n % 4].id,
                    "iccid": f"8948017{n:012d}",
                    "imsi": f"26002{n:010d}",
                    "imei": f"35000000{n:07d}",
                    "svc_roaming": n % 3 == 0,
                }
            )
        for i in range(0, len(rows), 5000):
            s.execute(insert(Line), rows[i : i + 5000])
        return customer.id


def _usage_postgres(rt: Runtime, customer_id: int) -> None:
    values = ", ".join(
        f"('{k}', '{z}', '{d}', {q}, {e}, {c}, {p})" for k, z, d, q, e, c, p in PROFILE
    )
    # Only constants of this module go into the text. The draw refers to the line and the day,
    # so that it is made per line and day (a condition on the profile alone is drawn once per
    # profile; one on the line and the profile, once per line: every day or never).
    sql = f"""
        INSERT INTO usage_daily
            (line_id, day, kind, zone, direction, customer_id, quantity, events, charge)
        SELECT l.id, d.day, k.kind, k.zone, k.direction, l.customer_id,
               (1 + random() * k.q)::bigint, (1 + random() * k.e)::int,
               round((random() * k.c)::numeric, 2)
        FROM line l
        CROSS JOIN (SELECT generate_series(date '{FIRST}', date '{FIRST + timedelta(DAYS - 1)}',
                                           interval '1 day')::date AS day) d
        CROSS JOIN (VALUES {values}) AS k(kind, zone, direction, q, e, c, p)
        WHERE l.customer_id = :cid AND random() < k.p + 0 * (l.id + (d.day - date '{FIRST}'))
    """  # noqa: S608
    with rt.db.engine.begin() as conn:
        conn.execute(text(sql), {"cid": customer_id})
        conn.execute(text("ANALYZE usage_daily"))
        conn.execute(text("ANALYZE line"))
        conn.execute(text("ANALYZE org_unit"))


def _usage_sqlite(rt: Runtime, customer_id: int) -> None:
    rnd = random.Random(1)
    with rt.db.session_scope() as s:
        ids = list(s.scalars(select(Line.id).where(Line.customer_id == customer_id)))
    batch = []
    with rt.db.engine.begin() as conn:
        for line_id in ids:
            for n in range(DAYS):
                day = FIRST + timedelta(days=n)
                for kind, zone, direction, q, e, c, p in PROFILE:
                    if rnd.random() < p:
                        batch.append(
                            {
                                "line_id": line_id,
                                "day": day,
                                "kind": kind,
                                "zone": zone,
                                "direction": direction,
                                "customer_id": customer_id,
                                "quantity": 1 + int(rnd.random() * q),
                                "events": 1 + int(rnd.random() * e),
                                "charge": Decimal(int(rnd.random() * c * 100)) / 100,
                            }
                        )
            if len(batch) >= 50_000:
                conn.execute(insert(UsageDaily), batch)
                batch = []
        if batch:
            conn.execute(insert(UsageDaily), batch)
        conn.execute(text("ANALYZE"))


def prepare(name: str, lines: int) -> tuple[Target, dict] | None:
    tgt = reports_target(name)
    if name == "postgres" and (reason := postgres_reachable(tgt)):
        log(f"postgres: skipped ({reason})")
        return None
    data = _existing(name, lines)
    if data is not None:
        return tgt, data
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    reset(tgt)
    migrate.upgrade(tgt.url)
    rt = Runtime(tgt.settings())
    customer_id = _fleet(rt, lines)
    log(f"{name}: {lines:,} lines; generating daily usage")
    (_usage_postgres if name == "postgres" else _usage_sqlite)(rt, customer_id)
    log(f"{name}: monthly rollup")
    monthly_rows = _rollup(rt, customer_id)
    with rt.db.session_scope() as s:
        rows, events = s.execute(
            select(func.count(), func.sum(UsageDaily.events)).where(
                UsageDaily.customer_id == customer_id
            )
        ).one()
    rt.db.engine.dispose()
    data = {
        "lines": lines,
        "customer_id": customer_id,
        "daily_rows": int(rows),
        "events": int(events or 0),
        "monthly_rows": monthly_rows,
        "generated_in_s": round(time.perf_counter() - started),
    }
    _marker(name).write_text(json.dumps(data, indent=2))
    return tgt, data


class SessionCpu:
    """CPU seconds of this process and of the session's own PostgreSQL backend (found by its
    pid, so that other benchmarks' backends running at the same time do not count)."""

    def __init__(self, session) -> None:
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.pid = session.scalar(text("SELECT pg_backend_pid()")) if self.postgres else None

    def _now(self) -> float:
        return time.process_time() + (process_cpu(self.pid) if self.pid else 0.0)

    def start(self) -> None:
        self.started = self._now()

    def stop(self) -> float:
        return self._now() - self.started


def _serial_cpu(session, meter: SessionCpu, call, times: int) -> float:
    """CPU seconds per call. PostgreSQL's parallel workers come and go within a query, out of
    the meter's sight, so this pass runs without them: all the work is then the backend's."""
    if meter.postgres:
        session.execute(text("SET max_parallel_workers_per_gather = 0"))
    meter.start()
    for _ in range(times):
        call()
    used = meter.stop() / times
    if meter.postgres:
        session.execute(text("RESET max_parallel_workers_per_gather"))
    return round(used, 3)


def measure(name: str, lines: int, repeat: int = 20) -> dict:
    prepared = prepare(name, lines)
    if prepared is None:
        return {"skipped": "PostgreSQL not reachable"}
    tgt, data = prepared
    rt = Runtime(tgt.settings())
    from flask_babel import force_locale

    import portal

    app = portal.create_app(rt)
    scope = FleetScope(data["customer_id"])
    result = {"database": name, **data}
    with app.test_request_context(), force_locale("pl"), rt.db.session_scope() as s:
        usage_report.subtree_figures(s, scope, MONTH)  # warm the caches
        meter = SessionCpu(s)
        division = s.scalar(
            select(OrgUnit.path).where(OrgUnit.customer_id == scope.customer_id, OrgUnit.depth == 1)
        )
        runs = {
            "unit_subtree": (repeat, lambda: usage_report.subtree_figures(s, scope, MONTH)),
            "unit_page": (
                max(3, repeat // 4),
                lambda: usage_report.build(s, scope, MONTH, "unit"),
            ),
            "unit_page_division": (
                max(3, repeat // 4),
                lambda: usage_report.build(
                    s, FleetScope(scope.customer_id, unit_path=division), MONTH, "unit"
                ),
            ),
            "unit_page_range": (
                3,
                lambda: usage_report.build(s, scope, RANGE, "unit"),
            ),
        }
        answers = {}
        for key, (times, call) in runs.items():
            timings = []
            for _ in range(times):
                started = time.perf_counter()
                answers[key] = call()
                timings.append(time.perf_counter() - started)
            result[f"{key}_p50_s"] = round(percentile(timings, 50), 3)
            result[f"{key}_p95_s"] = round(percentile(timings, 95), 3)
            result[f"{key}_cpu_s"] = _serial_cpu(s, meter, call, min(times, 5))
        report = answers["unit_page"]
        result["units"] = len(report.groups)
        assert 0 < len(answers["unit_subtree"]) <= len(report.groups)

        params = {
            "report": "sim",
            "scope": documents.scope_params(scope),
            "fmt": "xlsx",
            "with_codes": False,
            "locale": "pl",
        }
        out = io.BytesIO()
        meter.start()
        started = time.perf_counter()
        rows = documents.write(s, params, out)
        result["sim_xlsx_rows"] = rows
        result["sim_xlsx_s"] = round(time.perf_counter() - started, 2)
        result["sim_xlsx_cpu_s"] = round(meter.stop(), 2)
        result["sim_xlsx_mb"] = round(len(out.getvalue()) / 1e6, 1)

        params = {
            "report": "usage",
            "scope": documents.scope_params(scope),
            "period": MONTH.as_params(),
            "group_by": "unit",
            "fmt": "pdf",
            "locale": "pl",
        }
        out = io.BytesIO()
        warm = documents.Table("x", "", [], [])
        documents.tables.write_pdf(io.BytesIO(), warm, decimal_comma=True)  # fonts loaded
        meter.start()
        started = time.perf_counter()
        documents.write(s, params, out)
        result["unit_pdf_s"] = round(time.perf_counter() - started, 2)
        result["unit_pdf_cpu_s"] = round(meter.stop(), 2)
        result["unit_pdf_kb"] = round(len(out.getvalue()) / 1e3)
    rt.db.engine.dispose()
    result["load_average"] = [round(x, 1) for x in os.getloadavg()]
    (DATA_DIR / f"reports-{name}.json").write_text(json.dumps(result, indent=2))
    return result


def run(db: str, lines: int | None = None, sqlite_lines: int | None = None) -> dict:
    results = {}
    for name in ("postgres", "sqlite") if db == "both" else (db,):
        n = (lines or 50_000) if name == "postgres" else (sqlite_lines or lines or 5_000)
        log(f"{name}: reports on {n:,} lines")
        results[name] = measure(name, n)
        log(f"{name}: {results[name]}")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--lines", type=int, default=None)
    args = parser.parse_args(argv)
    run(args.db, args.lines)


if __name__ == "__main__":
    main()
