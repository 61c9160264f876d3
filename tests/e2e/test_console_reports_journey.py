"""An account manager reads an own customer's usage report in the console, in a real browser:
from the customer's page to the report, another grouping, an XLSX download whose figures are
the page's, and the SIM configuration report without PIN/PUK codes. Another manager's customer
is not there."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from models import StaffRole
from tests.e2e.conftest import sign_in
from tests.factories import make_customer, make_staff
from tests.reports_factories import usage_fleet

pytestmark = pytest.mark.browser


def test_account_manager_reads_a_customers_reports(live_server, page, committed):
    manager = make_staff(committed, StaffRole.account_manager, email="opiekun3@operator.example")
    fleet = usage_fleet(committed, days=91)
    customer = fleet["customer"]
    customer.account_manager_id = manager.id
    foreign = make_customer(committed, name="Obca Firma Sp. z o.o.")
    iccid = fleet["lines"][0].iccid
    customer_id, foreign_id, email = customer.id, foreign.id, manager.email
    committed.commit()

    sign_in(page, live_server, email, console=True)

    page.goto(f"{live_server}/admin/customers/{customer_id}")
    page.click(f"a[href='/admin/customers/{customer_id}/reports/']")
    page.wait_for_url(re.compile(r".*/reports/$"))
    page.goto(f"{live_server}/admin/customers/{customer_id}/reports/?month=2026-11")
    assert page.locator("svg[role=img]").count() >= 1
    table = page.locator("#usage-table")
    assert "Sprzedaż" in table.inner_text() and "Północ" in table.inner_text()

    page.select_option("select[name=group]", "tariff")
    page.click("form[method=get] button[type=submit]")
    page.wait_for_url("**group=tariff**")
    shown = page.locator("#usage-table").inner_text()
    assert "Basic" in shown and "Pro" in shown

    with page.expect_download() as info:
        page.click("button[name=fmt][value=xlsx]")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header, *body = rows
    cost = header.index("Koszt (PLN netto)")
    assert [r[0] for r in body] == ["Basic", "Pro", "Razem"]
    assert Decimal(str(body[0][cost])) + Decimal(str(body[1][cost])) == Decimal(str(body[2][cost]))
    # The file's costs are the page's, row by row.
    for row in body:
        on_page = page.locator("#usage-table tr", has_text=row[0]).first.inner_text()
        figure = f"{Decimal(str(row[cost])):,.2f}".replace(",", " ").replace(".", ",")
        assert figure in re.sub(r"\s", " ", on_page), (row[0], figure, on_page)

    page.goto(f"{live_server}/admin/customers/{customer_id}/reports/sim")
    sim = page.locator("#sim-table").inner_text()
    assert iccid in sim and "PUK" not in sim
    assert page.console_errors == []

    # Someone else's customer: not found.
    response = page.goto(f"{live_server}/admin/customers/{foreign_id}/reports/")
    assert response.status == 404
