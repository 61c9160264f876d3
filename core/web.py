"""What both Flask apps share: sessions per request, i18n, CSRF, security headers, errors.

``create_flask_app`` builds the common frame; ``portal.create_app`` and
``admin_console.create_app`` add their login manager and blueprints.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import Babel, format_currency, format_datetime, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import text
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from core.runtime import Runtime
from core.settings import PROJECT_ROOT
from services.audit import Actor

LANGUAGES = {"pl": "Polski", "en": "English"}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def runtime() -> Runtime:
    return current_app.extensions["asystent.runtime"]


def db() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        # Reading a page must not queue behind writers on SQLite; a write in a GET request is
        # still possible (SQLite upgrades the lock), it just is not reserved in advance.
        g.db = runtime().db.new_session(read_only=request.method in ("GET", "HEAD"))
    return g.db


def commit() -> None:
    """The one commit of a request; after-commit work (jobs, mail) leaves after it."""
    db().commit()


def client_address() -> str | None:
    return request.remote_addr


def actor() -> Actor:
    user = current_user
    if not getattr(user, "is_authenticated", False):
        return Actor("system", None, "anonymous", client_address())
    kind = "staff" if user.get_id().startswith("s") else "portal"
    return Actor(kind, user.id, user.email, client_address())


def public_bases() -> tuple[str, str]:
    """Where the portal and the console are reached from outside, for links in e-mails:
    ``PUBLIC_URL`` when it is set (never the Host header a client sent), else this request's
    own address (the embedded default, where the Host is the developer's browser)."""
    configured = runtime().settings.public_url
    if configured:
        return configured + "/", configured + "/admin/"
    portal = request.host_url
    return portal, portal + "admin/"


def safe_next(target: str | None, fallback: str) -> str:
    """Follow ``next`` only to a page of this same app on this same host."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc != request.host):
        return fallback
    path = parts.path
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return fallback
    if not (path == request.script_root or path.startswith(request.script_root + "/")):
        return fallback
    return path + (f"?{parts.query}" if parts.query else "")


def _select_locale() -> str:
    if not has_request_context():  # jobs and commands: the installation's default
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    lang = session.get("lang")
    if lang in LANGUAGES:
        return lang
    user = current_user
    if getattr(user, "is_authenticated", False) and user.locale in LANGUAGES:
        return user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def money(value: Decimal | int | None, currency: str = "PLN") -> str:
    if value is None:
        return "—"
    return format_currency(Decimal(value), currency)


def local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_datetime(value, fmt)


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
    )
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    if request.endpoint and request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _teardown_db(_exc):
    s = g.pop("db", None)
    if s is not None:
        s.close()


def _healthz():
    rt = runtime()
    result = {"database": "ok", "redis": "ok", "workers": 0}
    status = 200
    try:
        with rt.db.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # report, don't raise: this is the health page
        result["database"] = f"error: {type(exc).__name__}"
        status = 503
    try:
        from rq import Worker

        rt.redis.ping()
        result["workers"] = len(Worker.all(connection=rt.redis))
    except Exception as exc:
        result["redis"] = f"error: {type(exc).__name__}"
        status = 503
    return jsonify(result), status


def _error_page(code: int, title, message):
    def handler(_error):
        return render_template("errors/error.html", code=code, title=title, message=message), code

    return handler


class BoundedInt(IntegerConverter):
    """Ids in URLs: 1 … 2^63-1, so an absurd number is a plain 404, never a database error."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def create_flask_app(import_name: str, rt: Runtime, realm: str, cookie_path: str) -> Flask:
    app = Flask(
        import_name,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(rt.settings.instance_path),
    )
    app.url_map.converters["int"] = BoundedInt
    settings = rt.settings
    # Each app signs its cookie with its own key, so one app's cookie means nothing to the other.
    app.secret_key = hmac.new(
        settings.secret_key.encode(), realm.encode(), hashlib.sha256
    ).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME=f"asystent_{realm}",
        SESSION_COOKIE_PATH=cookie_path,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_NAME=f"asystent_{realm}_remember",
        REMEMBER_COOKIE_PATH=cookie_path,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "translations"),
        MAX_CONTENT_LENGTH=50 * 1024 * 1024,
        ASYSTENT_REALM=realm,
    )
    app.extensions["asystent.runtime"] = rt
    Babel(app, locale_selector=_select_locale)
    CSRFProtect(app)

    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["dt"] = local_datetime
    app.jinja_env.filters["number"] = format_decimal
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    app.jinja_env.globals["realm"] = realm

    app.after_request(_security_headers)
    app.teardown_appcontext(_teardown_db)
    app.add_url_rule("/healthz", "healthz", _healthz)

    @app.route("/lang/<code>")
    def set_language(code: str):
        if code in LANGUAGES:
            session["lang"] = code
        return redirect(safe_next(request.args.get("next"), url_for("index")))

    for code, title, message in (
        (403, _l("Access denied"), _l("You do not have permission to open this page.")),
        (404, _l("Page not found"), _l("The page does not exist or is not available to you.")),
        (405, _l("Method not allowed"), _l("This address does not accept that kind of request.")),
        (413, _l("File too large"), _l("The file you sent is larger than the limit.")),
        (
            500,
            _l("Something went wrong"),
            _l("An error occurred. It has been logged; please try again later."),
        ),
    ):
        app.register_error_handler(code, _error_page(code, title, message))

    @app.errorhandler(CSRFError)
    def _csrf_error(_e: CSRFError):
        return (
            render_template(
                "errors/error.html",
                code=400,
                title=_l("The form has expired"),
                message=_l(
                    "For your security the form could not be accepted. "
                    "Go back, reload the page and try again."
                ),
            ),
            400,
        )

    return app
