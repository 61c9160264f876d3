"""Monthly report subscriptions: subscribing in the portal, and the periodic job that sends
each subscription's month once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from models import BackgroundTask, OutgoingMail, PortalRole, ReportDelivery, ReportSubscription
from tests.conftest import post_form
from tests.factories import make_portal_user
from tests.reports_factories import usage_fleet
from tests.workers.test_fleet_io_jobs import _client
from workers import report_jobs


@pytest.fixture
def world(committed):
    f = usage_fleet(committed, days=91)
    f["admin"] = make_portal_user(committed, f["customer"], locale="en")
    f["viewer"] = make_portal_user(committed, f["customer"], role=PortalRole.viewer)
    committed.commit()
    return f


def test_subscribe_and_receive_once_a_month(app, committed, world):
    client = _client(app, world["admin"])
    r = post_form(client, "/reports/subscriptions", {"report": "usage:unit", "fmt": "pdf"})
    assert r.status_code == 302
    again = post_form(client, "/reports/subscriptions", {"report": "usage:unit", "fmt": "pdf"})
    assert again.status_code == 400 and "You already receive this report." in again.get_data(
        as_text=True
    )
    bad = post_form(client, "/reports/subscriptions", {"report": "usage:planet", "fmt": "pdf"})
    assert bad.status_code == 400
    sub = committed.scalar(select(ReportSubscription))
    sub.created_at = datetime(2026, 11, 20, tzinfo=UTC)
    committed.commit()

    with app.app_context():
        assert report_jobs.send_monthly_reports(date(2026, 12, 10)) == 0  # past the window
        assert report_jobs.send_monthly_reports(date(2026, 12, 1)) == 1
        assert report_jobs.send_monthly_reports(date(2026, 12, 1)) == 0
        assert report_jobs.send_monthly_reports(date(2026, 12, 2)) == 0
    committed.expire_all()
    mails = committed.scalars(select(OutgoingMail)).all()
    assert len(mails) == 1 and mails[0].recipient == world["admin"].email
    assert "2026-11" in mails[0].subject and "Usage by unit" in mails[0].subject
    delivery = committed.scalar(select(ReportDelivery))
    assert delivery.month == date(2026, 11, 1) and delivery.mail_id == mails[0].id
    assert f"/files/{delivery.task_id}" in mails[0].body_text
    task = committed.get(BackgroundTask, delivery.task_id)
    assert task.portal_user_id == world["admin"].id and task.file_name.endswith(".pdf")
    committed.commit()
    r = client.get(f"/files/{task.id}/download")
    assert r.data.startswith(b"%PDF")
    r.close()
    # January's report goes out in January.
    with app.app_context():
        assert report_jobs.send_monthly_reports(date(2027, 1, 1)) == 1
    assert committed.scalar(select(func.count()).select_from(OutgoingMail)) == 2


def test_a_subscription_of_mid_month_waits_for_the_next_month(app, committed, world):
    client = _client(app, world["admin"])
    post_form(client, "/reports/subscriptions", {"report": "sim:-", "fmt": "csv"})
    sub = committed.scalar(select(ReportSubscription))
    sub.created_at = datetime(2026, 12, 15, tzinfo=UTC)
    committed.commit()
    with app.app_context():
        assert report_jobs.send_monthly_reports(date(2026, 12, 1)) == 0
        assert report_jobs.send_monthly_reports(date(2027, 1, 1)) == 1


def test_viewers_cannot_subscribe(app, committed, world):
    client = _client(app, world["viewer"])
    assert client.get("/reports/subscriptions").status_code == 403
