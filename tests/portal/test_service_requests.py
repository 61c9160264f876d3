"""Service requests in the portal: a fleet administrator opens one and follows it; a limited
administrator sees its part of the tree and its own requests; the operator's internal notes
never show; employees have no access; another customer's request is 404."""

from __future__ import annotations

from sqlalchemy import select

from models import PortalRole, ServiceRequest
from services import service_requests as svc
from services.audit import Actor
from tests.conftest import csrf_token, login_portal, post_form
from tests.factories import PASSWORD, make_customer, make_portal_user, make_unit
from tests.fleet_factories import make_employee, make_line, make_tariff

STAFF = Actor("staff", None, "opiekun@operator.example")


def _sign_in(client, user):
    client.get("/lang/en")
    assert login_portal(client, user.email, PASSWORD).status_code == 302


def _world(db):
    a, b = make_customer(db), make_customer(db)
    tariff = make_tariff(db)
    root = make_unit(db, a, "Centrala")
    div1, div2 = make_unit(db, a, "Dział IT", root), make_unit(db, a, "Dział handlowy", root)
    return {
        "a": a,
        "b": b,
        "admin": make_portal_user(db, a),
        "limited": make_portal_user(db, a, scope_unit=div1),
        "line1": make_line(db, a, div1, tariff),
        "line2": make_line(db, a, div2, tariff),
        "foreign": make_line(db, b, make_unit(db, b), tariff),
        "div1": div1,
    }


def _open(db, customer, line=None, subject="Ekran pęknięty"):
    return svc.open_request(
        db,
        STAFF,
        customer,
        category="repair",
        subject=subject,
        description="Opis",
        line=line,
    )


def test_fleet_admin_opens_a_request_and_follows_the_operators_answers(client, db):
    w = _world(db)
    _sign_in(client, w["admin"])
    r = post_form(
        client,
        "/service/new",
        {
            "category": "sim_replacement",
            "msisdn": w["line2"].msisdn,
            "subject": "Zgubiona karta SIM",
            "description": "Pracownik zgubił kartę.",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    req = db.scalar(select(ServiceRequest).where(ServiceRequest.customer_id == w["a"].id))
    assert req.opened_by_portal_user_id == w["admin"].id
    svc.change_state(db, STAFF, req, "inProgress", "Nowa karta wysłana kurierem.")
    svc.add_note(db, STAFF, req, "Klient trudny, uważać", internal=True)
    db.flush()
    page = client.get(f"/service/{req.id}").get_data(as_text=True)
    assert "Nowa karta wysłana kurierem." in page and "In progress" in page
    assert "uważać" not in page  # internal notes stay in the console
    r = post_form(client, f"/service/{req.id}/comment", {"body": "Dziękujemy!"})
    assert r.status_code == 302
    assert "Dziękujemy!" in client.get(f"/service/{req.id}").get_data(as_text=True)
    listing = client.get("/service/").get_data(as_text=True)
    assert req.number in listing


def test_bad_input_and_foreign_numbers_are_refused(client, db):
    w = _world(db)
    _sign_in(client, w["limited"])
    for number in (w["foreign"].msisdn, w["line2"].msisdn):  # other customer; outside subtree
        r = post_form(
            client,
            "/service/new",
            {"category": "repair", "msisdn": number, "subject": "x", "description": "y"},
        )
        assert r.status_code == 422
        assert "This number is not one of the customer&#39;s lines." in r.get_data(as_text=True)
    r = post_form(client, "/service/new", {"category": "repair", "subject": "", "description": ""})
    assert r.status_code == 422 and "Enter a subject." in r.get_data(as_text=True)
    assert db.scalar(select(ServiceRequest.id)) is None


def test_who_sees_which_request(client, app, db):
    w = _world(db)
    in_div1 = _open(db, w["a"], w["line1"], "Dział IT")
    in_div2 = _open(db, w["a"], w["line2"], "Dział handlowy")
    company = _open(db, w["a"], None, "Faktura")
    foreign = _open(db, w["b"], w["foreign"], "Obcy")
    db.flush()
    _sign_in(client, w["limited"])
    assert client.get(f"/service/{in_div1.id}").status_code == 200
    for hidden in (in_div2, company, foreign):
        assert client.get(f"/service/{hidden.id}").status_code == 404
    listing = client.get("/service/?state=all").get_data(as_text=True)
    assert in_div1.number in listing and in_div2.number not in listing
    with app.test_client() as other:
        _sign_in(other, w["admin"])
        for visible in (in_div1, in_div2, company):
            assert other.get(f"/service/{visible.id}").status_code == 200
        assert other.get(f"/service/{foreign.id}").status_code == 404
        token = csrf_token(other.get("/service/").get_data(as_text=True))
        r = other.post(f"/service/{foreign.id}/comment", data={"body": "x", "csrf_token": token})
        assert r.status_code == 404


def test_viewers_read_employees_do_not(app, db):
    w = _world(db)
    req = _open(db, w["a"], w["line1"])
    viewer = make_portal_user(db, w["a"], role=PortalRole.viewer)
    employee_user = make_portal_user(
        db, w["a"], role=PortalRole.employee, employee_id=make_employee(db, w["a"], w["div1"]).id
    )
    with app.test_client() as c:
        _sign_in(c, viewer)
        assert c.get(f"/service/{req.id}").status_code == 200
        assert c.get("/service/new").status_code == 403
    with app.test_client() as c:
        _sign_in(c, employee_user)
        assert c.get("/service/").status_code == 403
        assert c.get(f"/service/{req.id}").status_code == 403
