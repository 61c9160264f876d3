"""The portal's invoices: list with filters and totals, the invoice page with its KSeF number,
downloads of every document; only company-wide administrators and viewers of the customer."""

from __future__ import annotations

import pytest

from integrations.ksef import SimulatedKsef
from models import PortalRole
from services import ksef_submission
from services.billing_period import Period
from tests.billing_factories import billing_customer
from tests.conftest import login_portal
from tests.factories import PASSWORD, make_portal_user, make_unit
from tests.services.test_billing import run_for


@pytest.fixture
def billed(db):
    customer, _t, _l = billing_customer(db, 3, fee="40.00")
    nov = run_for(db, customer)
    oct_ = run_for(db, customer, Period.month(2026, 10))
    nov.paid_amount = nov.total_gross  # paid
    db.flush()
    admin = make_portal_user(db, customer)
    return customer, admin, nov, oct_


def test_list_filters_and_totals(client, billed):
    _c, admin, nov, oct_ = billed
    login_portal(client, admin.email, PASSWORD)
    page = client.get("/invoices/").get_data(as_text=True)
    assert nov.number in page and oct_.number in page
    paid = client.get("/invoices/?state=paid").get_data(as_text=True)
    assert nov.number in paid and oct_.number not in paid
    due = client.get("/invoices/?state=due").get_data(as_text=True)
    assert oct_.number in due and nov.number not in due
    only_oct = client.get("/invoices/?from=2026-10&to=2026-10").get_data(as_text=True)
    assert oct_.number in only_oct and nov.number not in only_oct
    assert client.get("/invoices/?from=garbage&state=nonsense").status_code == 200


def test_invoice_page_shows_ksef_number_and_downloads(client, billed, redis_clean, db):
    _c, admin, nov, _o = billed
    ksef_submission.submit(db, nov, SimulatedKsef(redis_clean))
    login_portal(client, admin.email, PASSWORD)
    page = client.get(f"/invoices/{nov.id}").get_data(as_text=True)
    assert nov.ksef_number in page and "<svg" in page
    for suffix, ctype in (
        ("fa3.xml", "application/xml"),
        ("ubl.xml", "application/xml"),
        ("invoice.pdf", "application/pdf"),
        ("detail.csv", "text/csv"),
        ("detail.xlsx", "application/vnd.openxmlformats"),
    ):
        r = client.get(f"/invoices/{nov.id}/{suffix}")
        assert r.status_code == 200 and r.content_type.startswith(ctype), suffix
        assert nov.number.replace("/", "-") in r.headers["Content-Disposition"]


def test_employees_and_division_admins_see_no_invoices(client, billed, db):
    customer, _admin, nov, _o = billed
    employee = make_portal_user(db, customer, role=PortalRole.employee)
    login_portal(client, employee.email, PASSWORD)
    assert client.get("/invoices/").status_code == 403
    assert client.get(f"/invoices/{nov.id}").status_code == 403
    client.get("/logout")
    division = make_unit(db, customer, "Oddział")
    scoped = make_portal_user(db, customer, scope_unit=division)
    client2 = client.application.test_client()
    login_portal(client2, scoped.email, PASSWORD)
    assert client2.get("/invoices/").status_code == 403
    assert client2.get(f"/invoices/{nov.id}/invoice.pdf").status_code == 404


def test_other_customers_invoices_are_404(client, billed, db):
    _c, _admin, nov, _o = billed
    other, _t, _l = billing_customer(db, 1)
    stranger = make_portal_user(db, other)
    login_portal(client, stranger.email, PASSWORD)
    assert client.get(f"/invoices/{nov.id}").status_code == 404
    assert client.get(f"/invoices/{nov.id}/fa3.xml").status_code == 404
    assert nov.number not in client.get("/invoices/").get_data(as_text=True)


def test_cost_centres_across_months(client, billed, db):
    from datetime import date

    from services.invoice_reports import cost_centres_by_month

    customer, admin, nov, oct_ = billed
    months, rows = cost_centres_by_month(db, customer.id, date(2026, 10, 1), date(2026, 11, 1))
    assert months == [date(2026, 10, 1), date(2026, 11, 1)]
    assert sum(r.total for r in rows) == nov.total_net + oct_.total_net
    assert {r.cost_centre for r in rows} == {"CC-100", "CC-200"}
    login_portal(client, admin.email, PASSWORD)
    page = client.get("/invoices/cost-centres?from=2026-10&to=2026-11").get_data(as_text=True)
    assert "CC-100" in page and "2026-10" in page and "2026-11" in page
    assert client.get("/invoices/cost-centres?from=x&to=y").status_code == 200
