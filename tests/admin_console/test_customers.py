"""Customer records in the console, as an account manager uses them: create, edit, contacts,
addresses, notes, portal users; bad input refused with a message; managers see only their own
customers (404), sales admins only read (403)."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import func, select

from models import (
    AuditEvent,
    Contact,
    Customer,
    CustomerAddress,
    CustomerNote,
    OutgoingMail,
    PortalRole,
    PortalUser,
    StaffRole,
)
from services.auth import new_totp_secret
from tests.conftest import csrf_token, login_console, post_form
from tests.factories import (
    PASSWORD,
    make_customer,
    make_portal_user,
    make_staff,
    make_unit,
    valid_nip,
)

NEW = "/admin/customers/new"


def english(client) -> None:
    client.get("/admin/lang/en")


def sign_in(client, staff) -> None:
    english(client)
    assert login_console(client, staff.email, PASSWORD).status_code == 302


def sign_in_admin(client, db):
    secret = new_totp_secret()
    admin = make_staff(db, StaffRole.operator_admin, totp_secret=secret, totp_enabled=True)
    english(client)
    login_console(client, admin.email, PASSWORD)
    assert (
        post_form(client, "/admin/login/code", {"code": pyotp.TOTP(secret).now()}).status_code
        == 302
    )
    return admin


def company(**kw) -> dict:
    data = {
        "name": "Hurtownia Zdrowia Sp. z o.o.",
        "nip": valid_nip(711),
        "regon": "",
        "krs": "0000123456",
        "street": "ul. Piękna 7",
        "postal_code": "00-549",
        "city": "Warszawa",
        "email": "biuro@hurtownia.pl",
        "phone": "22 123 45 67",
    }
    data.update(kw)
    return data


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_account_manager_keeps_a_customer_record(client, db):
    me = make_staff(db)
    sign_in(client, me)

    r = post_form(client, NEW, company())
    assert r.status_code == 302
    customer = db.scalar(select(Customer).where(Customer.name == "Hurtownia Zdrowia Sp. z o.o."))
    assert customer.account_manager_id == me.id and customer.phone == "+48221234567"
    url = f"/admin/customers/{customer.id}"
    assert r.headers["Location"].endswith(url)

    r = post_form(client, f"{url}/edit", company(city="Piaseczno", postal_code="05-500"))
    assert r.status_code == 302
    db.refresh(customer)
    assert customer.city == "Piaseczno"

    r = post_form(
        client,
        f"{url}/contacts/new",
        {
            "full_name": "Ewa Nowak",
            "role": "fleet_admin",
            "position": "Kierownik IT",
            "email": "ewa.nowak@hurtownia.pl",
            "phone": "601 234 567",
            "notes": "",
        },
    )
    assert r.status_code == 302
    contact = db.scalar(select(Contact).where(Contact.customer_id == customer.id))
    assert contact.phone == "+48601234567"
    r = post_form(
        client,
        f"{url}/contacts/{contact.id}/edit",
        {
            "full_name": "Ewa Nowak-Kowalska",
            "role": "decision_maker",
            "position": "",
            "email": "ewa.nowak@hurtownia.pl",
            "phone": "",
            "notes": "Woli kontakt mailowy.",
        },
    )
    assert r.status_code == 302

    r = post_form(
        client,
        f"{url}/addresses/new",
        {
            "kind": "invoice",
            "label": "Księgowość",
            "street": "ul. Długa 1",
            "postal_code": "80-001",
            "city": "Gdańsk",
        },
    )
    assert r.status_code == 302
    address = db.scalar(select(CustomerAddress).where(CustomerAddress.customer_id == customer.id))

    r = post_form(
        client,
        f"{url}/notes",
        {"kind": "call", "body": "Rozmowa o flocie."},
        form_url=f"{url}/timeline",
    )
    assert r.status_code == 302

    page = client.get(url).get_data(as_text=True)
    assert "Ewa Nowak-Kowalska" in page and "Księgowość" in page and "+48 22 123 45 67" in page
    timeline = client.get(f"{url}/timeline").get_data(as_text=True)
    for sentence in (
        "Customer record created",
        "Company data changed",
        "Contact added: Ewa Nowak (fleet administrator)",
        "Contact changed: Ewa Nowak-Kowalska",
        "Invoice address added: ul. Długa 1, 80-001 Gdańsk",
        "Rozmowa o flocie.",
    ):
        assert sentence in timeline, sentence
    assert "town: Warszawa → Piaseczno" in timeline
    calls = client.get(f"{url}/timeline?kind=notes").get_data(as_text=True)
    assert "Rozmowa o flocie." in calls and "Customer record created" not in calls

    token = csrf_token(page)
    r = client.post(f"{url}/addresses/{address.id}/delete", data={"csrf_token": token})
    assert r.status_code == 302 and count(db, CustomerAddress) == 0
    r = client.post(f"{url}/contacts/{contact.id}/delete", data={"csrf_token": token})
    assert r.status_code == 302 and count(db, Contact) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "Enter the company name."),
        ({"nip": "123-456-78-90"}, "This NIP is not valid"),
        ({"regon": "123456789"}, "This REGON is not valid"),
        ({"krs": "123"}, "The KRS number has exactly 10 digits"),
        ({"postal_code": "00549"}, "The postal code has the form 00-000."),
        ({"email": "biuro@@hurtownia"}, "This is not a valid e-mail address"),
        ({"phone": "123"}, "This is not a valid phone number"),
    ],
)
def test_customer_form_refuses_bad_input(client, db, change, message):
    me = make_staff(db)
    sign_in(client, me)
    r = post_form(client, NEW, company(**change))
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert count(db, Customer, Customer.name == "Hurtownia Zdrowia Sp. z o.o.") == 0
    existing = make_customer(db, account_manager_id=me.id, city="Radom")
    r = post_form(client, f"/admin/customers/{existing.id}/edit", company(**change))
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    db.refresh(existing)
    assert existing.city == "Radom"


def test_duplicate_nip_is_refused(client, db):
    me = make_staff(db)
    theirs = make_customer(db)  # someone else's customer: the NIP is taken all the same
    sign_in(client, me)
    r = post_form(client, NEW, company(nip=theirs.nip))
    assert r.status_code == 422
    assert "A customer with this NIP already exists." in r.get_data(as_text=True)
    assert count(db, Customer, Customer.nip == theirs.nip) == 1


def test_other_forms_refuse_bad_input(client, db):
    me = make_staff(db)
    customer = make_customer(db, account_manager_id=me.id)
    make_portal_user(db, customer, email="zajety@firma.pl")
    sign_in(client, me)
    url = f"/admin/customers/{customer.id}"
    cases = [
        (
            f"{url}/contacts/new",
            {"full_name": "", "role": "finance", "email": "a@b.pl"},
            "Enter the name.",
        ),
        (
            f"{url}/contacts/new",
            {"full_name": "Jan", "role": "finance", "email": "jan@"},
            "This is not a valid e-mail address",
        ),
        (
            f"{url}/contacts/new",
            {"full_name": "Jan", "role": "finance", "phone": "+48 1"},
            "This is not a valid phone number",
        ),
        (
            f"{url}/contacts/new",
            {"full_name": "Jan", "role": "finance"},
            "Give an e-mail address or a phone number",
        ),
        (
            f"{url}/addresses/new",
            {"kind": "delivery", "street": "ul. A 1", "postal_code": "1-234", "city": "Łódź"},
            "The postal code has the form 00-000.",
        ),
        (
            f"{url}/addresses/new",
            {"kind": "delivery", "street": "", "postal_code": "90-001", "city": "Łódź"},
            "Enter the street and number.",
        ),
        (
            f"{url}/users/invite",
            {"email": "nowy@", "full_name": "Nowy", "role": "fleet_admin"},
            "This is not a valid e-mail address",
        ),
        (
            f"{url}/users/invite",
            {"email": "ZAJETY@firma.pl", "full_name": "Nowy", "role": "fleet_admin"},
            "A portal user with this e-mail address already exists.",
        ),
        (
            f"{url}/users/invite",
            {"email": "nowy@firma.pl", "full_name": "", "role": "viewer"},
            "Enter the name.",
        ),
    ]
    for action, data, message in cases:
        form_url = action
        r = post_form(client, action, data, form_url=form_url)
        assert r.status_code == 422, action
        assert message in r.get_data(as_text=True), (action, message)
    r = post_form(
        client, f"{url}/notes", {"kind": "note", "body": "  "}, form_url=f"{url}/timeline"
    )
    assert r.status_code == 422 and "Write the note." in r.get_data(as_text=True)
    assert count(db, Contact) == count(db, CustomerAddress) == count(db, CustomerNote) == 0
    assert count(db, PortalUser, PortalUser.customer_id == customer.id) == 1
    assert count(db, OutgoingMail) == 0


def test_invited_fleet_admin_sets_a_password_and_signs_in(client, app, db):
    me = make_staff(db)
    customer = make_customer(db, account_manager_id=me.id, name="Zielona Energia S.A.")
    it = make_unit(db, customer, "IT")
    sign_in(client, me)
    url = f"/admin/customers/{customer.id}/users"
    r = post_form(
        client,
        f"{url}/invite",
        {
            "email": "Ewa.Nowak@Zielona.pl",
            "full_name": "Ewa Nowak",
            "role": "fleet_admin",
            "scope_unit_id": str(it.id),
            "can_approve_orders": "y",
        },
    )
    assert r.status_code == 302
    user = db.scalar(select(PortalUser).where(PortalUser.email == "ewa.nowak@zielona.pl"))
    assert user.scope_unit_id == it.id and user.can_approve_orders and user.password_hash is None
    mail = db.scalar(select(OutgoingMail).where(OutgoingMail.recipient == user.email))
    assert mail.customer_id == customer.id and mail.staff_user_id == me.id
    assert "Zielona Energia S.A." in mail.body_text  # in Polish, the recipient's language
    assert "Twój dostęp" in mail.subject or "Asystent" in mail.subject
    page = client.get(url).get_data(as_text=True)
    assert "invited" in page and "Ewa Nowak" in page

    link = re.search(r"http://localhost(/welcome/\S+)", mail.body_text).group(1)
    portal = app.test_client()
    portal.get("/lang/en")
    form = portal.get(link)
    assert form.status_code == 200 and "Zielona Energia S.A." in form.get_data(as_text=True)
    r = portal.post(
        link,
        data={
            "password": "krotkie",
            "confirm": "krotkie",
            "csrf_token": csrf_token(form.get_data(as_text=True)),
        },
    )
    assert r.status_code == 422 and "at least 10 characters" in r.get_data(as_text=True)
    db.refresh(user)
    assert user.password_hash is None
    r = post_form(portal, link, {"password": "Zielone-pole-2026", "confirm": "Zielone-pole-2026"})
    assert r.status_code == 302
    assert portal.get("/dashboard").status_code == 200  # signed in
    assert portal.get(link).status_code == 400  # the link worked once

    page = client.get(url).get_data(as_text=True)
    assert "active" in page
    timeline = client.get(f"/admin/customers/{customer.id}/timeline").get_data(as_text=True)
    assert "Ewa Nowak invited to the portal as fleet administrator" in timeline
    assert "Ewa Nowak accepted the invitation and set a password" in timeline
    assert "waiting to be sent" in timeline  # the invitation mail, not yet sent by a worker


def test_portal_user_actions(client, app, db):
    me = make_staff(db)
    customer = make_customer(db, account_manager_id=me.id)
    user = make_portal_user(db, customer, role=PortalRole.viewer)
    invited = make_portal_user(db, customer, password_hash=None)
    sign_in(client, me)
    base = f"/admin/customers/{customer.id}/users"
    token = csrf_token(client.get(base).get_data(as_text=True))

    portal = app.test_client()
    assert (
        post_form(portal, "/login", {"email": user.email, "password": PASSWORD}).status_code == 302
    )
    assert portal.get("/dashboard").status_code == 200

    assert client.post(f"{base}/{user.id}/lock", data={"csrf_token": token}).status_code == 302
    db.refresh(user)
    assert not user.is_active
    assert portal.get("/dashboard").status_code == 302  # the open session has ended
    r = post_form(portal, "/login", {"email": user.email, "password": PASSWORD})
    assert r.status_code == 401  # and it cannot sign in again
    # a locked user gets no links
    r = client.post(f"{base}/{user.id}/reset", data={"csrf_token": token}, follow_redirects=True)
    assert "The account is locked" in r.get_data(as_text=True)
    assert client.post(f"{base}/{user.id}/unlock", data={"csrf_token": token}).status_code == 302
    again = app.test_client()
    assert (
        post_form(again, "/login", {"email": user.email, "password": PASSWORD}).status_code == 302
    )

    assert client.post(f"{base}/{user.id}/reset", data={"csrf_token": token}).status_code == 302
    assert client.post(f"{base}/{invited.id}/resend", data={"csrf_token": token}).status_code == 302
    r = client.post(f"{base}/{user.id}/resend", data={"csrf_token": token}, follow_redirects=True)
    assert "already set a password" in r.get_data(as_text=True)
    assert [m.recipient for m in db.scalars(select(OutgoingMail).order_by(OutgoingMail.id))] == [
        user.email,
        invited.email,
    ]

    r = post_form(
        client,
        f"{base}/{user.id}/edit",
        {"full_name": user.full_name, "role": "fleet_admin", "scope_unit_id": ""},
    )
    assert r.status_code == 302
    db.refresh(user)
    assert user.role == PortalRole.fleet_admin
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.customer_id == customer.id, AuditEvent.actor_kind == "staff"
        )
    ).all()
    assert {
        "portal_user.locked",
        "portal_user.unlocked",
        "portal_user.reset_sent",
        "portal_user.invitation_resent",
        "portal_user.access_changed",
    } <= set(actions)


def _customer_urls(app) -> list[tuple[str, str]]:
    """Every customer route with an id, from the URL map (a new route is covered by itself)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("customers.") and "customer_id" in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                urls.append((method, rule.rule))
    return urls


def _console_app(app):
    return app.wsgi_app.mounts["/admin"]


def _fill(rule: str, customer, objects) -> str:
    values = {"customer_id": customer.id, **objects}
    return "/admin" + re.sub(r"<(?:int:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


@pytest.fixture
def two_managers(db):
    mine, theirs = make_staff(db), make_staff(db)
    foreign = make_customer(db, account_manager_id=theirs.id)
    objects = {
        "address_id": db.scalar(select(func.max(CustomerAddress.id))) or 0,
        "contact_id": 0,
        "user_id": make_portal_user(db, foreign).id,
    }
    db.add(
        CustomerAddress(
            customer_id=foreign.id,
            kind="invoice",
            street="ul. X 1",
            postal_code="00-001",
            city="Warszawa",
        )
    )
    db.add(Contact(customer_id=foreign.id, full_name="Obcy", role="finance", email="o@x.pl"))
    db.flush()
    objects["address_id"] = db.scalar(
        select(CustomerAddress.id).where(CustomerAddress.customer_id == foreign.id)
    )
    objects["contact_id"] = db.scalar(select(Contact.id).where(Contact.customer_id == foreign.id))
    return mine, foreign, objects


def test_managers_cannot_see_each_others_customers(client, app, db, two_managers):
    me, foreign, objects = two_managers
    own = make_customer(db, account_manager_id=me.id)
    sign_in(client, me)
    token = csrf_token(client.get("/admin/customers").get_data(as_text=True))
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    urls = _customer_urls(_console_app(app))
    assert len(urls) >= 20
    for method, rule in urls:
        url = _fill(rule, foreign, objects)
        r = client.open(url, method=method, data={"csrf_token": token, "body": "x", "kind": "note"})
        assert r.status_code == 404, (method, url, r.status_code)
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before
    # the same routes with an object of the other customer under my own customer: 404 too
    for method, rule in urls:
        if any(k in rule for k in ("address_id", "contact_id", "user_id")):
            r = client.open(_fill(rule, own, objects), method=method, data={"csrf_token": token})
            assert r.status_code == 404, rule
    page = client.get("/admin/customers?q=" + foreign.nip).get_data(as_text=True)
    assert foreign.name not in page


def test_sales_admin_reads_but_cannot_change(client, app, db, two_managers):
    _me, customer, objects = two_managers
    sales = make_staff(db, StaffRole.sales_admin)
    sign_in(client, sales)
    assert client.get(f"/admin/customers/{customer.id}").status_code == 200
    assert client.get(f"/admin/customers/{customer.id}/timeline").status_code == 200
    token = csrf_token(client.get("/admin/customers").get_data(as_text=True))
    for method, rule in _customer_urls(_console_app(app)):
        if method == "POST":
            r = client.post(_fill(rule, customer, objects), data={"csrf_token": token})
            assert r.status_code == 403, rule
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, data={"csrf_token": token, **company()}).status_code == 403


def test_operator_admin_chooses_the_manager(client, db):
    manager = make_staff(db, full_name="Anna Opiekun")
    sign_in_admin(client, db)
    r = post_form(client, NEW, company(account_manager_id=str(manager.id)))
    assert r.status_code == 302
    customer = db.scalar(select(Customer).where(Customer.name == "Hurtownia Zdrowia Sp. z o.o."))
    assert customer.account_manager_id == manager.id
    other = make_staff(db, full_name="Bartosz Opiekun")
    url = f"/admin/customers/{customer.id}"
    r = post_form(
        client,
        f"{url}/manager",
        {"account_manager_id": str(other.id)},
        form_url=url,
        follow_redirects=True,
    )
    assert "is now looked after by Bartosz Opiekun" in r.get_data(as_text=True)
    db.refresh(customer)
    assert customer.account_manager_id == other.id
    page = client.get(f"/admin/customers?manager={other.id}").get_data(as_text=True)
    assert customer.name in page
    assert customer.name not in client.get("/admin/customers?manager=none").get_data(as_text=True)


def test_account_manager_cannot_reassign(client, db):
    me = make_staff(db)
    customer = make_customer(db, account_manager_id=me.id)
    sign_in(client, me)
    url = f"/admin/customers/{customer.id}"
    r = post_form(client, f"{url}/manager", {"account_manager_id": ""}, form_url=url)
    assert r.status_code == 403


def test_list_filters_and_pages(client, db):
    me = make_staff(db)
    for i in range(55):
        make_customer(
            db,
            account_manager_id=me.id,
            name=f"Firma {i:02d}",
            city="Kraków" if i % 5 == 0 else "Warszawa",
        )
    with_users = db.scalar(select(Customer).where(Customer.name == "Firma 07"))
    make_portal_user(db, with_users)
    sign_in(client, me)
    page = client.get("/admin/customers").get_data(as_text=True)
    assert "55 customers" in page and "page 1 of 2" in page
    assert "Firma 49" in page and "Firma 50" not in page
    page = client.get("/admin/customers?page=2").get_data(as_text=True)
    assert "Firma 50" in page and "Firma 00" not in page
    page = client.get("/admin/customers?city=krak%C3%B3w").get_data(as_text=True)
    assert "11 customers" in page
    page = client.get("/admin/customers?users=yes").get_data(as_text=True)
    assert "1 customer" in page and "Firma 07" in page
    page = client.get("/admin/customers?contract=yes").get_data(as_text=True)
    assert "No customer matches these filters." in page
    r = client.get("/admin/customers?q=Firma%200", headers={"HX-Request": "true"})
    partial = r.get_data(as_text=True)
    assert "<html" not in partial and "10 customers match" in partial
    # nonsense in the query string is ignored, not an error
    assert client.get("/admin/customers?page=-3&sort=evil&manager=1;drop").status_code == 200
