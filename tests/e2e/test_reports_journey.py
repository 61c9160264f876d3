"""A fleet administrator reads the usage report in a real browser: chart, table, another
grouping, a refused period, all without CSP violations."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in
from tests.factories import make_portal_user
from tests.reports_factories import usage_fleet

pytestmark = pytest.mark.browser


def test_usage_report_in_the_browser(live_server, page, committed):
    fleet = usage_fleet(committed, days=91)
    user = make_portal_user(committed, fleet["customer"], email="raporty@polmarket.example")
    committed.commit()

    sign_in(page, live_server, user.email)

    page.goto(f"{live_server}/reports/usage?month=2026-11")
    assert page.locator("svg[role=img]").count() == 2  # the grouping and month over month
    table = page.locator("#usage-table")
    assert "Sprzedaż" in table.inner_text() and "Północ" in table.inner_text()

    page.select_option("select[name=group]", "tariff")
    page.click("form[method=get] button[type=submit]")
    page.wait_for_url("**group=tariff**")
    assert "Basic" in page.locator("#usage-table").inner_text()

    page.goto(f"{live_server}/reports/usage?from=2026-11-10&to=2026-11-01")
    assert "Koniec okresu jest wcześniej" in page.locator("#period-error").inner_text()
    page.console_errors.clear()  # the refused period answered 400, which Chromium logs

    page.goto(f"{live_server}/reports/sim")
    assert fleet["lines"][0].iccid in page.locator("#sim-table").inner_text()
    assert page.console_errors == []
