"""Candidate indexes for the fleet list, and what the page would take with them.

``VARIANTS`` lists, per database, schema changes to try: the statements that make them and
those that undo them. ``bench.plans --what-if`` times single statements with a variant
inside a transaction that is rolled back. This module's ``main`` goes further: it measures
the real page (as ``bench.fleet`` does) before, then with each variant applied and committed,
and undoes it afterwards, so the bench schema ends as it began.

    python -m bench.whatif --db postgres      # writes bench/data/whatif-postgres.md
"""

from __future__ import annotations

import argparse

from sqlalchemy import text

from bench import fleet, generate
from bench.common import DATA_DIR, log, target
from core.runtime import Runtime

_PG_PATH = [
    # The column in byte order (as org_unit.path), so the subtree range is an index range
    # whatever the database's default collation.
    'ALTER TABLE line ALTER COLUMN unit_path TYPE varchar(400) COLLATE "C"',
    "CREATE INDEX bench_ix_line_path ON line (customer_id, unit_path, status)",
    # What autovacuum does soon: statistics and the visibility map (index-only scans).
    "VACUUM ANALYZE line",
]
_PG_PATH_UNDO = [
    "DROP INDEX IF EXISTS bench_ix_line_path",
    'ALTER TABLE line ALTER COLUMN unit_path TYPE varchar(400) COLLATE "default"',
]
_TRGM = (("line", "msisdn"), ("employee", "full_name"), ("employee", "email"))
_PG_TRGM = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    *[
        f"CREATE INDEX bench_ix_{table}_{col}_trgm ON {table} USING gin ({col} gin_trgm_ops)"
        for table, col in _TRGM
    ],
    "VACUUM ANALYZE employee",
]
_PG_TRGM_UNDO = [f"DROP INDEX IF EXISTS bench_ix_{table}_{col}_trgm" for table, col in _TRGM]
_SQLITE_ANALYZE = ["ANALYZE"]
_SQLITE_PATH = ["CREATE INDEX bench_ix_line_path ON line (customer_id, unit_path, status)"]
_SQLITE_MSISDN = ["CREATE INDEX bench_ix_line_msisdn ON line (customer_id, msisdn, status)"]
_SQLITE_UNDO = [
    "DROP INDEX IF EXISTS bench_ix_line_path",
    "DROP INDEX IF EXISTS bench_ix_line_msisdn",
    "DROP TABLE IF EXISTS sqlite_stat1",
    "DROP TABLE IF EXISTS sqlite_stat4",
]

# dialect -> [(name, statements, undo statements)]
VARIANTS = {
    "postgresql": [
        (
            'line.unit_path COLLATE "C"; line (customer_id, unit_path, status)',
            _PG_PATH,
            _PG_PATH_UNDO,
        ),
        (
            "that + pg_trgm GIN on line.msisdn, employee.full_name, employee.email",
            _PG_PATH + _PG_TRGM,
            _PG_TRGM_UNDO + _PG_PATH_UNDO,
        ),
    ],
    "sqlite": [
        ("ANALYZE (statistics only)", _SQLITE_ANALYZE, _SQLITE_UNDO),
        ("line (customer_id, unit_path, status)", _SQLITE_PATH, _SQLITE_UNDO),
        (
            "line (customer_id, unit_path, status) + line (customer_id, msisdn, status) + ANALYZE",
            _SQLITE_PATH + _SQLITE_MSISDN + _SQLITE_ANALYZE,
            _SQLITE_UNDO,
        ),
    ],
}


def _run(engine, statements: list[str]) -> None:
    for statement in statements:
        if statement.startswith("VACUUM"):  # PostgreSQL: not inside a transaction
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(statement))
        else:
            with engine.begin() as conn:
                conn.execute(text(statement))


def _row(label: str, before: dict, after: dict) -> str:
    b = before.get("page_ms") or before["service_ms"]
    a = after.get("page_ms") or after["service_ms"]
    return (
        f"| {label} | {b['p50']:.1f} / {b['p95']:.1f} / {b['cpu']:.1f} "
        f"| {a['p50']:.1f} / {a['p95']:.1f} / {a['cpu']:.1f} |"
    )


def compare(db_name: str, requests: int = 20) -> str:
    tgt = target(db_name)
    data = generate.ensure(tgt, 1.0)
    rt = Runtime(tgt.settings())
    app = fleet.portal_app(rt)
    engine = rt.db.engine
    had_trgm = False
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            found = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"))
            had_trgm = found.scalar() is not None
    out = [f"# The fleet page with candidate indexes: {db_name}", ""]
    out.append(f"{requests} requests per scenario; p50 / p95 / CPU per request, in ms.")
    before = fleet.measure(tgt, data, app, rt, requests=requests, warmup=3)
    for name, statements, undo in VARIANTS[engine.dialect.name]:
        log(f"{db_name}: trying {name}")
        try:
            _run(engine, statements)
            engine.dispose()  # new connections see the new schema and statistics
            after = fleet.measure(tgt, data, app, rt, requests=requests, warmup=3)
        finally:
            _run(engine, undo)
            if engine.dialect.name == "postgresql" and not had_trgm:
                _run(engine, ["DROP EXTENSION IF EXISTS pg_trgm"])
            engine.dispose()
        out += ["", f"## {name}", "", "| scenario | now | with it |", "|---|---:|---:|"]
        for b, a in zip(before["scenarios"], after["scenarios"], strict=True):
            out.append(_row(b["label"], b, a))
    rt.db.engine.dispose()
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args(argv)
    for name in ("postgres", "sqlite") if args.db == "both" else (args.db,):
        path = DATA_DIR / f"whatif-{name}.md"
        path.write_text(compare(name, args.requests))
        log(f"{name}: written to {path}")


if __name__ == "__main__":
    main()
