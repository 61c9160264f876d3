"""Portal users' password links: the invitation and the forgotten password. A link sets a
password once, then signs the user in; used, tampered or foreign links are refused; locked
users cannot use links or sign in."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models import OutgoingMail, PortalUser
from services import account_links
from services.account_links import INVITE, RESET
from tests.conftest import csrf_token, login_portal, post_form
from tests.factories import PASSWORD, make_customer, make_portal_user

NEW_PASSWORD = "Jesienny-las-2026"


def secret(app) -> str:
    return app.extensions["asystent.runtime"].settings.secret_key


def mails_to(db, email: str) -> list[OutgoingMail]:
    return list(
        db.scalars(
            select(OutgoingMail).where(OutgoingMail.recipient == email).order_by(OutgoingMail.id)
        )
    )


def test_invitation_link_sets_the_password_and_signs_in(client, app, db):
    user = make_portal_user(db, make_customer(db, name="Zielona Energia S.A."), password_hash=None)
    link = f"/welcome/{account_links.make_token(secret(app), user, INVITE)}"
    client.get("/lang/en")
    page = client.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Zielona Energia S.A." in html and user.email in html

    for password, confirm, message in (
        ("", "", "Enter a password."),
        ("krotkie-1", "krotkie-1", "at least 10 characters"),
        (user.email, user.email, "cannot be your e-mail address"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The two passwords are not the same."),
    ):
        r = post_form(client, link, {"password": password, "confirm": confirm})
        assert r.status_code == 422 and message in r.get_data(as_text=True), message
        db.refresh(user)
        assert user.password_hash is None

    r = post_form(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 302
    assert client.get("/dashboard").status_code == 200

    again = client.get(link)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)
    client.post(
        "/logout", data={"csrf_token": csrf_token(client.get("/dashboard").get_data(as_text=True))}
    )
    assert login_portal(client, user.email, NEW_PASSWORD).status_code == 302


def test_tampered_and_foreign_links_are_refused(client, app, db):
    user = make_portal_user(db, make_customer(db))
    good = account_links.make_token(secret(app), user, INVITE)
    client.get("/lang/en")
    for link in (
        f"/welcome/{good[:-2]}xx",
        f"/welcome/{good.replace('.', '.A', 1)}",
        f"/password/reset/{good}",  # an invitation is not a reset link
        f"/welcome/{account_links.make_token('another-installation', user, INVITE)}",
        "/welcome/nonsense",
    ):
        r = client.get(link)
        assert r.status_code == 400, link
        assert "not valid" in r.get_data(as_text=True)
    # a POST with a bad link changes nothing either
    page = client.get("/password/forgot").get_data(as_text=True)
    r = client.post(
        f"/welcome/{good[:-2]}xx",
        data={"csrf_token": csrf_token(page), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert r.status_code == 400
    assert login_portal(client, user.email, PASSWORD).status_code == 302


def test_forgotten_password(client, app, db):
    user = make_portal_user(db, make_customer(db), email="anna@firma.pl")
    client.get("/lang/en")
    r = post_form(client, "/password/forgot", {"email": "ANNA@firma.pl"}, follow_redirects=True)
    assert "If ANNA@firma.pl has an account" in r.get_data(as_text=True)
    r = post_form(client, "/password/forgot", {"email": "nobody@firma.pl"}, follow_redirects=True)
    assert "If nobody@firma.pl has an account" in r.get_data(as_text=True)  # the same answer
    assert db.scalar(select(func.count()).select_from(OutgoingMail)) == 1
    mail = mails_to(db, user.email)[0]
    link = re.search(r"http://localhost(/password/reset/\S+)", mail.body_text).group(1)

    r = post_form(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 302
    assert client.get("/dashboard").status_code == 200
    other = app.test_client()
    assert login_portal(other, user.email, PASSWORD).status_code == 401  # the old one is gone
    assert login_portal(other, user.email, NEW_PASSWORD).status_code == 302
    assert client.get(link).status_code == 400  # used


def test_forgot_form_checks_the_address(client, db):
    client.get("/lang/en")
    r = post_form(client, "/password/forgot", {"email": "not an address"})
    assert r.status_code == 422
    assert "This is not a valid e-mail address." in r.get_data(as_text=True)


def test_locked_user_cannot_sign_in_or_use_links(client, app, db):
    user = make_portal_user(db, make_customer(db), is_active=False)
    reset = account_links.make_token(secret(app), user, RESET)
    client.get("/lang/en")
    assert login_portal(client, user.email, PASSWORD).status_code == 401
    assert client.get(f"/password/reset/{reset}").status_code == 400
    post_form(client, "/password/forgot", {"email": user.email})
    assert mails_to(db, user.email) == []
    assert db.get(PortalUser, user.id).password_hash is not None


def test_setting_a_password_ends_the_sessions_open_with_the_old_one(client, app, db):
    user = make_portal_user(db, make_customer(db), email="ewa@firma.pl")
    elsewhere = app.test_client()  # e.g. a browser left signed in on a shared computer
    assert login_portal(elsewhere, user.email, PASSWORD).status_code == 302
    assert elsewhere.get("/dashboard").status_code == 200

    link = f"/password/reset/{account_links.make_token(secret(app), user, RESET)}"
    r = post_form(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 302
    assert client.get("/dashboard").status_code == 200  # the one who set it stays signed in
    r = elsewhere.get("/dashboard")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_lock_ends_open_sessions_and_unlocking_does_not_revive_them(client, app, db):
    from services import portal_users
    from services.audit import Actor

    user = make_portal_user(db, make_customer(db), email="piotr@firma.pl")
    assert login_portal(client, user.email, PASSWORD).status_code == 302
    system = Actor("system", None, "test", None)
    portal_users.set_locked(db, system, user, True)
    db.commit()
    assert client.get("/dashboard").status_code == 302
    portal_users.set_locked(db, system, user, False)
    db.commit()
    r = client.get("/dashboard")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert login_portal(client, user.email, PASSWORD).status_code == 302
    assert client.get("/dashboard").status_code == 200


def test_links_in_mail_use_public_url_not_the_host_a_client_sent(client, app, db, rt, monkeypatch):
    from dataclasses import replace

    monkeypatch.setattr(rt, "settings", replace(rt.settings, public_url="https://asystent.example"))
    user = make_portal_user(db, make_customer(db), email="jan@firma.pl")
    forged = "http://evil.example"  # a client that sends its own Host header
    token = csrf_token(client.get("/password/forgot", base_url=forged).get_data(as_text=True))
    r = client.post(
        "/password/forgot", data={"email": user.email, "csrf_token": token}, base_url=forged
    )
    assert r.status_code == 302
    body = mails_to(db, user.email)[0].body_text
    assert "https://asystent.example/password/reset/" in body
    assert "evil.example" not in body
