"""An employee switches roaming on for a trip in the browser: the line shows it pending, then
active once a real worker has the network confirm it; a zone the policy does not allow is
refused with the rule and whom to ask; a trip longer than the self-service limit waits for the
fleet administrator, who approves it from the portal (e-mail to both sides); when the first
trip ends, the sweep (told the time, not slept) switches roaming off."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import OutgoingMail, SelfServiceRequest, SelfServiceState
from services import policies, selfservice
from services.audit import Actor
from tests.e2e.conftest import click_menu, sign_in
from tests.e2e.test_backorder_journey import start_worker, stop_worker
from tests.selfservice_factories import make_company
from workers import queues

pytestmark = [pytest.mark.browser, pytest.mark.worker]
WAIT_SECONDS = 30


def _ask_roaming(page, zone, start, end):
    page.select_option("select[name=zone]", zone)
    page.fill("input[name=start]", start.isoformat())
    page.fill("input[name=end]", end.isoformat())
    page.click("#roaming-form button[type=submit]")


def test_employee_roaming_journey_with_refusal_and_approval(
    rt, live_server, page, browser, committed
):
    co = make_company(committed)
    actor = Actor("portal", co.admin.id, co.admin.email)
    policies.set_rules(
        committed, actor, co.root, {"roaming.zone": "europe", "roaming.max_days": "3"}
    )
    line_id, employee_email = co.line.id, co.user.email
    admin_email = co.sales_admin.email
    committed.commit()
    committed.close()
    today = selfservice.warsaw_today()
    line_url = f"{live_server}/my/lines/{line_id}"
    roaming_row = "#my-services tr[data-service='roaming']"

    # --- the employee plans a trip within the policy -------------------------------------
    sign_in(page, live_server, employee_email, lands_on=f"my/lines/{line_id}")  # their home
    click_menu(page, "/my/")
    page.wait_for_url(line_url)
    _ask_roaming(page, "europe", today, today + timedelta(days=2))
    page.wait_for_url(line_url)
    row = page.locator(roaming_row)
    assert row.locator("[data-confirmed]").get_attribute("data-confirmed") == "off"
    assert row.locator("[data-target]").get_attribute("data-target") == "on"

    worker = start_worker()
    try:
        started = time.monotonic()
        confirmed = None
        while time.monotonic() - started < WAIT_SECONDS:
            page.goto(line_url)
            confirmed = (
                page.locator(roaming_row)
                .locator("[data-confirmed]")
                .get_attribute("data-confirmed")
            )
            if confirmed == "on":
                break
            time.sleep(0.5)
        assert confirmed == "on", stop_worker(worker)[-3000:]
        assert page.locator(roaming_row).locator("[data-target]").count() == 0
        assert page.locator("#my-schedule li").count() == 1  # the end of the period

        # --- a zone the policy does not allow: refused, with the rule and whom to ask ------
        _ask_roaming(page, "world", today + timedelta(days=10), today + timedelta(days=11))
        refusal = page.locator("[data-refusal]")
        refusal.wait_for()
        text = refusal.inner_text()
        assert "Firma" in text and "Sebastian Sprzedaż" in text and admin_email in text

        # --- longer than the self-service limit: waits for the administrator ---------------
        _ask_roaming(page, "eu", today + timedelta(days=20), today + timedelta(days=26))
        page.wait_for_url(line_url)
        assert page.locator("#my-requests li[data-state='pending']").count() == 1

        # --- the administrator approves it -----------------------------------------------
        admin_context = browser.new_context(locale="pl-PL")
        admin = admin_context.new_page()
        sign_in(admin, live_server, admin_email)
        click_menu(admin, "/selfservice/")
        admin.wait_for_url(f"{live_server}/selfservice/")
        pending_row = admin.locator("#pending-approvals tr[data-request]")
        assert pending_row.count() == 1
        pending_row.locator("button.btn-success").click()
        admin.wait_for_url(f"{live_server}/selfservice/")
        assert admin.locator("#pending-approvals").count() == 0
        admin_context.close()

        page.goto(line_url)
        assert page.locator("#my-requests li[data-state='approved']").count() == 1
        assert page.locator("#my-schedule li").count() == 3  # on and off of the approved trip

        # --- the first trip ends: the sweep, told the time, switches roaming off -----------
        end = selfservice.day_start(today + timedelta(days=3))
        rt.queue(queues.PROVISIONING).enqueue(
            "workers.selfservice_jobs.fire_scheduled", (end + timedelta(minutes=1)).isoformat()
        )
        started = time.monotonic()
        while time.monotonic() - started < WAIT_SECONDS:
            page.goto(line_url)
            confirmed = (
                page.locator(roaming_row)
                .locator("[data-confirmed]")
                .get_attribute("data-confirmed")
            )
            if confirmed == "off":
                break
            time.sleep(0.5)
        assert confirmed == "off", stop_worker(worker)[-3000:]
        assert page.locator("#my-schedule li").count() == 2  # the approved trip remains
    finally:
        logs = stop_worker(worker)
    assert worker.returncode == 0, logs[-3000:]
    # the refusal page answers 422 on purpose; Chromium logs that status, nothing else
    assert [e for e in page.console_errors if "422" not in e] == []

    approved = committed.scalar(
        select(SelfServiceRequest).where(SelfServiceRequest.state == SelfServiceState.approved)
    )
    assert approved is not None
    recipients = {m.recipient for m in committed.scalars(select(OutgoingMail))}
    assert {admin_email, employee_email} <= recipients
    committed.rollback()
