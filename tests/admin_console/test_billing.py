"""Console billing: the runs page, starting a run (own customers only), the payment import
with errors per row and nothing recorded."""

from __future__ import annotations

import io

from sqlalchemy import select

from models import BillingRun, Payment, RunStatus, StaffRole
from tests.admin_console.test_reports import _login, _operator_admin
from tests.billing_factories import billing_customer
from tests.conftest import post_form
from tests.factories import make_staff
from tests.services.test_billing import run_for


def test_manager_starts_a_run_for_an_own_customer_only(client, db, redis_clean):
    manager = make_staff(db, StaffRole.account_manager)
    own, _t, _l = billing_customer(db, 2, account_manager_id=manager.id)
    other, _t2, _l2 = billing_customer(db, 1)
    _login(client, manager)
    page = client.get("/admin/billing/").get_data(as_text=True)
    assert own.name in page and other.name not in page
    r = post_form(
        client,
        "/admin/billing/runs",
        {"customer": own.id, "period": "2026-11"},
        form_url="/admin/billing/",
    )
    assert r.status_code == 302
    run = db.scalar(select(BillingRun).where(BillingRun.customer_id == own.id))
    assert run.status == RunStatus.queued
    assert redis_clean.exists(f"rq:job:billing-run-{run.id}")
    # Someone else's customer: not a choice of the form.
    r = post_form(
        client,
        "/admin/billing/runs",
        {"customer": other.id, "period": "2026-11"},
        form_url="/admin/billing/",
    )
    assert r.status_code == 400
    assert db.scalar(select(BillingRun).where(BillingRun.customer_id == other.id)) is None
    # A month not over yet, or garbage.
    for period in ("2999-01", "13-2026", ""):
        r = post_form(
            client,
            "/admin/billing/runs",
            {"customer": own.id, "period": period},
            form_url="/admin/billing/",
        )
        assert r.status_code == 400, period
    # Payments are for operator admins.
    assert client.post("/admin/billing/payments").status_code in (400, 403)


def test_failed_run_shows_its_error(client, db):
    manager = make_staff(db, StaffRole.account_manager)
    customer, _t, _l = billing_customer(db, 1, account_manager_id=manager.id)
    from datetime import date

    db.add(
        BillingRun(
            customer_id=customer.id,
            period_start=date(2026, 10, 1),
            status=RunStatus.failed,
            attempts=3,
            error="InvalidDocument: invalid NIP",
        )
    )
    db.flush()
    _login(client, manager)
    page = client.get("/admin/billing/").get_data(as_text=True)
    assert "invalid NIP" in page and "Failed" in page


def test_payment_import_errors_and_success(client, db):
    admin, secret = _operator_admin(db)
    customer, _t, _l = billing_customer(db, 2, fee="50.00")
    invoice = run_for(db, customer)
    _login(client, admin, secret)
    bad = f"{invoice.number};2026-12-02;100\nFV/0000/1;2026-12-02;5\n".encode()
    r = post_form(
        client,
        "/admin/billing/payments",
        {"file": (io.BytesIO(bad), "wyciag.csv")},
        form_url="/admin/billing/",
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    body = r.get_data(as_text=True)
    assert "Row 2" in body and "FV/0000/1" in body
    assert db.scalar(select(Payment)) is None
    good = f"{invoice.number};2026-12-02;123,00\n".encode()
    r = post_form(
        client,
        "/admin/billing/payments",
        {"file": (io.BytesIO(good), "wyciag.csv")},
        form_url="/admin/billing/",
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    db.refresh(invoice)
    assert invoice.paid_amount == invoice.total_gross
