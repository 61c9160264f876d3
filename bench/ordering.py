"""Ordering: placing an order of 20 positions through the portal, and the ``drain`` and
``order`` parts of ``bench.run`` on their own data (``bench.orders_data``).

``order``: the fleet administrator of the largest customer signs in through the real form
(CSRF on) and fills the cart through the shop's own forms — 12 handsets and accessories (the
sold-out phone among them, joining a queue of 10,000), 4 handset exchanges for lines of the
fleet and 4 new lines from the number pool — then the measured request: ``POST
/shop/checkout`` with the cart's form, as the browser sends it (the whole request in the Flask
test client: session, checks and prices, the order, its positions joining their queues, the
activations' numbers and network requests, audit, commit, the jobs enqueued after it). Each
placed order is then cancelled through the service (not measured), so that every round meets
the same data: numbers back in the pool, lines free for another exchange.
"""

from __future__ import annotations

import re
import time
import traceback

from flask import Flask
from sqlalchemy import select

from bench import drain, orders_data, report
from bench.common import EmbeddedRedisGuard, Target, log, percentile
from bench.fleet import Breakdown
from core.db import make_engine
from core.runtime import Runtime
from models import (
    Line,
    LineStatus,
    Order,
    OrderLine,
    OrgUnit,
    PortalUser,
    Product,
    ProductKind,
    TariffPlan,
)
from services import orders
from services.audit import Actor
from services.order_items import OPEN_LINE_STATES

PARTS = ("drain", "order")
POSITIONS = {"products": 12, "exchanges": 4, "activations": 4}
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REV_RE = re.compile(r'name="rev" type="hidden" value="(\d*)"')
QTY_RE = re.compile(r'name="(qty-[0-9a-f]{8})"[^>]*value="([^"]*)"')
ORDER_URL_RE = re.compile(r"/orders/(\d+)$")


def portal_app(rt: Runtime) -> Flask:
    import portal

    return portal.create_app(rt)


class Shopper:
    """A signed-in fleet administrator with a test client, filling and sending the cart."""

    def __init__(self, app: Flask, rt: Runtime, email: str, password: str) -> None:
        self.client = app.test_client()
        self.rt = rt
        page = self.client.get("/login").get_data(as_text=True)
        response = self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": self._token(page)},
        )
        if response.status_code != 302:
            raise RuntimeError(f"sign-in as {email} failed ({response.status_code})")
        self.token = self._token(self.client.get("/shop/").get_data(as_text=True))
        with rt.db.session_scope() as s:
            user = s.scalar(select(PortalUser).where(PortalUser.email == email))
            self.user_id, self.customer_id = user.id, user.customer_id
            self.products = list(
                s.scalars(
                    select(Product.id)
                    .where(Product.kind.in_([ProductKind.handset, ProductKind.accessory]))
                    .order_by(Product.id)
                    .limit(POSITIONS["products"])
                )
            )
            self.handset = s.scalar(
                select(Product.id).where(Product.kind == ProductKind.handset).limit(1)
            )
            self.tariff = s.scalar(select(TariffPlan.id).order_by(TariffPlan.id).limit(1))
            self.unit = s.scalar(
                select(OrgUnit.id)
                .where(OrgUnit.customer_id == self.customer_id)
                .order_by(OrgUnit.path.desc())
                .limit(1)
            )
            busy = select(OrderLine.line_id).where(
                OrderLine.line_id.is_not(None), OrderLine.state.in_(OPEN_LINE_STATES)
            )
            self.lines = list(
                s.scalars(
                    select(Line.id)
                    .where(
                        Line.customer_id == self.customer_id,
                        Line.status == LineStatus.active,
                        Line.id.not_in(busy),
                    )
                    .order_by(Line.id)
                    .limit(POSITIONS["exchanges"])
                )
            )

    @staticmethod
    def _token(page: str) -> str:
        found = CSRF_RE.search(page)
        if found is None:
            raise RuntimeError("no CSRF token on the page")
        return found.group(1)

    def _post(self, url: str, data: dict) -> None:
        response = self.client.post(url, data={**data, "csrf_token": self.token})
        if response.status_code != 302:
            body = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
            raise RuntimeError(f"{url} answered {response.status_code}: {body[:600]}")

    def fill_cart(self) -> None:
        for i, product_id in enumerate(self.products):
            self._post("/shop/add", {"product_id": product_id, "quantity": str(1 + i % 3)})
        for line_id in self.lines:
            self._post("/shop/exchange", {"line_id": line_id, "product_id": self.handset})
        for i in range(POSITIONS["activations"]):
            self._post(
                "/shop/new-line",
                {
                    "tariff_id": self.tariff,
                    "unit_id": self.unit,
                    "number": "pool",
                    "employee_name": f"Pracownik Testowy {i + 1}",
                },
            )

    def checkout_form(self) -> dict:
        page = self.client.get("/shop/cart").get_data(as_text=True)
        rev = REV_RE.search(page)
        data = {"csrf_token": self._token(page), "rev": rev.group(1) if rev else ""}
        data.update(QTY_RE.findall(page))
        return data

    def checkout(self, data: dict) -> int:
        response = self.client.post("/shop/checkout", data=data)
        found = ORDER_URL_RE.search(response.headers.get("Location", ""))
        if response.status_code != 302 or found is None:
            raise RuntimeError(f"checkout answered {response.status_code}")
        return int(found.group(1))

    def cancel(self, order_id: int) -> int:
        with self.rt.db.session_scope() as s:
            order = s.get(Order, order_id)
            count = len(orders.lines_of(s, order))
            orders.cancel_order(s, Actor.system("bench"), order)
        return count


def measure_order(tgt: Target, data: orders_data.OrdersData, rt: Runtime, args) -> dict:
    app = portal_app(rt)
    shopper = Shopper(app, rt, data.admin_email, data.password)
    if len(shopper.lines) < POSITIONS["exchanges"] or len(shopper.products) < 12:
        raise RuntimeError("not enough lines or products for a 20-position order")
    probe = make_engine(tgt.url.split("?")[0], pool_size=1) if tgt.name == "postgres" else None
    times, cpus, statements, positions = [], [], [], 0
    for n in range(args.warmup + args.requests):
        shopper.fill_cart()
        form = shopper.checkout_form()
        breakdown = Breakdown(app, rt.db.engine)
        cpu_start = time.process_time() + drain._backend_cpu(tgt, probe)
        with breakdown:
            start = time.perf_counter()
            order_id = shopper.checkout(form)
            elapsed = (time.perf_counter() - start) * 1000
        cpu = (time.process_time() + drain._backend_cpu(tgt, probe) - cpu_start) * 1000
        positions = shopper.cancel(order_id)
        if n >= args.warmup:
            times.append(elapsed)
            cpus.append(cpu)
            statements.append(breakdown.queries)
    if probe is not None:
        probe.dispose()
    drain._clear_queues(rt)  # the drains and network requests the orders asked for
    summary = {
        "p50": round(percentile(times, 50), 2),
        "p95": round(percentile(times, 95), 2),
        "max": round(max(times), 2),
        "cpu": round(sum(cpus) / len(cpus), 2),
        "cpu_p95": round(percentile(cpus, 95), 2),
        "statements": round(sum(statements) / len(statements), 1),
        "n": len(times),
    }
    log(
        f"{tgt.name}: order of {positions} positions: p50 {summary['p50']:.1f} ms, "
        f"p95 {summary['p95']:.1f} ms, CPU {summary['cpu']:.1f} ms, "
        f"{summary['statements']:g} statements"
    )
    return {
        "positions": positions,
        "requests": len(times),
        "db_cpu_counted": tgt.name == "sqlite" or "127.0.0.1" in tgt.url,
        "server_ms": summary,
    }


def _part(name: str, results: dict, measure, args) -> None:
    from bench.run import wait_quiet

    wait_quiet(args.wait_quiet)
    before = report.load_1m()
    try:
        results[name] = measure()
    except Exception as exc:  # the run goes on with the other parts
        log(f"{name} failed:\n{traceback.format_exc()}")
        results[name] = {"skipped": f"failed with {type(exc).__name__}: {exc}"[:300]}
    results[name]["load"] = f"{before:.2f} → {report.load_1m():.2f}"


def _version(rt: Runtime, tgt: Target) -> str:
    from bench.run import _database_version

    return _database_version(rt).replace("(schema `bench`)", f"(schema `{tgt.schema}`)")


def bench(database: str, args, parts: list[str], command: str) -> None:
    """The ordering parts on one database; figures stored beside the fleet's."""
    tgt = orders_data.orders_target(database)
    guard = EmbeddedRedisGuard()
    try:
        data, reused = orders_data.ensure(tgt, force=args.regenerate)
        rt = Runtime(tgt.settings())
        stamp = report.run_stamp(command)
        how = "reused" if reused else f"generated in {data.generated_in_s:.0f} s"
        where = "schema `bench_orders`" if tgt.name == "postgres" else "bench/data/orders.sqlite3"
        info = {"orders_data": f"{data.describe()} ({where}; {how})"}
        known = (report.load(tgt.name, args.scale) or {}).get("info", {})
        if "machine" not in known:  # only the ordering parts have run on this database
            info.update(
                stamp,
                machine=report.machine(),
                version=_version(rt, tgt),
                data="the ordering data only (below)",
            )
        results: dict = {}
        if "order" in parts:
            _part("order", results, lambda: measure_order(tgt, data, rt, args), args)
        if "drain" in parts:
            _part("drain", results, lambda: drain.measure(tgt, data, rt), args)
        rt.db.engine.dispose()
        for part in results.values():
            part["run"] = stamp
        path = report.store(tgt.name, args.scale, results, info)
        log(f"{tgt.name}: ordering figures stored in {path}")
    finally:
        guard.close()
