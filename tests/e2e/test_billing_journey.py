"""The account manager bills a customer's last month from the console; a real worker issues the
invoice and sends it to the (simulated) national e-invoice system; the customer's fleet
administrator finds the invoice in the portal, reads its totals and cost centres, sees the KSeF
number, and downloads the PDF (with the FA(3) embedded), the FA(3) and the UBL document, which
validate against their schemas. Through a real browser, in Polish, with a real RQ worker.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pikepdf
import pytest
from babel.numbers import format_currency

from models import StaffRole
from services.contracts import today
from tests.billing_factories import at, billing_customer, completed_handset
from tests.e2e.conftest import click_menu, sign_in
from tests.e2e.test_backorder_journey import start_worker, stop_worker
from tests.einvoice_checks import fa3_errors, ubl_errors
from tests.factories import make_portal_user, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.worker]
WAIT_MS = 60_000


def _grosz(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _money(value: Decimal) -> str:
    """An amount as the Polish pages show it, spaces made plain."""
    return re.sub(r"\s", " ", format_currency(value, "PLN", locale="pl_PL"))


def _plain(text: str) -> str:
    return re.sub(r"\s", " ", text)


def test_invoice_from_the_console_run_to_the_customers_downloads(
    rt, live_server, browser, page, committed
):
    month_start = (today().replace(day=1) - timedelta(days=1)).replace(day=1)
    manager = make_staff(committed, StaffRole.account_manager, email="opiekun@operator.example")
    customer, _tariff, lines = billing_customer(
        committed, 3, fee="49.99", name="Delta Logistyka S.A.", account_manager_id=manager.id
    )
    completed_handset(
        committed, customer, lines[0], at(month_start + timedelta(days=4)), price="999.00"
    )
    admin = make_portal_user(committed, customer, email="finanse@delta.example")
    # What the invoice must say, from the inputs alone: three lines' whole-month fees, a handset.
    net = Decimal("49.99") * 3 + Decimal("999.00")
    vat = _grosz(net * Decimal("0.23"))
    gross = net + vat
    customer_id, manager_email, admin_email = customer.id, manager.email, admin.email
    committed.commit()

    worker = start_worker()
    try:
        # --- the console: the account manager starts the run ---------------------------------
        sign_in(page, live_server, manager_email, console=True)
        click_menu(page, "/admin/billing/")
        page.select_option("select[name=customer]", str(customer_id))
        page.fill("input[name=period]", month_start.strftime("%Y-%m"))
        page.click("form[action$='/billing/runs'] button[type=submit]")
        # The runs table asks for itself while a run is waiting; the worker finishes it.
        done = page.locator("tr[data-run] .badge.text-bg-success")
        done.wait_for(timeout=WAIT_MS)
        number = page.locator("tr[data-run] td.font-monospace").first.inner_text().strip()
        assert re.fullmatch(r"\S+/\S+", number), number
        assert page.console_errors == []

        # --- the portal: the fleet administrator finds and reads the invoice -----------------
        context = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 900})
        portal = context.new_page()
        portal_errors: list[str] = []
        portal.on("console", lambda m: portal_errors.append(m.text) if m.type == "error" else None)
        portal.on("pageerror", lambda e: portal_errors.append(str(e)))
        sign_in(portal, live_server, admin_email)
        click_menu(portal, "/invoices/")
        row = portal.locator(f"tr[data-invoice='{number}']")
        assert _money(gross) in _plain(row.inner_text())
        row.locator("a").first.click()
        portal.wait_for_url(re.compile(r".*/invoices/\d+$"))
        body = _plain(portal.locator("main").inner_text())
        for amount in (net, vat, gross):
            assert _money(amount) in body, amount
        assert "CC-100" in body and "CC-200" in body  # the summary by cost centre
        # The worker sends the invoice to KSeF right after issuing it; the page shows the number.
        for _ in range(60):
            if portal.locator("[data-ksef-number]").count():
                break
            portal.wait_for_timeout(500)
            portal.reload()
        assert portal.locator("[data-ksef-number]").inner_text().strip()

        # --- the downloads ---------------------------------------------------------------------
        def download(suffix: str) -> bytes:
            with portal.expect_download() as info:
                portal.click(f"a[href$='/{suffix}']")
            return Path(info.value.path()).read_bytes()

        pdf = download("invoice.pdf")
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            assert len(doc.pages) >= 1
            embedded = {
                name: spec.get_file().read_bytes() for name, spec in doc.attachments.items()
            }
        fa3 = download("fa3.xml")
        assert fa3_errors(fa3) == []
        assert any(data == fa3 for data in embedded.values())
        assert number.encode() in fa3
        ubl = download("ubl.xml")
        assert ubl_errors(ubl) == []
        assert portal_errors == []
        context.close()
    finally:
        stop_worker(worker)
