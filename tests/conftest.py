"""Test fixtures: real database (SQLite by default, PostgreSQL with TEST_DATABASE_URL), real
Redis (the embedded server by default, TEST_REDIS_URL otherwise), schema from the migrations.

Each test runs inside a transaction that is rolled back at the end; sessions opened by the
app under test join it through a savepoint. Tests that need other processes to see their data
(real workers, the browser) use ``committed`` instead, which empties the tables afterwards.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import tempfile
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core import migrate
from core.embedded_redis import EmbeddedRedis
from core.runtime import Runtime
from core.settings import load_settings
from models import Base

ROOT = Path(__file__).resolve().parent.parent
WAREHOUSE_TOKEN = "test-warehouse-token-0123456789"


def _postgres_schema_url(url: str) -> tuple[str, str]:
    """A private schema for this run, so the suite never touches other data in the database."""
    schema = f"asystent_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    u = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return u.render_as_string(hide_password=False), schema


@pytest.fixture(scope="session")
def test_env():
    base = Path(tempfile.mkdtemp(prefix="asy-"))
    env = {
        "ASYSTENT_INSTANCE": str(base / "instance"),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATA_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "MAIL_BACKEND": "outbox",
        "SECURE_COOKIES": "false",
        "WAREHOUSE_API_TOKEN": WAREHOUSE_TOKEN,
    }
    schema = None
    raw_db = os.environ.get("TEST_DATABASE_URL")
    if raw_db:
        if raw_db.startswith("postgres"):
            raw_db = load_settings({**env, "DATABASE_URL": raw_db}).database_url
            raw_db, schema = _postgres_schema_url(raw_db)
        env["DATABASE_URL"] = raw_db
    else:
        env["DATABASE_URL"] = f"sqlite:///{base / 'test.sqlite3'}"

    embedded = None
    if os.environ.get("TEST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    else:
        embedded = EmbeddedRedis(base / "redis")
        embedded.start(detach=False)
        env["REDIS_URL"] = embedded.url

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # worker subprocesses inherit the same settings
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if embedded:
            embedded.shutdown()
        if schema:
            url = env["DATABASE_URL"].split("?")[0]
            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(test_env):
    return load_settings(test_env)


@pytest.fixture(scope="session")
def rt(settings):
    migrate.upgrade(settings.database_url)
    runtime = Runtime(settings)
    runtime.redis.flushdb()
    yield runtime
    runtime.db.engine.dispose()


@pytest.fixture
def db(rt):
    """A session inside a transaction that is rolled back after the test."""
    connection = rt.db.engine.connect()
    outer = connection.begin()
    rt.db.bind_to(connection)
    session = rt.db.new_session()
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()
        rt.db.session_factory.configure(
            bind=rt.db.engine, join_transaction_mode="conditional_savepoint"
        )


@pytest.fixture
def committed(rt):
    """Real commits, for tests whose data other processes must see; tables emptied after."""
    session = rt.db.new_session()
    try:
        yield session
    finally:
        session.close()
        with rt.db.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        rt.redis.flushdb()
        outbox = rt.settings.instance_path / "outbox"
        if outbox.exists():
            shutil.rmtree(outbox)


@pytest.fixture
def redis_clean(rt):
    rt.redis.flushdb()
    yield rt.redis
    rt.redis.flushdb()


@pytest.fixture
def app(rt):
    import wsgi

    application = wsgi.create_app(rt)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app, db):
    return app.test_client()


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1) or m.group(2)


def post_form(client, url: str, data: dict, *, form_url: str | None = None, **kw):
    """Open the page with the form, take its CSRF token, submit like a browser would."""
    page = client.get(form_url or url)
    token = csrf_token(page.get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kw)


class _Forms(HTMLParser):
    """The POST forms of a page: action, hidden fields, and the (name, value) of each button."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._open = {"action": a.get("action") or "", "hidden": {}, "buttons": []}
            self.forms.append(self._open)
        elif self._open is not None and tag == "input" and a.get("type") == "hidden":
            self._open["hidden"][a.get("name")] = a.get("value") or ""
        elif self._open is not None and tag == "button":
            self._open["buttons"].append((a.get("name"), a.get("value")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def press_export(client, page_url: str, fmt: str, *, hidden: dict | None = None, **kw):
    """Open ``page_url`` and press its export button for ``fmt`` as a browser would: the form's
    hidden fields (the page's filter, the CSRF token) and the button's value, posted to the
    form's action. ``hidden``: fields the form must carry (a PIN/PUK export's ``codes``), for
    forms whose format is a hidden field."""
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    parser = _Forms()
    parser.feed(page.get_data(as_text=True))
    for form in parser.forms:
        if hidden is not None:
            wanted = {**hidden, "fmt": fmt}
            if all(form["hidden"].get(k) == v for k, v in wanted.items()):
                return client.post(form["action"], data=form["hidden"], **kw)
        elif ("fmt", fmt) in form["buttons"]:
            return client.post(form["action"], data={**form["hidden"], "fmt": fmt}, **kw)
    raise AssertionError(f"no export button for {fmt} on {page_url}")


def login_portal(client, email: str, password: str, **kw):
    return post_form(client, "/login", {"email": email, "password": password}, **kw)


def login_console(client, email: str, password: str, **kw):
    return post_form(client, "/admin/login", {"email": email, "password": password}, **kw)
