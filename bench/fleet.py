"""Fleet list server time: the real page through the Flask test client, per scenario.

Signed in as the large customer's fleet administrator (a real sign-in through the form, CSRF
token and all), each scenario's URL is requested ``warmup`` times, then ``requests`` times with
the wall time of the whole request measured (routing, session, queries, template), with the
CPU it used (``bench.cpu``) and how much of it went to SQL statements and to templates
(``Breakdown``). Beside it the same scenario is timed in ``services.fleet.page()`` alone (new
session, rows loaded, no template).

If the portal has no ``fleet.index`` endpoint yet, only the service time is measured.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, before_render_template, template_rendered
from sqlalchemy import event

from bench.common import Target, log, percentile
from bench.dataset import Dataset
from core.runtime import Runtime
from services import fleet as fl

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DEEP_PAGE = 50  # the "deep page" is page 50 of 50 lines, reached by following next links


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    params: dict


def scenarios(rt: Runtime, data: Dataset) -> list[Scenario]:
    """First page, page 50 (keyset), the last page, a subtree, a surname and a number."""
    scope = fl.FleetScope(customer_id=data.customer_id)
    with rt.db.session_scope() as session:
        after = None
        for _ in range(DEEP_PAGE - 1):
            page = fl.page(session, scope, fl.FleetFilter(), after=after, with_total=False)
            if page.is_last:
                break
            after = page.next_cursor
    return [
        Scenario("first", "first page", {}),
        Scenario("deep", f"page {DEEP_PAGE} (after=…)", {"after": after}),
        Scenario("last", "last page (last=1)", {"last": "1"}),
        Scenario(
            "subtree",
            f"subtree filter ({data.subtree_lines} lines)",
            {"unit_id": str(data.subtree_unit_id)},
        ),
        Scenario(
            "surname",
            f"search “{data.surname_fragment}” ({data.surname_matches} lines)",
            {"q": data.surname_fragment},
        ),
        Scenario(
            "number",
            f"search “{data.number_fragment}” ({data.number_matches} lines)",
            {"q": data.number_fragment},
        ),
    ]


def portal_app(rt: Runtime) -> Flask:
    """The portal alone: what ``wsgi.create_app`` serves at / (the console is only mounted at
    /admin), so a half-built console page elsewhere in the tree cannot stop the bench."""
    import portal

    return portal.create_app(rt)


def has_fleet_page(app: Flask) -> bool:
    return "fleet.index" in app.view_functions


def signed_in_client(app: Flask, data: Dataset):
    """A test client signed in through the real form, as a browser would."""
    client = app.test_client()
    page = client.get("/login")
    token = CSRF_RE.search(page.get_data(as_text=True))
    if token is None:
        raise RuntimeError("no CSRF token on the sign-in page")
    response = client.post(
        "/login",
        data={"email": data.admin_email, "password": data.password, "csrf_token": token.group(1)},
    )
    if response.status_code != 302:
        raise RuntimeError(f"sign-in as {data.admin_email} failed ({response.status_code})")
    return client


def service_call(rt: Runtime, data: Dataset, params: dict) -> int:
    scope = fl.FleetScope(customer_id=data.customer_id)
    session = rt.db.new_session()
    try:
        result = fl.page(
            session,
            scope,
            fl.FleetFilter.from_params(params),
            after=params.get("after"),
            before=params.get("before"),
            last=bool(params.get("last")),
        )
        # What a template touches: the rows' attributes (PIN/PUK are decrypted on load).
        return sum(
            len(line.msisdn) + len(unit.name) + len(tariff.name) + bool(employee) + bool(handset)
            for line, employee, unit, tariff, handset in result.rows
        )
    finally:
        session.close()


class Breakdown:
    """Where a request's wall time goes: SQL statements (engine events) and template rendering
    (Flask's template signals), summed while active."""

    def __init__(self, app: Flask, engine) -> None:
        self.app, self.engine = app, engine
        self.sql = self.template = 0.0
        self.queries = 0

    def _before_sql(self, conn, *_args):
        conn.info.setdefault("bench_t", []).append(time.perf_counter())

    def _after_sql(self, conn, *_args):
        self.sql += time.perf_counter() - conn.info["bench_t"].pop()
        self.queries += 1

    def _before_template(self, *_args, **_kw):
        self._t = time.perf_counter()

    def _after_template(self, *_args, **_kw):
        self.template += time.perf_counter() - self._t

    def __enter__(self) -> Breakdown:
        event.listen(self.engine, "before_cursor_execute", self._before_sql)
        event.listen(self.engine, "after_cursor_execute", self._after_sql)
        before_render_template.connect(self._before_template, self.app)
        template_rendered.connect(self._after_template, self.app)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before_sql)
        event.remove(self.engine, "after_cursor_execute", self._after_sql)
        before_render_template.disconnect(self._before_template, self.app)
        template_rendered.disconnect(self._after_template, self.app)

    def per_request(self, requests: int) -> dict:
        return {
            "sql_ms": round(self.sql * 1000 / requests, 2),
            "queries": round(self.queries / requests, 1),
            "template_ms": round(self.template * 1000 / requests, 2),
        }


def _timed(call, warmup: int, requests: int, meter, breakdown: Breakdown | None = None) -> dict:
    """Wall-time percentiles of ``requests`` calls after ``warmup``, CPU per call and, for a
    page, where its time went."""
    for _ in range(warmup):
        call()
    times = []
    meter.start()
    with breakdown or contextlib.nullcontext():
        for _ in range(requests):
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
    cpu_ms = meter.stop() * 1000 / requests
    parts = breakdown.per_request(requests) if breakdown else {}
    return {**_summary(times), "cpu": round(cpu_ms, 2), **parts}


def measure(
    tgt: Target, data: Dataset, app: Flask, rt: Runtime, *, requests: int = 50, warmup: int = 5
) -> dict:
    """{"mode": "page"|"service", "scenarios": [{key, label, url, page_ms, service_ms}]}"""
    page_mode, problem = has_fleet_page(app), None
    client = signed_in_client(app, data) if page_mode else None
    if page_mode:
        status = client.get("/fleet/").status_code
        if status != 200:
            page_mode, problem = False, f"/fleet/ answered {status}"
            log(f"{tgt.name}: {problem}; measuring the service alone")
    else:
        problem = "the portal has no fleet.index page yet"
    out = []
    meter = tgt.cpu_meter()
    for sc in scenarios(rt, data):
        entry = {"key": sc.key, "label": sc.label, "params": sc.params}
        if page_mode:
            url = page_url(sc.params)

            def get(url=url):
                response = client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}")
                return response

            entry["url"] = url
            entry["bytes"] = len(get().data)
            breakdown = Breakdown(app, rt.db.engine)
            entry["page_ms"] = _timed(get, warmup, requests, meter, breakdown)
        entry["service_ms"] = _timed(
            lambda sc=sc: service_call(rt, data, sc.params), warmup, requests, meter
        )
        out.append(entry)
        shown = entry.get("page_ms") or entry["service_ms"]
        log(
            f"{tgt.name}: {sc.label}: p50 {shown['p50']:.1f} ms, p95 {shown['p95']:.1f} ms,"
            f" CPU {shown['cpu']:.1f} ms ({'page' if page_mode else 'service only'})"
        )
    meter.close()
    return {
        "mode": "page" if page_mode else "service",
        "db_cpu_counted": meter.db_visible,
        "problem": problem,
        "requests": requests,
        "scenarios": out,
    }


def page_url(params: dict) -> str:
    return "/fleet/" + (f"?{urlencode(params)}" if params else "")


def _summary(times: list[float]) -> dict:
    return {
        "p50": round(percentile(times, 50), 2),
        "p95": round(percentile(times, 95), 2),
        "max": round(max(times), 2),
        "n": len(times),
    }
