"""A fleet administrator and an account manager sign in through a real browser."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_customer, make_portal_user, make_staff, make_unit

pytestmark = pytest.mark.browser


def test_fleet_admin_signs_in_and_sees_dashboard(live_server, page, committed):
    customer = make_customer(committed, name="Polmarket Testowy S.A.")
    root = make_unit(committed, customer, "Centrala")
    make_unit(committed, customer, "Dział IT", root)
    user = make_portal_user(committed, customer, email="admin@polmarket.example")
    committed.commit()

    page.goto(f"{live_server}/")
    assert "/login" in page.url
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert page.locator(".alert-danger").first.inner_text().startswith("Nieprawidłowy")
    page.console_errors.clear()  # the refused sign-in answered 401, which Chromium logs

    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    body = page.locator("body").inner_text()
    assert "Polmarket Testowy S.A." in body
    assert "Dział IT" in body
    assert page.console_errors == []  # no CSP violations, no script errors


def test_account_manager_searches_customers(live_server, page, committed):
    staff = make_staff(committed, email="opiekun@operator.example")
    make_customer(committed, name="Alfa Logistyka S.A.", account_manager_id=staff.id)
    make_customer(committed, name="Beta Serwis Sp. z o.o.", account_manager_id=staff.id)
    committed.commit()

    sign_in(page, live_server, staff.email, console=True)
    assert "Alfa Logistyka" in page.locator("body").inner_text()
    page.fill("input[name=q]", "Beta")
    page.wait_for_function(
        "() => !document.body.innerText.includes('Alfa Logistyka')", timeout=5000
    )
    assert "Beta Serwis" in page.locator("body").inner_text()
    assert page.console_errors == []
