"""Portal sign-in as a user meets it: right and wrong passwords, throttling, CSRF, sign-out."""

from __future__ import annotations

from tests.conftest import csrf_token, login_portal
from tests.factories import PASSWORD, make_customer, make_portal_user


def test_login_shows_dashboard_with_company(client, db):
    customer = make_customer(db, name="Zielona Energia S.A.")
    user = make_portal_user(db, customer)
    r = login_portal(client, user.email, PASSWORD, follow_redirects=True)
    assert r.status_code == 200
    assert "Zielona Energia S.A." in r.get_data(as_text=True)


def test_email_is_case_insensitive(client, db):
    make_portal_user(db, make_customer(db), email="anna@firma.example")
    r = login_portal(client, "  ANNA@Firma.example ", PASSWORD)
    assert r.status_code == 302


def test_wrong_password_is_refused_in_polish(client, db):
    user = make_portal_user(db, make_customer(db))
    r = login_portal(client, user.email, "not-the-password")
    assert r.status_code == 401
    assert "Nieprawidłowy e-mail lub hasło" in r.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302  # still signed out


def test_english_messages_after_language_switch(client, db):
    user = make_portal_user(db, make_customer(db))
    client.get("/lang/en")
    r = login_portal(client, user.email, "wrong-password")
    assert "Wrong e-mail or password." in r.get_data(as_text=True)


def test_unknown_account_gets_the_same_answer(client, db):
    r = login_portal(client, "nobody@nowhere.example", "whatever-password")
    assert r.status_code == 401
    assert "Nieprawidłowy e-mail lub hasło" in r.get_data(as_text=True)


def test_account_locks_after_repeated_failures_even_with_right_password(client, db):
    user = make_portal_user(db, make_customer(db))
    for _ in range(5):
        assert login_portal(client, user.email, "bad-password-x").status_code == 401
    r = login_portal(client, user.email, "bad-password-x")
    assert r.status_code == 429
    r = login_portal(client, user.email, PASSWORD)
    assert r.status_code == 429
    assert "Zbyt wiele nieudanych prób logowania" in r.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_address_is_throttled_across_accounts(client, db):
    customer = make_customer(db)
    victims = [make_portal_user(db, customer) for _ in range(5)]
    for i in range(20):
        login_portal(client, victims[i % 5].email, f"guess-{i}")
    fresh = make_portal_user(db, customer)
    r = login_portal(client, fresh.email, PASSWORD)
    assert r.status_code == 429


def test_post_without_csrf_token_is_refused(client, db):
    user = make_portal_user(db, make_customer(db))
    r = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 400
    assert client.get("/dashboard").status_code == 302


def test_inactive_user_cannot_sign_in(client, db):
    user = make_portal_user(db, make_customer(db), is_active=False)
    assert login_portal(client, user.email, PASSWORD).status_code == 401


def test_logout_needs_post_with_token(client, db):
    user = make_portal_user(db, make_customer(db))
    login_portal(client, user.email, PASSWORD)
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert client.get("/logout").status_code == 405
    r = client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert r.status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_next_parameter_cannot_leave_the_site(client, db):
    user = make_portal_user(db, make_customer(db))
    page = client.get("/login?next=https://evil.example/")
    r = client.post(
        "/login?next=https://evil.example/",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert r.status_code == 302
    assert "evil.example" not in r.headers["Location"]


def test_security_headers_and_cookie_flags(client, db):
    user = make_portal_user(db, make_customer(db))
    r = login_portal(client, user.email, PASSWORD)
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("asystent_portal="))
    assert "asystent_portal=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
