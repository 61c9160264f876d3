"""Writing to customers from the console, and the outbox."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import AuditEvent, MailStatus, OutgoingMail, StaffRole
from services.auth import new_totp_secret
from tests.admin_console.mail_data import html, login, mail_world
from tests.conftest import csrf_token, post_form
from tests.factories import make_staff


@pytest.fixture
def world(db):
    return mail_world(db)


def _mails(db):
    return list(db.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))


# --- writing to customers ----------------------------------------------------------------------


def _compose(client, **data):
    data.setdefault("action", "send")
    return post_form(client, "/admin/mail/compose", data)


def test_compose_lists_own_customers_only(client, db, world):
    login(client, world["anna"])
    page = html(client.get("/admin/mail/compose"))
    assert "Alfa Sp. z o.o." in page and "Beta S.A." in page
    assert "Obca Firma" not in page
    r = _compose(client, q="Obca", action="select_all")
    assert "Obca Firma" not in html(r)
    r = _compose(client, q="Beta", action="select_all")
    assert re.search(rf'name="customer" value="{world["beta"].id}"[^>]*checked', html(r))


def test_send_to_contacts_and_portal_users(client, db, world, rt):
    w = world
    login(client, w["anna"])
    r = _compose(
        client,
        customer=[w["alfa"].id, w["beta"].id],
        contact_roles=["decision_maker"],
        portal_roles=["fleet_admin"],
        template_id=w["template"].id,
        subject="",
        body="",
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/mail/compose/done")
    done = html(client.get(r.headers["Location"]))
    assert "3 messages queued to 2 customers." in done

    mails = _mails(db)
    assert sorted(m.recipient for m in mails) == [
        "admin@beta.example",
        "prezes@beta.example",
        "zofia@alfa.example",
    ]
    for m in mails:
        assert m.status == MailStatus.queued
        assert m.staff_user_id == w["anna"].id and m.template_id == w["template"].id
    zofia = next(m for m in mails if m.recipient == "zofia@alfa.example")
    assert zofia.customer_id == w["alfa"].id
    assert zofia.subject == "Nowy cennik dla Alfa Sp. z o.o."
    assert zofia.body_text.startswith("Dzień dobry Zofia Żółkiewska,")
    assert "Anna Opiekun, anna@operator.example" in zofia.body_text
    assert "<p>Dzień dobry Zofia Żółkiewska,</p>" in zofia.body_html

    events = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "mail.sent")))
    by_customer = {e.customer_id: e.after for e in events}
    assert by_customer[w["alfa"].id]["count"] == 1
    assert by_customer[w["beta"].id]["count"] == 2
    assert by_customer[w["beta"].id]["subject"] == "Nowy cennik dla Beta S.A."
    # The confirmation is shown once.
    assert client.get("/admin/mail/compose/done").status_code == 302


def test_sending_the_same_form_twice_sends_once(client, db, world):
    w = world
    login(client, w["anna"])
    page = html(client.get("/admin/mail/compose"))
    key = re.search(r'name="send_key" type="hidden" value="([^"]+)"', page).group(1)
    form = {
        "csrf_token": csrf_token(page),
        "send_key": key,
        "customer": [w["beta"].id],
        "contact_roles": ["decision_maker"],
        "subject": "Temat",
        "body": "",
        "action": "send",
    }
    r = client.post("/admin/mail/compose", data=form)  # refused: empty text; key stays usable
    assert r.status_code == 422 and _mails(db) == []
    r = client.post("/admin/mail/compose", data={**form, "body": "Treść"})
    assert r.status_code == 302 and len(_mails(db)) == 1
    r = client.post("/admin/mail/compose", data={**form, "body": "Treść"}, follow_redirects=True)
    assert "already been sent" in html(r)
    assert len(_mails(db)) == 1
    fresh = html(client.get("/admin/mail/compose"))
    assert key not in fresh  # a new message gets a new key


def test_all_contacts_skip_missing_and_bad_addresses_in_preview(client, db, world):
    w = world
    login(client, w["anna"])
    r = _compose(
        client,
        customer=[w["alfa"].id],
        contact_roles=["all"],
        subject="Dla {customer_name}",
        body="Witaj {contact_name}",
        action="preview",
    )
    assert r.status_code == 200
    page = html(r)
    assert "2 messages to 1 customer will be queued." in page
    assert "Witaj Zofia Żółkiewska" in page and "Witaj Jan Finansowy" in page
    assert "Bez Adresu: no e-mail address" in page
    assert "is not a usable e-mail address" in page
    assert _mails(db) == []


@pytest.mark.parametrize(
    "data, message",
    [
        ({"customer": []}, "Choose at least one customer."),
        ({"contact_roles": [], "portal_roles": []}, "Choose who receives the message"),
        ({"subject": "  "}, "Enter the subject."),
        ({"body": ""}, "Enter the text of the message."),
        ({"body": "Hi {first_name}"}, "Unknown placeholder {first_name}"),
        ({"portal_roles": ["viewer"], "contact_roles": ["technical"]}, "None of the chosen"),
    ],
)
def test_bad_compose_input_queues_nothing(client, db, world, data, message):
    w = world
    login(client, w["anna"])
    form = {
        "customer": [w["alfa"].id],
        "contact_roles": ["decision_maker"],
        "subject": "Temat",
        "body": "Treść",
    }
    r = _compose(client, **{**form, **data})
    assert r.status_code == 422
    assert message in html(r)
    assert _mails(db) == []
    assert not db.scalar(select(AuditEvent).where(AuditEvent.action == "mail.sent"))


def test_foreign_customer_is_404_and_nothing_is_queued(client, db, world):
    w = world
    login(client, w["anna"])
    for ids in ([w["alfa"].id, w["foreign"].id], ["abc"], [999999], ["²"], ["9" * 30]):
        r = _compose(
            client,
            customer=ids,
            contact_roles=["all"],
            subject="Temat",
            body="Treść",
        )
        assert r.status_code == 404
    assert client.get(f"/admin/mail/compose?customer_id={w['foreign'].id}").status_code == 404
    assert _mails(db) == []


def test_compose_needs_the_csrf_token(client, db, world):
    w = world
    login(client, w["anna"])
    r = client.post(
        "/admin/mail/compose",
        data={
            "customer": [w["alfa"].id],
            "contact_roles": ["all"],
            "subject": "Temat",
            "body": "Treść",
            "action": "send",
        },
    )
    assert r.status_code == 400
    assert _mails(db) == []


def test_use_template_fills_the_message(client, db, world):
    w = world
    login(client, w["anna"])
    page = html(client.get(f"/admin/mail/compose?template_id={w['template'].id}"))
    assert "Nowy cennik dla {customer_name}" in page
    r = _compose(client, template_id=w["template"].id, subject="x", body="y", action="template")
    assert "Nowy cennik dla {customer_name}" in html(r)


def test_operator_admin_writes_to_any_customer(client, db, world):
    w = world
    secret = new_totp_secret()
    admin = make_staff(db, StaffRole.operator_admin, totp_secret=secret, totp_enabled=True)
    login(client, admin, secret)
    r = _compose(
        client,
        customer=[w["foreign"].id],
        contact_roles=["decision_maker"],
        subject="Temat",
        body="{manager_name}",
    )
    assert r.status_code == 302
    (mail,) = _mails(db)
    assert mail.recipient == "ktos@obca.example" and mail.body_text == "Olga Inna"


# --- the outbox ------------------------------------------------------------------------------


def _mail(db, customer, status=MailStatus.sent, **kw):
    m = OutgoingMail(
        customer_id=customer.id if customer else None,
        recipient=kw.pop("recipient", "x@klient.example"),
        subject=kw.pop("subject", "Temat"),
        body_text="Treść",
        status=status,
        **kw,
    )
    db.add(m)
    db.flush()
    return m


def test_outbox_shows_own_customers_mail_only(client, db, world):
    w = world
    own = _mail(db, w["alfa"], subject="Dla Alfy")
    failed = _mail(
        db,
        w["beta"],
        MailStatus.failed,
        subject="Nieudany",
        attempts=6,
        last_error="451 4.3.0 Try later",
    )
    theirs = _mail(db, w["foreign"], subject="Cudzy temat")
    system = _mail(db, None, subject="Link do logowania")
    login(client, w["anna"])
    page = html(client.get("/admin/mail/"))
    assert "Dla Alfy" in page and "Nieudany" in page and "451 4.3.0 Try later" in page
    assert "Cudzy temat" not in page and "Link do logowania" not in page
    page = html(client.get("/admin/mail/?status=failed"))
    assert "Nieudany" in page and "Dla Alfy" not in page
    page = html(client.get(f"/admin/mail/?customer_id={w['alfa'].id}"))
    assert "Dla Alfy" in page and "Nieudany" not in page
    page = html(client.get("/admin/mail/?q=nieudany"))
    assert "Nieudany" in page and "Dla Alfy" not in page
    assert client.get(f"/admin/mail/?customer_id={w['foreign'].id}").status_code == 404
    assert client.get(f"/admin/mail/?customer_id={'9' * 30}").status_code == 404
    assert client.get(f"/admin/mail/?page={'9' * 30}").status_code == 200
    assert client.get("/admin/mail/99999999999999999999999").status_code == 404
    assert client.get(f"/admin/mail/{theirs.id}").status_code == 404
    assert client.get(f"/admin/mail/{system.id}").status_code == 404
    detail = html(client.get(f"/admin/mail/{failed.id}"))
    assert "451 4.3.0 Try later" in detail and "Retry now" in detail
    assert own.subject in html(client.get(f"/admin/mail/{own.id}"))


def test_operator_admin_sees_all_mail(client, db, world):
    w = world
    _mail(db, w["foreign"], subject="Cudzy temat")
    _mail(db, None, subject="Link do logowania")
    secret = new_totp_secret()
    admin = make_staff(db, StaffRole.operator_admin, totp_secret=secret, totp_enabled=True)
    login(client, admin, secret)
    page = html(client.get("/admin/mail/"))
    assert "Cudzy temat" in page and "Link do logowania" in page


def test_retry_now_requeues_a_failed_mail(client, db, world):
    w = world
    failed = _mail(db, w["beta"], MailStatus.failed, attempts=6, last_error="550 No such user")
    sent = _mail(db, w["beta"], MailStatus.sent, attempts=1)
    theirs = _mail(db, w["foreign"], MailStatus.failed, attempts=6)
    login(client, w["anna"])
    token = csrf_token(html(client.get(f"/admin/mail/{failed.id}")))
    r = client.post(f"/admin/mail/{failed.id}/retry", data={"csrf_token": token})
    assert r.status_code == 302
    db.refresh(failed)
    assert failed.status == MailStatus.queued and failed.attempts == 0
    assert failed.last_error == "550 No such user"  # kept until it is sent
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "mail.retried"))
    assert event.customer_id == w["beta"].id

    r = client.post(
        f"/admin/mail/{sent.id}/retry", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Only a message that failed can be sent again." in html(r)
    db.refresh(sent)
    assert sent.status == MailStatus.sent
    assert (
        client.post(f"/admin/mail/{theirs.id}/retry", data={"csrf_token": token}).status_code == 404
    )
    assert client.post(f"/admin/mail/{failed.id}/retry").status_code == 400  # no token


def test_retry_all_failed_of_one_customer(client, db, world):
    w = world
    a1 = _mail(db, w["alfa"], MailStatus.failed, attempts=6)
    a2 = _mail(db, w["alfa"], MailStatus.failed, attempts=6)
    b1 = _mail(db, w["beta"], MailStatus.failed, attempts=6)
    theirs = _mail(db, w["foreign"], MailStatus.failed, attempts=6)
    login(client, w["anna"])
    page = html(client.get(f"/admin/mail/?customer_id={w['alfa'].id}"))
    assert "Send all failed again" in page
    r = client.post(
        "/admin/mail/retry-failed",
        data={"csrf_token": csrf_token(page), "customer_id": w["alfa"].id, "q": ""},
        follow_redirects=True,
    )
    assert "2 messages are queued again." in html(r)
    for m in (a1, a2, b1, theirs):
        db.refresh(m)
    assert a1.status == a2.status == MailStatus.queued
    assert b1.status == theirs.status == MailStatus.failed
    r = client.post(
        "/admin/mail/retry-failed",
        data={"csrf_token": csrf_token(page), "customer_id": w["foreign"].id},
    )
    assert r.status_code == 404
