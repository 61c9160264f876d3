"""RESULTS.md rows of the ordering parts (``drain``, ``order``), rendered by ``bench.report``."""

from __future__ import annotations

DRAIN_TARGET = 500  # allocations a second, PostgreSQL, 4 workers
ORDER_TARGET_MS = 150  # server time p95 of placing an order of 20 positions


def summary_rows(parts: dict, row) -> list[str]:
    rows = []
    drain = parts.get("drain")
    what = "back-order drain of 10,000 positions after one delivery"
    limit = f"≥ {DRAIN_TARGET} allocations/s"
    if drain and "drain" in drain:
        d, c = drain["drain"], drain["ceiling"]
        checks = d["checks"]
        sound = "no double allocation" if checks["ok"] else f"**CHECKS FAILED** {checks}"
        measured = (
            f"{d['rate']:,.0f}/s ({d['allocations']:,} in {d['allocated_s']:.2f} s, "
            f"{drain['workers']} workers; {sound}); bare statement {c['rate']:,.0f}/s, "
            f"ratio {drain['ratio']}"
        )
        cpu = "—"
        if d.get("cpu_rate"):
            cpu = f"{d['cpu_rate']:,.0f}/s of CPU ({d['cpu_s']:.1f} s); ratio {drain['cpu_ratio']}"
        ok = d["rate"] >= DRAIN_TARGET and checks["ok"]
        cpu_ok = None if not d.get("cpu_rate") else d["cpu_rate"] >= DRAIN_TARGET and checks["ok"]
        rows.append(row(what, measured, cpu, limit, ok, cpu_ok, drain))
    else:
        reason = (drain or {}).get("skipped", "not run")
        rows.append(row(what, f"not measured: {reason}", "—", limit, None, None, drain))
    order = parts.get("order")
    what = "placing an order of 20 positions — server time p95"
    limit = f"≤ {ORDER_TARGET_MS} ms"
    if order and "server_ms" in order:
        t = order["server_ms"]
        rows.append(
            row(
                what,
                f"{t['p95']:.1f} ms (p50 {t['p50']:.1f})",
                f"{t['cpu']:.1f} ms (p95 {t['cpu_p95']:.1f})",
                limit,
                t["p95"] <= ORDER_TARGET_MS,
                t["cpu_p95"] <= ORDER_TARGET_MS,
                order,
            )
        )
    else:
        reason = (order or {}).get("skipped", "not run")
        rows.append(row(what, f"not measured: {reason}", "—", limit, None, None, order))
    return rows


def details(parts: dict, info: dict, stamp) -> list[str]:
    out = []
    drain, order = parts.get("drain"), parts.get("order")
    if (drain and "drain" in drain) or (order and "server_ms" in order):
        out += ["", f"Ordering data: {info.get('orders_data', '?')}."]
    if drain and "drain" in drain:
        d, c, checks = drain["drain"], drain["ceiling"], drain["drain"]["checks"]
        jobs = ", ".join(f"{j['outcome']} {j['allocations']:,}" for j in d.get("jobs", []))
        out += [
            "",
            f"Drain ({stamp(drain)}): one delivery of {drain['lines']:,} units reported three "
            f"times (counted once: {checks['receipts']} receipt), {drain['workers']} `rq` "
            f"worker process(es), one drain job each (allocations per job: {jobs or '?'}). "
            f"All {d['allocations']:,} positions allocated {d['allocated_s']:.2f} s after the "
            f"delivery's commit; every order told (audit, state, {d['mails_queued']:,} e-mails "
            f"queued) after {d['settled_s']} s. CPU of workers and database: {d['cpu_s']:.2f} s. "
            f"Checks: {checks['double_allocations']} positions over-allocated, "
            f"{checks['lines_not_matching_allocations']} not matching their allocations, "
            f"{checks['stock_rows_inconsistent']} stock rows inconsistent, "
            f"{checks['overtaken']} overtaken, {checks['untold']} untold; on hand "
            f"{checks['on_hand']:,}, reserved {checks['reserved']:,}. Ceiling: the bare "
            f"allocation statement in a loop, one transaction each, {c['allocations']:,} in "
            f"{c['seconds']:.2f} s ({c['rate']:,.0f}/s, CPU {c['cpu_s']:.2f} s).",
        ]
    if order and "server_ms" in order:
        t = order["server_ms"]
        out += [
            "",
            f"Order ({stamp(order)}): {order['requests']} orders of {order['positions']} "
            "positions (12 handsets and accessories, 4 exchanges, 4 new lines), each "
            "`POST /shop/checkout` through the Flask test client signed in as the fleet "
            f"administrator: p50 {t['p50']:.1f} ms, p95 {t['p95']:.1f} ms, max {t['max']:.1f} ms;"
            f" CPU {t['cpu']:.1f} ms a request (this process and the database backends); "
            f"{t['statements']:g} SQL statements a request.",
        ]
    return out
