"""Self-service through the portal, as employees and fleet admins use it (CSRF on)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from models import (
    OutgoingMail,
    PortalRole,
    PortalUser,
    ProvisioningRequest,
    SelfServiceRequest,
    SelfServiceState,
)
from services import policies, selfservice
from services.audit import Actor
from tests.conftest import login_portal, post_form
from tests.factories import PASSWORD, make_portal_user
from tests.fleet_factories import make_employee, make_line, make_tariff
from tests.selfservice_factories import make_company

ADMIN = Actor("portal", 1, "admin@test")


def _login(client, email):
    login_portal(client, email, PASSWORD)
    client.get("/lang/en")


def _dates(days_ahead=0, length=3):
    start = selfservice.warsaw_today() + timedelta(days=days_ahead)
    return start.isoformat(), (start + timedelta(days=length - 1)).isoformat()


def test_employee_sees_only_own_lines(client, db):
    co = make_company(db)
    colleague = make_employee(db, co.customer, co.team)
    other_line = make_line(db, co.customer, co.team, make_tariff(db), colleague)
    _login(client, co.user.email)
    page = client.get(f"/my/lines/{co.line.id}")
    assert page.status_code == 200
    assert client.get(f"/my/lines/{other_line.id}").status_code == 404
    assert client.get(f"/my/lines/{other_line.id}/exchange").status_code == 404
    assert client.get("/my/").headers["Location"].endswith(f"/my/lines/{co.line.id}")
    # the fleet and the admin pages are not theirs
    assert client.get(f"/fleet/{co.line.id}").status_code == 403
    assert client.get("/selfservice/").status_code == 403
    assert client.get(f"/selfservice/lines/{co.line.id}/policy").status_code == 403


def test_roaming_period_is_pending_and_a_zone_beyond_the_policy_is_refused(client, db):
    co = make_company(db)
    policies.set_rules(db, ADMIN, co.root, {"roaming.zone": "europe"})
    _login(client, co.user.email)
    url = f"/my/lines/{co.line.id}"
    start, end = _dates(0, 3)
    r = post_form(
        client, f"{url}/roaming", {"zone": "europe", "start": start, "end": end}, form_url=url
    )
    assert r.status_code == 302
    page = client.get(url).get_data(as_text=True)
    # pending, not confirmed: the network has not said so yet
    assert 'data-service="roaming"' in page and 'data-target="on"' in page
    row = page.split('data-service="roaming"')[1].split("</tr>")[0]
    assert 'data-confirmed="off"' in row and 'data-target="on"' in row
    assert db.scalar(select(ProvisioningRequest).where(ProvisioningRequest.line_id == co.line.id))

    start, end = _dates(10, 3)
    r = post_form(
        client, f"{url}/roaming", {"zone": "world", "start": start, "end": end}, form_url=url
    )
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert "Roaming in this zone is not allowed" in text, text[text.find("<main") :][:3000]
    assert "Firma" in text and "Sebastian Sprzedaż" in text


def test_roaming_form_errors_are_shown(client, db):
    co = make_company(db)
    _login(client, co.user.email)
    url = f"/my/lines/{co.line.id}"
    start, end = _dates(3, 3)
    data = {"zone": "eu", "start": end, "end": start}
    r = post_form(client, f"{url}/roaming", data, form_url=url)
    assert r.status_code == 422
    assert "The last day cannot be before the first." in r.get_data(as_text=True)
    r = post_form(client, f"{url}/roaming", {"zone": "eu", "start": "", "end": ""}, form_url=url)
    assert r.status_code == 400


def test_csrf_is_required(client, db):
    co = make_company(db)
    _login(client, co.user.email)
    start, end = _dates(1, 2)
    r = client.post(
        f"/my/lines/{co.line.id}/roaming", data={"zone": "eu", "start": start, "end": end}
    )
    assert r.status_code == 400
    assert db.scalars(select(SelfServiceRequest)).all() == []


def test_admin_approves_and_rejects_with_mail_to_both_sides(client, db):
    co = make_company(db, svc_intl_calls=False)
    policies.set_rules(db, ADMIN, co.root, {"service.intl_calls": "approval"})
    _login(client, co.user.email)
    url = f"/my/lines/{co.line.id}"
    r = post_form(client, f"{url}/service", {"service": "intl_calls", "on": "1"}, form_url=url)
    assert r.status_code == 302
    req = db.scalar(select(SelfServiceRequest))
    assert req.state == SelfServiceState.pending
    assert co.sales_admin.email in {m.recipient for m in db.scalars(select(OutgoingMail))}

    # an admin of another branch does not see it, and cannot decide it
    outsider = make_portal_user(db, co.customer, scope_unit=co.other)
    client3 = client.application.test_client()
    _login(client3, outsider.email)
    assert f'data-request="{req.id}"' not in client3.get("/selfservice/").get_data(as_text=True)
    r = post_form(client3, f"/selfservice/requests/{req.id}/approve", {}, form_url="/selfservice/")
    assert r.status_code == 404

    client2 = client.application.test_client()
    _login(client2, co.sales_admin.email)
    page = client2.get("/selfservice/").get_data(as_text=True)
    assert f'data-request="{req.id}"' in page
    r = post_form(client2, f"/selfservice/requests/{req.id}/approve", {}, form_url="/selfservice/")
    assert r.status_code == 302
    db.refresh(req)
    assert req.state == SelfServiceState.approved
    assert db.scalar(select(ProvisioningRequest).where(ProvisioningRequest.line_id == co.line.id))
    employee_mail = db.scalar(select(OutgoingMail).where(OutgoingMail.recipient == co.user.email))
    assert employee_mail is not None


def test_admin_edits_a_unit_policy_and_sees_the_sources(client, db):
    co = make_company(db)
    _login(client, co.sales_admin.email)
    url = f"/selfservice/units/{co.team.id}/policy"
    r = post_form(
        client,
        url,
        {"set:roaming.zone": "1", "rule:roaming.zone": "world", "rule:roaming.max_days": "99"},
    )
    assert r.status_code == 302
    assert policies.own_rules(db, co.team) == {"roaming.zone": "world"}  # max_days not ticked
    page = client.get(f"/selfservice/lines/{co.line.id}/policy").get_data(as_text=True)
    assert '<tr data-rule="roaming.zone">' in page and f'data-source="{co.team.id}"' in page

    r = post_form(client, url, {"set:roaming.max_days": "1", "rule:roaming.max_days": "0"})
    assert r.status_code == 422
    assert policies.own_rules(db, co.team) == {"roaming.zone": "world"}
    # outside the admin's subtree
    assert client.get(f"/selfservice/units/{co.other.id}/policy").status_code == 404
    assert client.get(f"/selfservice/units/{co.root.id}/policy").status_code == 404


def test_invite_a_whole_unit_with_a_summary(client, db):
    co = make_company(db)
    fresh = make_employee(db, co.customer, co.team, name="Nowa Osoba")
    no_mail = make_employee(db, co.customer, co.sales, name="Bez Maila", email=None)
    make_employee(db, co.customer, co.other, name="Inny Dział")
    _login(client, co.sales_admin.email)
    url = f"/selfservice/units/{co.sales.id}/invite"
    r = post_form(client, url, {}, form_url=f"/selfservice/units/{co.sales.id}/policy")
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert "Nowa Osoba" in text and "Bez Maila" in text and "Inny Dział" not in text
    user = db.scalar(select(PortalUser).where(PortalUser.email == fresh.email))
    assert user.role == PortalRole.employee and user.employee_id == fresh.id
    assert db.scalar(select(OutgoingMail).where(OutgoingMail.recipient == fresh.email))
    assert no_mail.id  # skipped: no e-mail address
    assert "no e-mail address" in text and "already has an account" in text


def test_employee_orders_a_handset_within_the_policy(client, db):
    from models import OrderLine
    from tests.fleet_factories import make_handset

    co = make_company(db)
    phone = make_handset(db, name="Telefon Służbowy", price="800.00")
    _login(client, co.user.email)
    url = f"/my/lines/{co.line.id}/exchange"
    page = client.get(url).get_data(as_text=True)
    assert "Telefon Służbowy" in page
    r = post_form(client, url, {"product_id": str(phone.id)})
    assert r.status_code == 302
    line = db.scalar(select(OrderLine).where(OrderLine.line_id == co.line.id))
    assert line.product_id == phone.id
    r = post_form(client, url, {"product_id": "999999999"})
    assert r.status_code == 422


def test_invite_one_employee_from_the_line_page(client, db):
    co = make_company(db)
    fresh = make_employee(db, co.customer, co.team, name="Ewa Nowa")
    line = make_line(db, co.customer, co.team, make_tariff(db), fresh)
    outsider = make_employee(db, co.customer, co.other)
    _login(client, co.sales_admin.email)
    url = f"/selfservice/employees/{fresh.id}/invite"
    r = post_form(client, url, {}, form_url=f"/fleet/{line.id}")
    assert r.status_code == 302
    assert db.scalar(select(PortalUser).where(PortalUser.employee_id == fresh.id))
    r = post_form(client, url, {}, form_url=f"/fleet/{line.id}")  # twice: refused, told why
    assert (
        db.scalar(
            select(func.count()).select_from(PortalUser).where(PortalUser.employee_id == fresh.id)
        )
        == 1
    )
    r = post_form(
        client, f"/selfservice/employees/{outsider.id}/invite", {}, form_url=f"/fleet/{line.id}"
    )
    assert r.status_code == 404  # another branch


def test_employee_lands_on_their_line(client, db):
    co = make_company(db)
    _login(client, co.user.email)
    assert client.get("/").status_code == 302


def test_employee_withdraws_a_pending_request(client, db):
    co = make_company(db, svc_intl_calls=False)
    _login(client, co.user.email)
    url = f"/my/lines/{co.line.id}"
    post_form(client, f"{url}/service", {"service": "intl_calls", "on": "1"}, form_url=url)
    req = db.scalar(select(SelfServiceRequest))
    assert req.state == SelfServiceState.pending
    colleague = make_employee(db, co.customer, co.team)
    other_line = make_line(db, co.customer, co.team, make_tariff(db), colleague)
    r = post_form(client, f"/my/lines/{other_line.id}/requests/{req.id}/cancel", {}, form_url=url)
    assert r.status_code == 404
    r = post_form(client, f"{url}/requests/{req.id}/cancel", {}, form_url=url)
    assert r.status_code == 302
    db.refresh(req)
    assert req.state == SelfServiceState.cancelled
