"""Where a fleet page spends its database time, and what an index would change.

For each latency scenario the SQL statements of one request are captured (an engine event),
then each is timed alone (median of 10) and its plan written out: ``EXPLAIN (ANALYZE,
BUFFERS)`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite. With ``--what-if`` the statements
are timed again inside a transaction that first makes the candidate changes of
``bench.whatif.VARIANTS``, then rolled back: the bench data is left as it was.

    python -m bench.plans --db postgres --what-if     # writes bench/data/plans-postgres.md
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import contextmanager

from sqlalchemy import event

from bench import fleet, generate
from bench.common import DATA_DIR, log, target
from bench.whatif import VARIANTS
from core.runtime import Runtime


@contextmanager
def captured(engine):
    statements: list[tuple[str, object]] = []

    def before(_conn, _cursor, statement, parameters, _context, executemany):
        if not executemany and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _median_ms(conn, statement, parameters, runs: int = 10) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        conn.exec_driver_sql(statement, parameters).fetchall()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _plan(conn, statement, parameters) -> str:
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return "\n".join(r[0] for r in rows)
    depth, lines = {0: -1}, []
    for node, parent, _unused, detail in conn.exec_driver_sql(
        "EXPLAIN QUERY PLAN " + statement, parameters
    ):
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return "\n".join(lines)


def analyse(db_name: str, what_if: bool) -> str:
    tgt = target(db_name)
    data = generate.ensure(tgt, 1.0)
    rt = Runtime(tgt.settings())
    app = fleet.portal_app(rt)
    page_mode = fleet.has_fleet_page(app)
    client = fleet.signed_in_client(app, data) if page_mode else None
    out = [f"# Query plans: {db_name}", ""]
    for sc in fleet.scenarios(rt, data):
        with captured(rt.db.engine) as statements:
            if page_mode and client.get(fleet.page_url(sc.params)).status_code == 200:
                source = "page " + fleet.page_url(sc.params)
            else:
                statements.clear()
                fleet.service_call(rt, data, sc.params)
                source = "services.fleet.page()"
        out += [f"## {sc.label}", "", f"{len(statements)} statements ({source})", ""]
        with rt.db.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            timed = [(_median_ms(conn, s, p), s, p) for s, p in statements]
            timed.sort(key=lambda t: -t[0])
            out.append("| ms (alone) | statement |")
            out.append("|---:|---|")
            for ms, s, _p in timed:
                out.append(f"| {ms:.2f} | `{' '.join(s.split())[:140]}` |")
            for ms, s, p in timed[:2]:
                out += ["", f"Plan of the {ms:.1f} ms statement:", "", "```", _plan(conn, s, p)]
                out += ["```", "", "<details><summary>SQL</summary>", "", "```sql", s, "```"]
                out += ["", f"parameters: `{p}`", "", "</details>", ""]
            out += ["", f"Database time of the request: {sum(t[0] for t in timed):.1f} ms", ""]
            if what_if:
                out += _what_if(conn, timed)
        log(f"{db_name}: {sc.label}: {len(statements)} statements")
    rt.db.engine.dispose()
    return "\n".join(out) + "\n"


def _what_if(conn, timed: list) -> list[str]:
    out = []
    for variant, ddls, _undo in VARIANTS[conn.dialect.name]:
        conn.rollback()
        trans = conn.begin()
        try:
            for ddl in ddls:
                # VACUUM cannot run in a transaction; ANALYZE (in the same line) still does.
                conn.exec_driver_sql(ddl.removeprefix("VACUUM "))
            after = [(_median_ms(conn, s, p), s, p) for _ms, s, p in timed[:3]]
            out += ["", f"What if: **{variant}** (rolled back afterwards)", ""]
            for (ms, s, _p), (new, _s, _p2) in zip(timed, after, strict=False):
                out.append(f"- {ms:.2f} ms → {new:.2f} ms: `{' '.join(s.split())[:90]}`")
            slowest = max(after, key=lambda t: t[0])
            out += ["", f"Plan of the slowest ({slowest[0]:.1f} ms) with it:", "", "```"]
            out += [_plan(conn, slowest[1], slowest[2]), "```"]
        finally:
            trans.rollback()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--what-if", action="store_true", help="also try candidate indexes")
    args = parser.parse_args(argv)
    for name in ("postgres", "sqlite") if args.db == "both" else (args.db,):
        path = DATA_DIR / f"plans-{name}.md"
        path.write_text(analyse(name, args.what_if))
        log(f"{name}: plans written to {path}")


if __name__ == "__main__":
    main()
