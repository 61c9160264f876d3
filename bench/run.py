"""``make bench``: generate (or reuse) the data, measure the fleet, write bench/RESULTS.md.

    .venv/bin/python -m bench.run                       # both databases, everything
    .venv/bin/python -m bench.run --db sqlite --only latency,move
    .venv/bin/python -m bench.run --scale 0.1           # a quick run on a tenth of the data

Parts: ``latency`` (fleet list server time), ``throughput`` (gunicorn + wrk against a bare
Flask app), ``move`` (bulk move of ~10,000 lines), ``io`` (CSV/XLSX export, import);
``fleet`` means all of them; ``drain`` (the back-order queue) and ``order`` (placing an order)
run on their own data (``bench.ordering``); ``usage`` (usage-file ingestion, bench/usage.py,
figures in bench/data/usage-<db>.json); ``reports`` (usage report, XLSX and PDF,
bench/reports.py, figures in bench/data/reports-<db>.json). A full-scale run updates
RESULTS.md; another scale writes ``bench/data/RESULTS-scale-<scale>.md``.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sqlite3
import sys
import time
import traceback

from sqlalchemy import text

from bench import bulk, dataset, fleet, fleet_files, generate, report, throughput
from bench.common import (
    EmbeddedRedisGuard,
    Stopwatch,
    Target,
    log,
    postgres_reachable,
    settle,
    target,
)
from core.runtime import Runtime

PARTS = ("latency", "throughput", "move", "io")
ORDER_PARTS = ("drain", "order")  # bench.ordering, on their own data


def _parts(raw: str | None) -> list[str]:
    if not raw:
        return list(PARTS + ORDER_PARTS)
    chosen = []
    for item in raw.split(","):
        item = item.strip()
        if item == "fleet":
            chosen += PARTS
        elif item in ("usage", "reports"):
            continue  # their own data: see main()
        elif item in PARTS + ORDER_PARTS:
            chosen.append(item)
        else:
            raise SystemExit(
                f"--only: unknown part {item!r} (choose from fleet, usage, reports, "
                f"{', '.join(PARTS + ORDER_PARTS)})"
            )
    return [p for p in PARTS + ORDER_PARTS if p in chosen]


def _database_version(rt: Runtime) -> str:
    if rt.db.is_sqlite:
        return f"SQLite {sqlite3.sqlite_version} (file under bench/data/, WAL)"
    with rt.db.engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
    return f"PostgreSQL {version} (schema `bench`)"


def _data_line(data: dataset.Dataset, reused: bool) -> str:
    how = "reused" if reused else f"generated in {data.generated_in_s:.0f} s"
    return (
        f"{data.lines:,} lines in {data.units} units (5 levels), {data.employees:,} employees; "
        f"two other customers with {data.other_lines:,} lines between them; {how}"
    )


def wait_quiet(limit_s: int, threshold: float = 1.0) -> None:
    """On a shared machine: wait (at most ``limit_s``) until the 1-minute load is low."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and report.load_1m() > threshold:
        log(f"load average {report.load_1m():.2f}: waiting for a quieter machine")
        time.sleep(min(30, max(1, deadline - time.monotonic())))


def _part(tgt: Target, name: str, results: dict, measure, args) -> None:
    """Run one part; a part that breaks (code being built elsewhere) is recorded, not fatal."""
    wait_quiet(args.wait_quiet)
    load_before = report.load_1m()
    try:
        results[name] = measure()
    except Exception as exc:  # the run goes on with the other parts
        log(f"{tgt.name}: {name} failed:\n{traceback.format_exc()}")
        results[name] = {"skipped": f"failed with {type(exc).__name__}: {exc}"[:300]}
    results[name]["load"] = f"{load_before:.2f} → {report.load_1m():.2f}"
    settle(tgt)


def bench_database(tgt: Target, args, parts: list[str], command: str) -> None:
    guard = EmbeddedRedisGuard()
    try:
        reused = not args.regenerate and dataset.existing(tgt, args.scale) is not None
        data = generate.ensure(tgt, args.scale, force=args.regenerate)
        settle(tgt)
        rt = Runtime(tgt.settings())
        app = fleet.portal_app(rt)
        stamp = report.run_stamp(command)
        info = {
            **stamp,
            "version": _database_version(rt),
            "machine": report.machine(),
            "data": _data_line(data, reused),
        }
        results: dict = {}
        if "latency" in parts:
            _part(
                tgt,
                "latency",
                results,
                lambda: fleet.measure(
                    tgt, data, app, rt, requests=args.requests, warmup=args.warmup
                ),
                args,
            )
        if "move" in parts:
            _part(tgt, "move", results, lambda: bulk.measure(tgt, data, rt), args)
        if "io" in parts:
            files: dict = {}
            _part(tgt, "io", files, lambda: fleet_files.measure(tgt, data, rt, app), args)
            files = files["io"]
            if "skipped" in files:
                files = {key: dict(files) for key in fleet_files.PARTS}
            for key in fleet_files.PARTS:
                files[key]["load"] = files["load"]
            files.pop("load")
            results.update(files)
        rt.db.engine.dispose()
        if "throughput" in parts:
            _part(
                tgt,
                "throughput",
                results,
                lambda: throughput.measure(
                    tgt, data, seconds=args.duration, connections=args.connections
                ),
                args,
            )
        for part in results.values():
            part["run"] = stamp
        path = report.store(tgt.name, args.scale, results, info)
        log(f"{tgt.name}: figures stored in {path}")
    finally:
        guard.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--only", help="comma-separated parts: fleet, " + ", ".join(PARTS + ORDER_PARTS)
    )
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full data set")
    parser.add_argument("--requests", type=int, default=50, help="requests per scenario")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up requests per scenario")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per server")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--regenerate", action="store_true", help="generate the data anew")
    parser.add_argument(
        "--wait-quiet",
        type=int,
        default=0,
        metavar="SECONDS",
        help="before each part, wait up to this long for a 1-minute load average below 1",
    )
    args = parser.parse_args(argv)
    # Stopped with SIGTERM: leave through the finally blocks (gunicorn, embedded Redis).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not 0 < args.scale <= 1:
        parser.error("--scale must be above 0 and at most 1")
    parts = _parts(args.only)
    only = [p.strip() for p in (args.only or "").split(",")]
    if "usage" in only or not args.only:
        # Usage ingestion has its own data set and schema (bench/usage.py).
        from bench import usage

        usage.run(args.db, max(10_000, int(1_000_000 * args.scale)))
        if only == ["usage"]:
            return
    if "reports" in only or not args.only:
        # Reports have their own data set and schema (bench/reports.py).
        from bench import reports

        reports.run(
            args.db,
            max(1_000, int(50_000 * args.scale)),
            sqlite_lines=max(1_000, int(5_000 * args.scale)),
        )
        if [p for p in only if p not in ("usage", "reports")] == []:
            return
    command = ".venv/bin/python -m bench.run" + (
        " " + shlex.join(argv if argv is not None else sys.argv[1:])
        if (argv if argv is not None else sys.argv[1:])
        else ""
    )
    with Stopwatch() as watch:
        for name in ("postgres", "sqlite") if args.db == "both" else (args.db,):
            tgt = target(name)
            if name == "postgres" and (reason := postgres_reachable(tgt)):
                log(f"postgres: skipped, the server does not answer ({reason})")
                continue
            if any(p in PARTS for p in parts):
                bench_database(tgt, args, [p for p in parts if p in PARTS], command)
            if any(p in ORDER_PARTS for p in parts):
                from bench import ordering

                ordering.bench(name, args, [p for p in parts if p in ORDER_PARTS], command)
    path = report.render(command, args.scale)
    log(f"done in {watch.seconds:.0f} s; results in {path}")


if __name__ == "__main__":
    main()
