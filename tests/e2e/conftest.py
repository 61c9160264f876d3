"""Browser tests: the whole WSGI app served on loopback, driven by Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.factories import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(rt, committed):
    import wsgi

    app = wsgi.create_app(rt)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("ASYSTENT_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required here but /usr/bin/chromium is missing")
        pytest.skip("no Chromium installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.console_errors = errors
    yield pg
    context.close()


def click_menu(page, href: str) -> None:
    """Open a page from the main menu as a user does: through its dropdown when it is in one."""
    toggle = page.locator(f"nav .dropdown:has(a[href='{href}']) > .dropdown-toggle")
    if toggle.count():
        toggle.click()
    page.click(f"nav a[href='{href}']")


def sign_in(
    page, base: str, email: str, *, console: bool = False, password: str = PASSWORD, lands_on=""
) -> None:
    """Sign in with the portal's (or the console's) form as a person does, and wait for the
    page it lands on: the start page, or ``lands_on`` below it."""
    home = f"{base}/admin/" if console else f"{base}/"
    page.goto(home if console else f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(home + lands_on)
