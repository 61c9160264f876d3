"""An employee's charges: per invoice only the charges of the employee's own lines, with their
sum; another employee's lines, the invoice totals and the company documents stay hidden;
anyone else and any other invoice is 404."""

from __future__ import annotations

from datetime import date

from models import PortalRole
from services import invoices
from services.audit import Actor
from tests.billing_factories import at, billing_customer, completed_handset
from tests.conftest import login_portal
from tests.factories import PASSWORD, make_portal_user
from tests.fleet_factories import make_employee
from tests.services.test_billing import run_for


def _world(db):
    customer, _t, (mine, other, _spare) = billing_customer(db, 3, fee="40.00")
    me = make_employee(db, customer)
    colleague = make_employee(db, customer)
    mine.employee_id, other.employee_id = me.id, colleague.id
    completed_handset(db, customer, mine, at(date(2026, 11, 9)), price="777.00")
    completed_handset(db, customer, other, at(date(2026, 11, 9)), price="555.00")
    db.flush()
    nov = run_for(db, customer)
    user = make_portal_user(db, customer, role=PortalRole.employee, employee_id=me.id)
    return customer, user, nov, mine, other


def test_the_employee_sees_only_the_charges_of_own_lines(client, db):
    _customer, user, nov, mine, other = _world(db)
    login_portal(client, user.email, PASSWORD)
    page = client.get("/invoices/mine/").get_data(as_text=True)
    assert nov.number in page and mine.msisdn in page
    assert other.msisdn not in page and "555,00" not in page
    assert "777,00" in page and "817,00" in page  # handset + fee: the sum of own lines
    gross = str(nov.total_gross).replace(".", ",")
    assert gross not in page  # not the invoice's totals
    one = client.get(f"/invoices/mine/{nov.id}")
    assert one.status_code == 200 and mine.msisdn in one.get_data(as_text=True)
    # A correction of the employee's line shows; the company's invoice pages stay closed.
    line = next(li for li in invoices.lines_of(db, nov) if li.line_id == mine.id)
    kor = invoices.correct(
        db, Actor.system("test"), nov, "Zwrot", invoices.credit_lines(db, nov, [line.id])
    )
    assert kor.number in client.get("/invoices/mine/").get_data(as_text=True)
    assert client.get("/invoices/").status_code == 403
    assert client.get(f"/invoices/{nov.id}/invoice.pdf").status_code == 403


def test_other_invoices_and_other_roles_are_404(app, client, db):
    customer, user, nov, mine, _other = _world(db)
    other_customer, _t, _l = billing_customer(db, 1)
    foreign = run_for(db, other_customer)
    login_portal(client, user.email, PASSWORD)
    assert client.get(f"/invoices/mine/{foreign.id}").status_code == 404
    assert client.get("/invoices/mine/999999").status_code == 404
    # The line passes to nobody: its charges are no longer the employee's to read.
    mine.employee_id = None
    db.flush()
    assert client.get(f"/invoices/mine/{nov.id}").status_code == 404
    assert nov.number not in client.get("/invoices/mine/").get_data(as_text=True)
    admin_client = app.test_client()
    admin = make_portal_user(db, customer)
    login_portal(admin_client, admin.email, PASSWORD)
    # Company-wide readers are sent to the company's pages; the foreign invoice stays 404.
    assert admin_client.get("/invoices/mine/").headers["Location"].endswith("/invoices/")
    r = admin_client.get(f"/invoices/mine/{nov.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/invoices/{nov.id}")
    assert admin_client.get(f"/invoices/mine/{foreign.id}").status_code == 404
    assert admin_client.get(f"/invoices/{nov.id}").status_code == 200
