"""Console sign-in: password plus a TOTP code, enrolment for operator admins, separate cookies."""

from __future__ import annotations

import re

import pyotp

from models import StaffRole
from services.auth import new_totp_secret
from tests.conftest import login_console, login_portal, post_form
from tests.factories import PASSWORD, make_customer, make_portal_user, make_staff


def test_account_manager_signs_in_with_password(client, db):
    staff = make_staff(db)
    r = login_console(client, staff.email, PASSWORD, follow_redirects=True)
    assert r.status_code == 200
    assert staff.full_name in r.get_data(as_text=True)


def test_console_requires_sign_in(client, db):
    r = client.get("/admin/customers")
    assert r.status_code == 302
    assert "/admin/login" in r.headers["Location"]


def test_operator_admin_needs_the_current_code(client, db):
    secret = new_totp_secret()
    staff = make_staff(db, StaffRole.operator_admin, totp_secret=secret, totp_enabled=True)
    r = login_console(client, staff.email, PASSWORD)
    assert r.headers["Location"].endswith("/admin/login/code")
    assert client.get("/admin/customers").status_code == 302  # not signed in yet

    r = post_form(client, "/admin/login/code", {"code": "000000"})
    assert r.status_code == 401
    assert "Kod jest nieprawidłowy" in r.get_data(as_text=True)

    code = pyotp.TOTP(secret).now()
    r = post_form(client, "/admin/login/code", {"code": code})
    assert r.status_code == 302
    assert client.get("/admin/customers").status_code == 200

    # The same code cannot be used twice.
    client.post("/admin/logout", data={"csrf_token": _token(client)})
    login_console(client, staff.email, PASSWORD)
    r = post_form(client, "/admin/login/code", {"code": code})
    assert r.status_code == 401


def _token(client):
    from tests.conftest import csrf_token

    return csrf_token(client.get("/admin/customers").get_data(as_text=True))


def test_operator_admin_without_code_must_enrol(client, db):
    staff = make_staff(db, StaffRole.operator_admin)
    r = login_console(client, staff.email, PASSWORD)
    assert r.headers["Location"].endswith("/admin/login/setup-code")
    page = client.get("/admin/login/setup-code").get_data(as_text=True)
    assert "<svg" in page
    block = re.search(r'class="totp-secret"[^>]*>(.*?)</div>', page, re.S).group(1)
    secret = "".join(re.findall(r"<span>([A-Z2-7]+)</span>", block))
    assert len(secret) == 32
    r = post_form(client, "/admin/login/setup-code", {"code": "123456"})
    assert r.status_code == 401
    r = post_form(client, "/admin/login/setup-code", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302
    db.refresh(staff)
    assert staff.totp_enabled and staff.totp_secret == secret
    assert client.get("/admin/customers").status_code == 200


def test_totp_secret_is_encrypted_at_rest(db):
    from sqlalchemy import text

    secret = new_totp_secret()
    staff = make_staff(db, StaffRole.operator_admin, totp_secret=secret, totp_enabled=True)
    raw = db.execute(
        text("SELECT totp_secret FROM staff_user WHERE id = :i"), {"i": staff.id}
    ).scalar()
    assert raw and secret not in raw


def test_portal_session_cannot_open_console(client, db):
    user = make_portal_user(db, make_customer(db))
    assert login_portal(client, user.email, PASSWORD).status_code == 302
    assert client.get("/dashboard").status_code == 200
    r = client.get("/admin/customers")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]


def test_staff_session_is_not_a_portal_session(client, db):
    staff = make_staff(db)
    assert login_console(client, staff.email, PASSWORD).status_code == 302
    assert client.get("/admin/customers").status_code == 200
    r = client.get("/dashboard")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_portal_credentials_do_not_work_in_console(client, db):
    user = make_portal_user(db, make_customer(db))
    assert login_console(client, user.email, PASSWORD).status_code == 401


def test_account_manager_sees_only_own_customers(client, db):
    me = make_staff(db)
    other = make_staff(db)
    mine = make_customer(db, name="Moja Firma S.A.", account_manager_id=me.id)
    theirs = make_customer(db, name="Cudza Firma S.A.", account_manager_id=other.id)
    login_console(client, me.email, PASSWORD)
    page = client.get("/admin/customers").get_data(as_text=True)
    assert mine.name in page and theirs.name not in page
    page = client.get("/admin/customers?q=Cudza").get_data(as_text=True)
    assert theirs.name not in page
