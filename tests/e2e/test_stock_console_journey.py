"""A customer's order waits for a sold-out phone; a sales administrator receives the delivery
in the console; a real worker serves the queue; within seconds the product's page shows the
line allocated (it refreshes itself) and the customer's e-mail is in the outbox. Through a real
browser, in Polish (the default language), so the checks read data, not sentences.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from models import OrderLine, OrderLineState, StaffRole, StockLevel, Warehouse
from services import orders
from services.audit import Actor
from services.fleet import FleetScope
from tests.e2e.conftest import sign_in
from tests.factories import make_customer, make_portal_user, make_staff
from tests.fleet_factories import make_handset

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_stock_received_in_the_console_serves_the_waiting_order(rt, live_server, page, committed):
    warehouse = Warehouse(code="STR", name="Magazyn centralny Stryków", priority=10)
    committed.add(warehouse)
    phone = make_handset(committed, name="iPhone 16 Pro 256 GB", price="5999.00")
    customer = make_customer(committed, name="Gamma Transport S.A.")
    buyer = make_portal_user(committed, customer, email="flota@gamma.example")
    order = orders.place_order(
        committed,
        Actor("portal", buyer.id, buyer.email),
        customer,
        FleetScope(customer.id),
        [orders.CartItem("handset", 2, product_id=phone.id)],
        placed_by=buyer,
    )
    line = committed.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
    staff = make_staff(committed, StaffRole.sales_admin, email="magazyn@operator.example")
    # Plain values now: touching an entity after the commit would open a transaction here,
    # and on SQLite that holds the write lock the server and the worker need.
    phone_id, line_id, number, email_address = phone.id, line.id, order.number, staff.email
    warehouse_label = f"STR · {warehouse.name}"
    assert line.state == OrderLineState.waiting
    committed.commit()

    # --- the console: sign in, find the product's queue -----------------------------------
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server, email_address, console=True)

    page.goto(f"{live_server}/admin/stock/?waiting=1")
    page.click(f"main a[href='/admin/stock/products/{phone_id}']")
    page.wait_for_url(re.compile(rf".*/admin/stock/products/{phone_id}$"))
    waiting = page.locator(f"[data-queue-table] tr[data-order-line='{line_id}']")
    assert number in waiting.inner_text()

    # --- receive the delivery through the form --------------------------------------------
    page.click(f"main a[href$='/admin/stock/receive?product_id={phone_id}']")
    page.wait_for_url(re.compile(r".*/admin/stock/receive\?product_id=\d+$"))
    assert page.input_value("#receive-form select[name=product_id]") == str(phone_id)
    page.select_option("#receive-form select[name=warehouse_id]", label=warehouse_label)
    page.fill("#receive-form input[name=quantity]", "0")
    page.fill("#receive-form input[name=reference]", "PZ/2026/11/0042")
    page.click("#receive-form button[type=submit]")
    assert page.locator("#quantity-errors").is_visible()  # refused on its field
    page.console_errors.clear()  # the refusal answered 422, which Chromium logs

    page.fill("#receive-form input[name=quantity]", "2")
    page.click("#receive-form button[type=submit]")
    page.wait_for_url(re.compile(rf".*/admin/stock/products/{phone_id}$"))
    assert page.locator("#queue-panel .spinner-border").is_visible()  # being served

    # --- a real worker serves the queue; the page shows it by itself ------------------------
    worker = subprocess.run(
        [sys.executable, "-m", "core.cli", "worker", "--burst", "--queues", "backorders,mail"],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr[-3000:]
    allocated = page.locator(f"[data-allocated-table] tr[data-order-line='{line_id}']")
    allocated.wait_for(state="visible", timeout=15_000)  # no reload: the panel refreshes
    assert number in allocated.inner_text()
    assert page.locator("[data-queue-table]").count() == 0  # nobody waits any more
    levels = page.locator("#levels tbody tr").first.inner_text().split()
    assert levels[:4] == ["STR", "2", "2", "0"]  # on hand, reserved, available

    committed.expire_all()
    level = committed.scalar(select(StockLevel).where(StockLevel.product_id == phone_id))
    assert (level.on_hand, level.reserved) == (2, 2)
    assert committed.get(OrderLine, line_id).state == OrderLineState.allocated
    committed.rollback()

    # --- the customer's e-mail is in the outbox ---------------------------------------------
    outbox = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in (rt.settings.instance_path / "outbox").glob("*.eml")
    ]
    mails = [m for m in outbox if number in m["Subject"]]
    assert [m["To"] for m in mails] == ["flota@gamma.example"]
    assert "2 szt." in mails[0].get_body(("plain",)).get_content()
    assert page.console_errors == []
