"""Staff management: operator admins only; invitation by link; roles, deactivation, two-step
sign-in reset; customers handed between account managers. Everything audited."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import func, select

from models import AuditEvent, Customer, OutgoingMail, StaffRole, StaffUser
from services.auth import new_totp_secret
from tests.conftest import csrf_token, login_console, post_form
from tests.factories import PASSWORD, make_customer, make_staff


def sign_in(client, db, role=StaffRole.operator_admin):
    secret = new_totp_secret()
    user = make_staff(db, role, totp_secret=secret, totp_enabled=True)
    client.get("/admin/lang/en")
    login_console(client, user.email, PASSWORD)
    assert (
        post_form(client, "/admin/login/code", {"code": pyotp.TOTP(secret).now()}).status_code
        == 302
    )
    return user


def token(client) -> str:
    return csrf_token(client.get("/admin/staff/").get_data(as_text=True))


def staff_urls(app) -> list[tuple[str, str]]:
    console = app.wsgi_app.mounts["/admin"]
    return [
        (method, rule.rule)
        for rule in console.url_map.iter_rules()
        if rule.endpoint.startswith("staff.") and rule.endpoint != "staff.welcome"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def test_only_operator_admins_manage_staff(client, app, db):
    other = make_staff(db)
    for role in (StaffRole.account_manager, StaffRole.sales_admin):
        client = app.test_client()
        sign_in(client, db, role)
        page = client.get("/admin/customers").get_data(as_text=True)
        assert "/admin/staff/" not in page  # no menu entry either
        csrf = csrf_token(page)
        urls = staff_urls(app)
        assert len(urls) >= 9
        for method, rule in urls:
            url = "/admin" + rule.replace("<int:staff_id>", str(other.id))
            r = client.open(url, method=method, data={"csrf_token": csrf})
            assert r.status_code == 403, (role, method, url)
    assert (
        db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("staff.%"))
        )
        == 0
    )


def test_new_staff_member_is_invited_and_sets_a_password(client, app, db):
    sign_in(client, db)
    r = post_form(
        client,
        "/admin/staff/new",
        {
            "email": "Nowa.Opiekunka@Operator.example",
            "full_name": "Nowa Opiekunka",
            "role": "account_manager",
        },
    )
    assert r.status_code == 302
    person = db.scalar(
        select(StaffUser).where(StaffUser.email == "nowa.opiekunka@operator.example")
    )
    assert person.role == StaffRole.account_manager and person.password_hash is None
    mail = db.scalar(select(OutgoingMail).where(OutgoingMail.recipient == person.email))
    link = re.search(r"http://localhost(/admin/staff/welcome/\S+)", mail.body_text).group(1)

    r = post_form(
        client,
        "/admin/staff/new",
        {"email": "nowa.opiekunka@operator.example", "full_name": "X", "role": "sales_admin"},
    )
    assert r.status_code == 422
    assert "A staff member with this e-mail address already exists." in r.get_data(as_text=True)

    browser = app.test_client()
    browser.get("/admin/lang/en")
    page = browser.get(link)
    assert page.status_code == 200 and "Welcome, Nowa Opiekunka" in page.get_data(as_text=True)
    r = post_form(browser, link, {"password": "short", "confirm": "short"})
    assert r.status_code == 422 and "at least 10 characters" in r.get_data(as_text=True)
    r = post_form(
        browser,
        link,
        {
            "password": "Nowa.Opiekunka@Operator.example",
            "confirm": "Nowa.Opiekunka@Operator.example",
        },
    )
    assert r.status_code == 422 and "cannot be your e-mail address" in r.get_data(as_text=True)
    r = post_form(
        browser, link, {"password": "Zupelnie-nowe-2026", "confirm": "Zupelnie-nowe-2026"}
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/login")
    assert browser.get(link).status_code == 400  # once only
    assert login_console(browser, person.email, "Zupelnie-nowe-2026").status_code == 302
    assert browser.get("/admin/customers").status_code == 200


def test_tampered_staff_link_is_refused(client, db):
    client.get("/admin/lang/en")
    r = client.get("/admin/staff/welcome/eyJpZCI6MX0.invalid.signature")
    assert r.status_code == 400
    assert "This link is not valid" in r.get_data(as_text=True)


def test_roles_and_deactivation(client, app, db):
    me = sign_in(client, db)
    manager = make_staff(db, full_name="Anna Opiekun")
    customer = make_customer(db, account_manager_id=manager.id)
    csrf = token(client)

    def post(url, **data):
        return client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=True)

    # the manager's own session, to see it end
    other_browser = app.test_client()
    assert login_console(other_browser, manager.email, PASSWORD).status_code == 302

    r = post(f"/admin/staff/{manager.id}/deactivate")
    assert "still assigned to this account manager" in r.get_data(as_text=True)
    r = post(f"/admin/staff/{manager.id}/role", role="sales_admin")
    assert "still assigned to this account manager" in r.get_data(as_text=True)
    r = post(f"/admin/staff/{me.id}/deactivate")
    assert "You cannot deactivate your own account." in r.get_data(as_text=True)
    r = post(f"/admin/staff/{me.id}/role", role="account_manager")
    assert "You cannot change your own role" in r.get_data(as_text=True)
    db.refresh(me)
    assert me.is_active and me.role == StaffRole.operator_admin

    r = post(
        f"/admin/staff/{manager.id}/customers/handover", customer_ids=str(customer.id), target_id=""
    )
    assert "handed over" in r.get_data(as_text=True)
    db.refresh(customer)
    assert customer.account_manager_id is None
    r = post(f"/admin/staff/{manager.id}/deactivate")
    assert "can no longer sign in" in r.get_data(as_text=True)
    assert other_browser.get("/admin/customers").status_code == 302  # session ended
    r = post(f"/admin/staff/{manager.id}/reactivate")
    assert "can sign in again" in r.get_data(as_text=True)
    r = post(f"/admin/staff/{manager.id}/role", role="sales_admin")
    db.refresh(manager)
    assert manager.role == StaffRole.sales_admin
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_type == "staff_user", AuditEvent.object_id == manager.id
        )
    ).all()
    assert {"staff.deactivated", "staff.reactivated", "staff.role_changed"} <= set(actions)
    page = client.get(f"/admin/staff/{manager.id}").get_data(as_text=True)
    assert "Role changed" in page


def test_customers_are_assigned_from_the_staff_page(client, db):
    sign_in(client, db)
    anna = make_staff(db, full_name="Anna Opiekun")
    bartek = make_staff(db, full_name="Bartek Opiekun")
    mine = [make_customer(db, account_manager_id=anna.id) for _ in range(3)]
    loose = make_customer(db)
    csrf = token(client)
    page = client.get(f"/admin/staff/{anna.id}").get_data(as_text=True)
    assert loose.name in page  # offered for assignment
    r = client.post(
        f"/admin/staff/{anna.id}/customers/assign",
        data={"csrf_token": csrf, "customer_ids": [str(loose.id)]},
    )
    assert r.status_code == 302
    r = client.post(
        f"/admin/staff/{anna.id}/customers/handover",
        data={
            "csrf_token": csrf,
            "customer_ids": [str(mine[0].id), str(mine[1].id)],
            "target_id": str(bartek.id),
        },
    )
    assert r.status_code == 302
    owners = dict(
        db.execute(
            select(Customer.id, Customer.account_manager_id).where(
                Customer.id.in_([c.id for c in [*mine, loose]])
            )
        ).all()
    )
    assert owners == {
        mine[0].id: bartek.id,
        mine[1].id: bartek.id,
        mine[2].id: anna.id,
        loose.id: anna.id,
    }
    # a hand-over only moves the manager's own customers, whatever ids are posted
    r = client.post(
        f"/admin/staff/{anna.id}/customers/handover",
        data={"csrf_token": csrf, "customer_ids": [str(mine[0].id)], "target_id": ""},
    )
    db.refresh(mine[0])
    assert mine[0].account_manager_id == bartek.id
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "customer.manager_changed")
    ).all()
    assert len(events) == 3 and all(e.customer_id for e in events)


def test_two_step_sign_in_reset(client, app, db):
    sign_in(client, db)
    secret = new_totp_secret()
    other = make_staff(db, StaffRole.operator_admin, totp_secret=secret, totp_enabled=True)
    r = client.post(f"/admin/staff/{other.id}/totp-reset", data={"csrf_token": token(client)})
    assert r.status_code == 302
    db.refresh(other)
    assert not other.totp_enabled and other.totp_secret is None
    browser = app.test_client()
    r = login_console(browser, other.email, PASSWORD)
    assert r.headers["Location"].endswith("/admin/login/setup-code")  # enrols again
