"""Report speed: the monthly usage report by unit with subtree totals (p95), the XLSX of the
SIM configuration report (one row per line) and the PDF of the unit summary.

Data: one customer with ``--lines`` lines (default 50,000) in a tree of 1,111 units
(10 × 10 × 10 under a root), and three months (September–November 2026) of daily usage
totals. The totals are generated directly in ``usage_daily`` (one set-based INSERT on
PostgreSQL, batched inserts on SQLite), not through the event ingestion: the reports read only
``usage_daily``, and ingestion has its own benchmark (bench/usage.py). About 2.6 daily rows per
line and day standing for about 5.8 events per line and day (≥ 15 million events for 50,000
lines over 91 days). PostgreSQL: schema ``bench_reports`` of the ``test`` database, recreated
when the data set changes; SQLite: ``bench/data/reports.sqlite3`` (default 5,000 lines).

    .venv/bin/python -m bench.reports                   # both databases
    .venv/bin/python -m bench.reports --db sqlite --lines 2000

Figures are written to ``bench/data/reports-<db>.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import time
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from bench.common import DATA_DIR, Target, log, percentile, postgres_reachable, remove_sqlite_files
from bench.common import target as base_target
from bench.cpu import APPLICATION_NAME
from core import migrate
from core.runtime import Runtime
from models import Customer, Line, TariffPlan, UsageDaily
from services.fleet_query import FleetScope
from services.orgtree import add_unit
from services.reports import documents, usage_report
from services.reports.period import Period

SCHEMA = "bench_reports"
FIRST, DAYS = date(2026, 9, 1), 91
MONTH = Period(date(2026, 11, 1), date(2026, 12, 1))
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
    if name == "sqlite":
        return Target("sqlite", f"sqlite:///{DATA_DIR / 'reports.sqlite3'}")
    base = base_target("postgres")
    url = make_url(base.database_url).update_query_dict(
        {"options": f"-csearch_path={SCHEMA}", "application_name": APPLICATION_NAME}
    )
    return Target("postgres", url.render_as_string(hide_password=False), SCHEMA)


def _reset(tgt: Target) -> None:
    if tgt.name == "sqlite":
        remove_sqlite_files(tgt)
        return
    from sqlalchemy import create_engine

    engine = create_engine(tgt.url.split("?")[0])
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    engine.dispose()


def _marker(name: str):
    return DATA_DIR / f"reports-{name}-data.json"


def _existing(name: str, lines: int) -> dict | None:
    path = _marker(name)
    if path.exists():
        data = json.loads(path.read_text())
        if data.get("lines") == lines:
            return data
    return None


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
    # Only constants of this module go into the text. The draw refers to the line, so that it
    # is made per line and day (a condition on the profile alone is drawn once per profile).
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
        WHERE l.customer_id = :cid AND random() < k.p + 0 * l.id
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
    _reset(tgt)
    migrate.upgrade(tgt.url)
    rt = Runtime(tgt.settings())
    customer_id = _fleet(rt, lines)
    log(f"{name}: {lines:,} lines; generating daily usage")
    (_usage_postgres if name == "postgres" else _usage_sqlite)(rt, customer_id)
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
        "generated_in_s": round(time.perf_counter() - started),
    }
    _marker(name).write_text(json.dumps(data, indent=2))
    return tgt, data


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
        timings, full = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            figures = usage_report.subtree_figures(s, scope, MONTH)
            timings.append(time.perf_counter() - started)
        for _ in range(max(3, repeat // 4)):
            started = time.perf_counter()
            report = usage_report.build(s, scope, MONTH, "unit")
            full.append(time.perf_counter() - started)
        result["units"] = len(report.groups)
        result["unit_subtree_p50_s"] = round(percentile(timings, 50), 3)
        result["unit_subtree_p95_s"] = round(percentile(timings, 95), 3)
        result["unit_page_p95_s"] = round(percentile(full, 95), 3)
        assert 0 < len(figures) <= len(report.groups)

        params = {
            "report": "sim",
            "scope": documents.scope_params(scope),
            "fmt": "xlsx",
            "with_codes": False,
            "locale": "pl",
        }
        out = io.BytesIO()
        started = time.perf_counter()
        rows = documents.write(s, params, out)
        result["sim_xlsx_rows"] = rows
        result["sim_xlsx_s"] = round(time.perf_counter() - started, 2)
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
        started = time.perf_counter()
        documents.write(s, params, out)
        result["unit_pdf_s"] = round(time.perf_counter() - started, 2)
        result["unit_pdf_kb"] = round(len(out.getvalue()) / 1e3)
    rt.db.engine.dispose()
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
