"""RESULTS.md: the figures of the latest full-scale run per database, against the targets.

Each run stores its figures per database and per part in ``bench/data/results-<db>.json``
(a part measured again replaces the old one); RESULTS.md is rendered from those files. The
hand-written analysis below the marker line of RESULTS.md is kept as it is.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.common import BENCH_DIR, DATA_DIR

RESULTS = BENCH_DIR / "RESULTS.md"
MARKER = "<!-- Everything below this line is written by hand and kept by bench.run. -->"
TITLES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}

LATENCY_TARGET_MS = 50
RATIO_TARGET = 0.4
TARGETS_S = {"move": 5, "export_csv": 3, "export_xlsx": 15, "import": 10}


def run_stamp(command: str) -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=BENCH_DIR.parent, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {
        "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git("rev-parse", "--short", "HEAD") or "unknown",
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "command": command,
        "load": _loadavg(),
    }


def load_1m() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 1024**2:.0f} GiB RAM"
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPU ({cpu}){memory}, {platform.system()} {platform.release()}, "
        f"Python {sys.version.split()[0]}"
    )


def store(database: str, scale: float, parts: dict, info: dict) -> Path:
    """Merge this run's parts into the database's results file (full scale) or a scratch one."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    name = f"results-{database}.json" if scale == 1 else f"results-{database}-scale-{scale}.json"
    path = DATA_DIR / name
    old = json.loads(path.read_text()) if path.exists() else {}
    if old.get("scale") != scale:
        old = {}
    merged = {
        "scale": scale,
        "info": {**old.get("info", {}), **info},
        "parts": old.get("parts", {}),
    }
    merged["parts"].update(parts)
    path.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    return path


def load(database: str, scale: float = 1.0) -> dict | None:
    name = f"results-{database}.json" if scale == 1 else f"results-{database}-scale-{scale}.json"
    path = DATA_DIR / name
    return json.loads(path.read_text()) if path.exists() else None


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("**pass**" if ok else "**FAIL**")


def _stamp(part: dict) -> str:
    run = part.get("run", {})
    dirty = " + uncommitted changes" if run.get("dirty") else ""
    load = part.get("load") or run.get("load")
    return f"{run.get('at', '?')}, commit `{run.get('commit', '?')}`{dirty}, load average {load}"


def _row(what, measured, cpu, target, ok, cpu_ok, part) -> str:
    load = (part or {}).get("load", "")
    return (
        f"| {what} | {measured} | {cpu} | {target} | {_verdict(ok)} | {_verdict(cpu_ok)} | {load} |"
    )


def _summary_rows(parts: dict) -> list[str]:
    rows = []
    latency = parts.get("latency")
    limit = f"≤ {LATENCY_TARGET_MS} ms"
    if latency and "mode" in latency:
        field = "page_ms" if latency["mode"] == "page" else "service_ms"
        what = "server time" if latency["mode"] == "page" else "service time only"
        for sc in latency["scenarios"]:
            t = sc[field]
            cpu = t.get("cpu")
            rows.append(
                _row(
                    f"fleet list: {sc['label']} — {what} p95",
                    f"{t['p95']:.1f} ms (p50 {t['p50']:.1f})",
                    f"{cpu:.1f} ms" if cpu is not None else "—",
                    limit,
                    t["p95"] <= LATENCY_TARGET_MS,
                    None if cpu is None else cpu <= LATENCY_TARGET_MS,
                    latency,
                )
            )
    else:
        reason = (latency or {}).get("skipped", "not run")
        what = "fleet list server time p95"
        rows.append(_row(what, f"not measured: {reason}", "—", limit, None, None, latency))
    tp = parts.get("throughput")
    what, limit = "fleet page throughput / bare Flask", f"≥ {RATIO_TARGET}"
    if tp and "ratio" in tp:
        measured = f"{tp['ratio']:.3f} ({tp['app']['rps']:.1f} / {tp['bare']['rps']:.0f} req/s)"
        cpu_ratio = tp.get("cpu_ratio")
        cpu = "—"
        if cpu_ratio is not None:
            cpu = (
                f"{cpu_ratio:.3f} ({tp['bare']['cpu_ms_per_request']:.2f} / "
                f"{tp['app']['cpu_ms_per_request']:.1f} ms a request)"
            )
        cpu_ok = None if cpu_ratio is None else cpu_ratio >= RATIO_TARGET
        rows.append(_row(what, measured, cpu, limit, tp["ratio"] >= RATIO_TARGET, cpu_ok, tp))
    else:
        reason = (tp or {}).get("skipped", "not run")
        rows.append(_row(what, f"not measured: {reason}", "—", limit, None, None, tp))
    for key, label in (
        ("move", "bulk move of ~10,000 lines (commit included)"),
        ("export_csv", "CSV export of 50,000 lines"),
        ("export_xlsx", "XLSX export of 50,000 lines"),
        ("import", "import of 10,000 rows"),
    ):
        part = parts.get(key)
        target = TARGETS_S[key]
        limit = f"≤ {target} s"
        if part and "seconds" in part:
            extra = f" ({part['note']})" if part.get("note") else ""
            cpu = part.get("cpu_seconds")
            rows.append(
                _row(
                    label,
                    f"{part['seconds']:.2f} s{extra}",
                    f"{cpu:.2f} s" if cpu is not None else "—",
                    limit,
                    part["seconds"] <= target,
                    None if cpu is None else cpu <= target,
                    part,
                )
            )
        else:
            reason = (part or {}).get("skipped", "not run")
            rows.append(_row(label, f"not measured: {reason}", "—", limit, None, None, part))
    from bench import order_report

    return rows + order_report.summary_rows(parts, _row)


def _details(parts: dict) -> list[str]:
    out = []
    latency = parts.get("latency")
    if latency and "mode" in latency:
        out += [
            "",
            f"Fleet list, {latency['requests']} requests per scenario after a warm-up "
            f"({_stamp(latency)}), times in ms. *Page*: the whole request through the Flask "
            "test client, with the mean time spent in SQL statements (and their number) and in "
            "rendering templates; *query*: `services.fleet.page()` alone (rows and total, no "
            "template). CPU: mean per request, this process plus the database backends. SQL "
            "time is taken around the driver's `execute`: on SQLite, rows stepped through later "
            "while fetching are not in it, so there it is a lower bound.",
            "",
            "| scenario | URL | page p50 | page p95 | page CPU | of it SQL (statements) "
            "| of it template | query p50 | query p95 | query CPU |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for sc in latency["scenarios"]:
            p, q = sc.get("page_ms"), sc["service_ms"]
            url = sc.get("url", "—")
            if len(url) > 40:
                url = url[:37] + "…"
            page_cells = "— | — | — | — | —"
            if p:
                sql = f"{p['sql_ms']:.1f} ({p['queries']:g})" if "sql_ms" in p else "—"
                template = f"{p['template_ms']:.1f}" if "template_ms" in p else "—"
                page_cells = (
                    f"{p['p50']:.1f} | {p['p95']:.1f} | {p.get('cpu', '—')} | {sql} | {template}"
                )
            out.append(
                f"| {sc['label']} | `{url}` | {page_cells} | {q['p50']:.1f} | {q['p95']:.1f} "
                f"| {q.get('cpu', '—')} |"
            )
    tp = parts.get("throughput")
    if tp and "ratio" in tp:
        out += [
            "",
            f"Throughput ({_stamp(tp)}): gunicorn, 2 sync workers, 127.0.0.1; `wrk -t"
            f"{tp['wrk_threads']} -c{tp['connections']} -d{tp['seconds']}s`, signed in; page "
            f"{tp['page_bytes']:,} bytes.",
            "",
            "| server | req/s | latency p50 | latency p99 | requests | not 200 | CPU a request |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for key, label in (("app", "Asystent `/fleet/`"), ("bare", "bare Flask, same HTML")):
            r = tp[key]
            out.append(
                f"| {label} | {r['rps']:.1f} | {r['latency_p50_ms']} ms | {r['latency_p99_ms']} ms"
                f" | {r['requests']} | {r['not_200']} | {r.get('cpu_ms_per_request', '—')} ms |"
            )
    move = parts.get("move")
    if move:
        out += [
            "",
            f"Bulk move ({_stamp(move)}): {move['selected']:,} lines selected by a filter, "
            f"{move['moved']:,} moved (the rest were already in the target unit).",
        ]
    for key, label in (
        ("export_csv", "CSV export"),
        ("export_xlsx", "XLSX export"),
        ("import", "Import"),
    ):
        part = parts.get(key)
        if part and "seconds" in part:
            out += ["", f"{label} ({_stamp(part)}): {part['note']}."]
    return out


def _order_details(parts: dict, info: dict) -> list[str]:
    from bench import order_report

    return order_report.details(parts, info, _stamp)


def render(command: str, scale: float = 1.0) -> Path:
    """Write RESULTS.md from the stored full-scale results, keeping the hand-written part; a
    run at another scale goes to ``bench/data/RESULTS-scale-<scale>.md`` instead."""
    target = RESULTS if scale == 1 else DATA_DIR / f"RESULTS-scale-{scale}.md"
    kept = ""
    if target.exists() and MARKER in target.read_text():
        kept = target.read_text().split(MARKER, 1)[1]
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`.venv/bin/python -m bench.run`); see `bench/README.md` for "
        "what each figure means and how the data is generated.",
    ]
    for database in ("postgres", "sqlite"):
        stored = load(database, scale)
        if not stored:
            continue
        info = stored["info"]
        lines += [
            "",
            f"## {TITLES[database]}",
            "",
            f"- Database: {info.get('version', '?')}",
            f"- Machine: {info.get('machine', '?')}",
            f"- Data: {info.get('data', '?')}",
            f"- Last run: {info.get('at', '?')}, commit `{info.get('commit', '?')}`"
            + (" + uncommitted changes" if info.get("dirty") else "")
            + f", load average at start {info.get('load', '?')}",
            f"- Command: `{info.get('command', command)}`",
            "",
            "| what | measured (wall time) | CPU time | target | result | result by CPU time "
            "| load average, 1 min (before → after) |",
            "|---|---|---|---|---|---|---|",
            *_summary_rows(stored["parts"]),
            *_details(stored["parts"]),
            *_order_details(stored["parts"], info),
        ]
    lines += ["", MARKER]
    if scale != 1:
        lines.insert(2, f"**Scale {scale}: a quick run, not the recorded figures.**\n")
    target.write_text("\n".join(lines) + (kept if kept else "\n"))
    return target
