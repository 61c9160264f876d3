"""Portal sign-in and sign-out, the invitation link (set a password, then signed in), and the
forgotten-password link."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from core.auth import login_user
from core.forms import LoginForm
from core.web import client_address, commit, db, public_bases, runtime, safe_next
from models import PortalUser
from portal.auth.forms import ForgotPasswordForm, SetPasswordForm
from services import ServiceError, account_links, auth, portal_users
from services.account_links import INVITE, PORTAL_PATHS, RESET, Links

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            result = auth.authenticate(
                db(), "portal", form.email.data, form.password.data, client_address()
            )
        except auth.LoginLocked as locked:
            flash(
                _(
                    "Too many failed sign-in attempts. Try again in %(minutes)d min.",
                    minutes=locked.minutes,
                ),
                "danger",
            )
            status = 429
        else:
            if result.user is None:
                commit()
                flash(_("Wrong e-mail or password."), "danger")
                status = 401
            else:
                auth.complete_login(db(), result.user, client_address())
                commit()
                login_user(result.user)
                return redirect(safe_next(request.args.get("next"), url_for("index")))
    elif request.method == "POST":
        status = 400
    return render_template("portal/auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("You have been signed out."), "success")
    return redirect(url_for("auth.login"))


def _links() -> Links:
    portal_base, console_base = public_bases()
    return Links(
        secret=runtime().settings.secret_key, portal_base=portal_base, console_base=console_base
    )


def _fresh_session() -> None:
    """Whoever was signed in on this browser is not any more; only the language stays."""
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang


def _set_password(token: str, purpose: str):
    try:
        user = account_links.read_token(
            db(), runtime().settings.secret_key, PortalUser, purpose, token
        )
    except ServiceError as err:
        return (
            render_template("portal/auth/link_invalid.html", message=err.text, purpose=purpose),
            410 if err.details.get("reason") == "expired" else 400,
        )
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            account_links.set_password(db(), user, form.password.data, purpose, client_address())
        except ServiceError as err:
            db().rollback()
            form.password.errors = [*form.password.errors, err.text]
        else:
            auth.complete_login(db(), user, client_address())
            commit()
            _fresh_session()
            login_user(user)
            flash(_("Your password has been set. Welcome to Asystent!"), "success")
            return redirect(url_for("index"))
    status = 422 if request.method == "POST" else 200
    return (
        render_template("portal/auth/set_password.html", form=form, user=user, purpose=purpose),
        status,
    )


@bp.route(PORTAL_PATHS[INVITE] + "<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    return _set_password(token, INVITE)


@bp.route(PORTAL_PATHS[RESET] + "<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _set_password(token, RESET)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        portal_users.request_reset(db(), form.email.data, _links(), client_address())
        commit()
        # The same answer whether or not the account exists: the page tells nobody who has one.
        flash(
            _(
                "If %(email)s has an account, we have sent it a link to set a new password. "
                "The link is valid for one hour.",
                email=form.email.data,
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("portal/auth/forgot_password.html", form=form), status
