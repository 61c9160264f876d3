"""A fleet administrator orders a phone that is sold out and sees its place in the queue; the
warehouse reports a delivery (the ERP push API); a real worker serves the queue; within seconds
the order page shows the phone allocated and the e-mail is in the outbox. Through a real
browser, in Polish (the default language), and a real RQ worker process.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import MailStatus, OrderLine, OrderLineState, OutgoingMail
from services import orders
from services.audit import Actor
from services.contracts import today
from services.fleet import FleetScope
from tests.conftest import WAREHOUSE_TOKEN
from tests.e2e.conftest import click_menu, sign_in
from tests.portal.test_shop import build_shop

pytestmark = [pytest.mark.browser, pytest.mark.worker]
WAIT_SECONDS = 30


def start_worker() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "worker"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_worker(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # warm shutdown: the current job finishes
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return err or ""


def outbox_subjects(rt) -> list[str]:
    folder = rt.settings.instance_path / "outbox"
    return [
        str(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"])
        for p in folder.glob("*.eml")
    ]


def test_sold_out_phone_is_allocated_when_stock_arrives(rt, live_server, page, committed):
    shop = build_shop(committed)
    # Someone ordered two of the sold-out phone before: our administrator will be second.
    earlier = shop["approver"]
    orders.place_order(
        committed,
        Actor("portal", earlier.id, earlier.email),
        shop["a"],
        FleetScope(shop["a"].id),
        [orders.CartItem("handset", 2, product_id=shop["phone"].id)],
        placed_by=earlier,
    )
    phone_id, sku = shop["phone"].id, shop["phone"].sku
    warehouse = shop["warehouse"].code
    admin_email = shop["admin"].email
    committed.commit()
    committed.close()  # hold no transaction: on SQLite it would block the server and worker
    expected = (today() + timedelta(days=9)).isoformat()

    # --- the fleet administrator orders the sold-out phone ---------------------------------
    sign_in(page, live_server, admin_email)
    click_menu(page, "/shop/")
    card = page.locator(f"[data-shop-item='{phone_id}']")
    badge = card.locator("[data-queue-position]")
    assert badge.get_attribute("data-queue-position") == "2"
    assert badge.get_attribute("data-expected-on") == expected
    card.locator("input[name=quantity]").fill("1")
    card.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/shop/")
    assert page.locator("[data-shop-cart] .badge").inner_text().strip() == "1"
    page.click("[data-shop-cart]")
    page.wait_for_url(f"{live_server}/shop/cart")
    page.click("button[data-checkout]")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    order_url = page.url
    number = page.locator("h1 .font-monospace").inner_text().strip()
    row = page.locator("[data-position='1']")
    assert row.locator("[data-line-state]").get_attribute("data-line-state") == "waiting"
    place = row.locator("[data-queue-position]")
    assert place.get_attribute("data-queue-position") == "2"
    assert place.get_attribute("data-expected-on") == expected
    assert page.console_errors == []

    # --- the warehouse reports a delivery; a real worker serves the queue -------------------
    worker = start_worker()
    try:
        response = page.request.post(
            f"{live_server}/admin/api/warehouse/receipts",
            headers={"Authorization": f"Bearer {WAREHOUSE_TOKEN}"},
            data={
                "receipts": [
                    {"warehouse": warehouse, "sku": sku, "quantity": 3, "reference": "WZ/E2E/1"}
                ]
            },
        )
        assert response.ok, response.text()
        delivered = time.monotonic()
        state = None
        while time.monotonic() - delivered < WAIT_SECONDS:
            page.goto(order_url)
            state = page.locator("[data-position='1'] [data-line-state]").get_attribute(
                "data-line-state"
            )
            if state == "allocated":
                break
            time.sleep(0.5)
        allocated_after = time.monotonic() - delivered
        assert state == "allocated", stop_worker(worker)[-3000:]
        assert allocated_after < WAIT_SECONDS
        assert page.locator("[data-position='1'] [data-queue-position]").count() == 0
        assert re.search(
            r"\b1\b.*\b1\b", page.locator("[data-position='1'] [data-allocated]").inner_text()
        )
        mailed = False
        while time.monotonic() - delivered < WAIT_SECONDS and not mailed:
            mailed = any(number in s for s in outbox_subjects(rt))
            time.sleep(0.2)
        assert mailed, stop_worker(worker)[-3000:]
    finally:
        logs = stop_worker(worker)
    assert worker.returncode == 0, logs[-3000:]
    assert page.console_errors == []

    line = committed.scalar(select(OrderLine).where(OrderLine.allocated_qty == 1))
    assert line.state == OrderLineState.allocated
    mail = committed.scalar(select(OutgoingMail).where(OutgoingMail.recipient == admin_email))
    assert mail.status == MailStatus.sent and number in mail.subject
    committed.rollback()
    print(f"allocated {allocated_after:.1f} s after the delivery was reported")
