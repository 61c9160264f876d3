"""Service requests in the console: an account manager opens one for a customer, changes its
state and adds notes; everything reaches the customer's timeline; another manager's requests
answer 404; bad input is refused with a message; sales admins only read."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import ServiceRequest, ServiceRequestNote, ServiceRequestState, StaffRole
from models.base import utcnow
from services import service_requests as svc
from services.audit import Actor
from tests.admin_console.test_customers import sign_in
from tests.conftest import csrf_token, post_form
from tests.factories import make_customer, make_staff, make_unit
from tests.fleet_factories import make_line, make_tariff

ACTOR = Actor("staff", None, "test")


def _world(db):
    manager = make_staff(db)
    other = make_staff(db)
    mine = make_customer(db, name="Moja Firma", account_manager_id=manager.id)
    theirs = make_customer(db, name="Cudza Firma", account_manager_id=other.id)
    tariff = make_tariff(db)
    line = make_line(db, mine, make_unit(db, mine), tariff)
    foreign_line = make_line(db, theirs, make_unit(db, theirs), tariff)
    return manager, mine, theirs, line, foreign_line


def _open(db, customer, **kw):
    data = {"category": "repair", "subject": "Ekran", "description": "Pęknięty ekran", **kw}
    return svc.open_request(db, ACTOR, customer, **data)


def test_manager_opens_a_request_for_a_line_and_it_reaches_the_timeline(client, db):
    manager, mine, _theirs, line, _foreign = _world(db)
    sign_in(client, manager)
    url = f"/admin/service-requests/new/{mine.id}"
    r = post_form(
        client,
        url,
        {
            "category": "repair",
            "msisdn": line.msisdn[3:],  # typed without +48
            "subject": "Telefon nie ładuje",
            "description": "Od wczoraj nie ładuje.",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    req = db.scalar(select(ServiceRequest).where(ServiceRequest.customer_id == mine.id))
    assert req.line_id == line.id and req.state == ServiceRequestState.acknowledged
    assert req.opened_by_staff_id == manager.id
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert req.number in page and "Telefon nie ładuje" in page
    timeline = client.get(f"/admin/customers/{mine.id}/timeline?kind=service").get_data(
        as_text=True
    )
    assert f"Service request opened: {req.number}" in timeline


def test_bad_input_is_refused_with_messages_and_nothing_is_saved(client, db):
    manager, mine, _theirs, _line, foreign_line = _world(db)
    sign_in(client, manager)
    url = f"/admin/service-requests/new/{mine.id}"
    r = post_form(client, url, {"category": "x", "subject": "", "description": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    for message in ("Choose what the request is about.", "Enter a subject.", "Describe what"):
        assert message in html
    r = post_form(
        client,
        url,
        {"category": "repair", "msisdn": foreign_line.msisdn, "subject": "a", "description": "b"},
    )
    assert r.status_code == 422
    assert "This number is not one of the customer&#39;s lines." in r.get_data(as_text=True)
    assert db.scalar(select(ServiceRequest.id)) is None


def test_state_changes_and_notes_with_refusals(client, db):
    manager, mine, _theirs, _line, _foreign = _world(db)
    req = _open(db, mine)
    sign_in(client, manager)
    url = f"/admin/service-requests/{req.id}"
    r = post_form(client, f"{url}/state", {"state": "closed"}, form_url=url)
    assert r.status_code == 422
    assert "cannot go from its present state" in r.get_data(as_text=True)
    r = post_form(
        client, f"{url}/state", {"state": "inProgress", "note": "Kurier jutro."}, form_url=url
    )
    assert r.status_code == 302
    r = post_form(client, f"{url}/notes", {"body": "", "internal": "y"}, form_url=url)
    assert r.status_code == 422 and "Write the note." in r.get_data(as_text=True)
    r = post_form(
        client, f"{url}/notes", {"body": "Zadzwonić do klienta", "internal": "y"}, form_url=url
    )
    assert r.status_code == 302
    db.refresh(req)
    assert req.state == ServiceRequestState.inProgress
    notes = db.scalars(select(ServiceRequestNote).where(ServiceRequestNote.request_id == req.id))
    assert [(n.body, n.internal) for n in notes] == [
        ("Kurier jutro.", False),
        ("Zadzwonić do klienta", True),
    ]
    timeline = client.get(f"/admin/customers/{mine.id}/timeline").get_data(as_text=True)
    assert "New → In progress" in timeline and "Internal note on service request" in timeline


def test_another_managers_requests_and_customers_are_404(client, db):
    manager, mine, theirs, _line, _foreign = _world(db)
    req = _open(db, theirs)
    sign_in(client, manager)
    assert client.get(f"/admin/service-requests/{req.id}").status_code == 404
    assert client.get(f"/admin/service-requests/new/{theirs.id}").status_code == 404
    assert client.get(f"/admin/service-requests/?customer_id={theirs.id}").status_code == 404
    own_page = client.get("/admin/service-requests/")
    token_page = own_page.get_data(as_text=True)
    assert req.number not in token_page
    # Posting with a valid token from an own page still finds nothing.
    token = csrf_token(client.get(f"/admin/customers/{mine.id}/timeline").get_data(as_text=True))
    for path, data in (("state", {"state": "inProgress"}), ("notes", {"body": "x"})):
        r = client.post(
            f"/admin/service-requests/{req.id}/{path}", data={**data, "csrf_token": token}
        )
        assert r.status_code == 404
    db.refresh(req)
    assert req.state == ServiceRequestState.acknowledged


def test_list_filters_by_state_overdue_and_customer(client, db):
    manager, mine, _theirs, _line, _foreign = _world(db)
    second = make_customer(db, name="Druga Firma", account_manager_id=manager.id)
    now = utcnow()
    late = _open(db, mine, subject="Spóźnione")
    late.opened_at, late.due_at = now - timedelta(days=5), now - timedelta(hours=1)
    fresh = _open(db, second, subject="Świeże")
    done = _open(db, mine, subject="Gotowe")
    svc.change_state(db, ACTOR, done, "resolved")
    db.flush()
    sign_in(client, manager)

    def listed(query: str) -> set[str]:
        html = client.get(f"/admin/service-requests/?{query}").get_data(as_text=True)
        return {r.subject for r in (late, fresh, done) if f">{r.number}<" in html}

    assert listed("") == {"Spóźnione", "Świeże"}
    assert listed("overdue=1") == {"Spóźnione"}
    assert listed(f"customer_id={second.id}") == {"Świeże"}
    assert listed("state=resolved") == {"Gotowe"}
    assert listed("state=all") == {"Spóźnione", "Świeże", "Gotowe"}


def test_sales_admin_reads_but_cannot_change(client, db):
    _manager, mine, _theirs, _line, _foreign = _world(db)
    req = _open(db, mine)
    sales = make_staff(db, StaffRole.sales_admin)
    sign_in(client, sales)
    url = f"/admin/service-requests/{req.id}"
    assert client.get(url).status_code == 200
    assert client.get(f"/admin/service-requests/new/{mine.id}").status_code == 403
    token = csrf_token(client.get("/admin/customers").get_data(as_text=True))
    r = client.post(f"{url}/state", data={"state": "inProgress", "csrf_token": token})
    assert r.status_code == 403


def test_report_counts_overdue_requests_per_customer(client, db):
    manager, mine, _theirs, _line, _foreign = _world(db)
    now = utcnow()
    for hours_late in (1, 30):
        r = _open(db, mine)
        r.opened_at, r.due_at = now - timedelta(days=3), now - timedelta(hours=hours_late)
    _open(db, mine)  # open, not yet due
    db.flush()
    sign_in(client, manager)
    html = client.get("/admin/reports/").get_data(as_text=True)
    assert "2 overdue" in html
    csv_text = client.get("/admin/reports/export.csv").get_data(as_text=True)
    header, row = csv_text.lstrip("\ufeff").splitlines()[:2]
    cols = dict(zip(header.split(";"), row.split(";"), strict=True))
    assert cols["Open service requests"] == "3" and cols["Overdue service requests"] == "2"
