"""Test data shared by the console's e-mail tests: two account managers' customers with
contacts and portal users, and one template."""

from __future__ import annotations

import pyotp

from models import Contact, ContactRole, MailTemplate, PortalRole
from tests.conftest import login_console, post_form
from tests.factories import PASSWORD, make_customer, make_portal_user, make_staff


def login(client, staff, secret=None):
    client.get("/admin/lang/en")
    r = login_console(client, staff.email, PASSWORD)
    if secret:
        r = post_form(client, "/admin/login/code", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302


def html(r) -> str:
    return r.get_data(as_text=True)


def _contact(db, customer, name, email, role=ContactRole.decision_maker):
    c = Contact(customer_id=customer.id, full_name=name, email=email, role=role)
    db.add(c)
    db.flush()
    return c


def mail_world(db) -> dict:
    anna = make_staff(db, full_name="Anna Opiekun", email="anna@operator.example")
    other = make_staff(db, full_name="Olga Inna")
    alfa = make_customer(db, name="Alfa Sp. z o.o.", account_manager_id=anna.id)
    beta = make_customer(db, name="Beta S.A.", account_manager_id=anna.id)
    foreign = make_customer(db, name="Obca Firma S.A.", account_manager_id=other.id)
    _contact(db, alfa, "Zofia Żółkiewska", "zofia@alfa.example")
    _contact(db, alfa, "Jan Finansowy", "finanse@alfa.example", ContactRole.finance)
    _contact(db, alfa, "Bez Adresu", None)
    _contact(db, alfa, "Zły Adres", "to nie jest adres")
    _contact(db, beta, "Piotr Prezes", "prezes@beta.example")
    _contact(db, foreign, "Ktoś Obcy", "ktos@obca.example")
    # The same person is a contact and a portal user: one message.
    make_portal_user(db, alfa, PortalRole.fleet_admin, email="ZOFIA@alfa.example")
    make_portal_user(db, beta, PortalRole.fleet_admin, email="admin@beta.example", full_name="Ewa")
    make_portal_user(db, beta, PortalRole.fleet_admin, email="stary@beta.example", is_active=False)
    make_portal_user(db, beta, PortalRole.employee, email="pracownik@beta.example")
    template = MailTemplate(
        name="Nowy cennik",
        subject="Nowy cennik dla {customer_name}",
        body="Dzień dobry {contact_name},\n\nprzesyłam cennik.\n{manager_name}, {manager_email}",
    )
    db.add(template)
    db.flush()
    return locals()
