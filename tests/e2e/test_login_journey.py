"""A fleet administrator and an account manager sign in through a real browser."""

from __future__ import annotations

import re
from itertools import pairwise

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


def _menu_bar_fits(page, width: int) -> None:
    """At this window width the menu bar's brand, links and user menu sit side by side inside
    the window, or the links are folded behind the menu button."""
    page.set_viewport_size({"width": width, "height": 800})
    brand = page.locator("nav .navbar-brand").bounding_box()
    name = page.locator("nav .brand-name").bounding_box()
    assert name["x"] + name["width"] <= brand["x"] + brand["width"] + 0.5, width
    toggler = page.locator("nav .navbar-toggler")
    if toggler.is_visible():
        return
    links = page.locator("#main-nav .navbar-nav > li").all()
    first = links[0].bounding_box()
    assert first["x"] >= brand["x"] + brand["width"], (width, first, brand)
    for left, right in pairwise(links):
        a, b = left.bounding_box(), right.bounding_box()
        assert a["x"] + a["width"] <= b["x"] + 0.5, width
    user = page.locator("nav .user-menu").bounding_box()
    last = links[-1].bounding_box()
    assert last["x"] + last["width"] <= user["x"], width
    assert user["x"] + user["width"] <= width, width


@pytest.mark.parametrize("console", [False, True], ids=["portal", "console"])
def test_menu_bar_fits_every_window_width(live_server, page, committed, console):
    """From a laptop to a wide screen, the menu never runs under the brand or off the window
    (it did between 992 and 1400 pixels with the user's full name beside the links)."""
    customer = make_customer(committed, name="Przedsiębiorstwo Handlowo-Usługowe Polmarket S.A.")
    user = (
        make_staff(committed, full_name="Katarzyna Wiśniewska-Zawadzka")
        if console
        else make_portal_user(committed, customer, full_name="Anna Malinowska-Grabowska")
    )
    committed.commit()
    sign_in(page, live_server, user.email, console=console)
    for width in (1920, 1400, 1300, 1200, 1100, 1000, 800, 400):
        _menu_bar_fits(page, width)
    # Beside the links the avatar stands for the user; the name still names its button.
    page.set_viewport_size({"width": 1300, "height": 800})
    name = "Wiśniewska-Zawadzka" if console else "Malinowska-Grabowska"
    assert page.get_by_role("button", name=re.compile(name)).count() == 1
    assert page.console_errors == []
