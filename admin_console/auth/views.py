"""Staff sign-in: password, then a TOTP code (enrolment first where the role requires it)."""

from __future__ import annotations

import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from core.auth import login_user
from core.forms import LoginForm, TotpForm
from core.web import client_address, commit, db, safe_next
from models import StaffUser
from services import auth

bp = Blueprint("auth", __name__)

PENDING = "pending_staff_id"


def _finish(user: StaffUser):
    auth.complete_login(db(), user, client_address())
    commit()
    nxt = session.pop("pending_next", None)
    session.pop(PENDING, None)
    session.pop("totp_setup_secret", None)
    login_user(user)
    return redirect(safe_next(nxt, url_for("index")))


def _pending_user() -> StaffUser:
    user_id = session.get(PENDING)
    user = db().get(StaffUser, user_id) if user_id else None
    if user is None or not user.is_active:
        session.pop(PENDING, None)
        abort(redirect(url_for("auth.login")))
    return user


def _locked_message(locked: auth.LoginLocked) -> str:
    return _(
        "Too many failed sign-in attempts. Try again in %(minutes)d min.", minutes=locked.minutes
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            result = auth.authenticate(
                db(), "console", form.email.data, form.password.data, client_address()
            )
        except auth.LoginLocked as locked:
            flash(_locked_message(locked), "danger")
            status = 429
        else:
            commit()
            if result.user is None:
                flash(_("Wrong e-mail or password."), "danger")
                status = 401
            else:
                lang = session.get("lang")
                session.clear()  # nothing from before the sign-in survives it but the language
                if lang:
                    session["lang"] = lang
                session["pending_next"] = request.args.get("next")
                if result.needs_totp:
                    session[PENDING] = result.user.id
                    return redirect(url_for("auth.totp"))
                if result.needs_totp_setup:
                    session[PENDING] = result.user.id
                    return redirect(url_for("auth.totp_setup"))
                return _finish(result.user)
    elif request.method == "POST":
        status = 400
    return render_template("admin_console/auth/login.html", form=form), status


@bp.route("/login/code", methods=["GET", "POST"])
def totp():
    user = _pending_user()
    form = TotpForm()
    status = 200
    if form.validate_on_submit():
        try:
            ok = auth.verify_totp(db(), user, form.code.data, client_address())
        except auth.LoginLocked as locked:
            flash(_locked_message(locked), "danger")
            status = 429
        else:
            if ok:
                return _finish(user)
            commit()
            form.code.errors.append(_("The code is wrong or has expired. Enter the current one."))
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("admin_console/auth/totp.html", form=form, user=user), status


@bp.route("/login/setup-code", methods=["GET", "POST"])
def totp_setup():
    user = _pending_user()
    if user.totp_enabled:
        return redirect(url_for("auth.totp"))
    secret = session.get("totp_setup_secret")
    if not secret:
        secret = session["totp_setup_secret"] = auth.new_totp_secret()
    uri = auth.totp_uri(user, secret)
    form = TotpForm()
    status = 200
    if form.validate_on_submit():
        if auth.enable_totp(db(), user, secret, form.code.data, client_address()):
            flash(_("Two-step sign-in is on. You will be asked for a code every time."), "success")
            return _finish(user)
        form.code.errors.append(_("The code does not match. Check the time on your phone."))
        status = 401
    elif request.method == "POST":
        status = 400
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#0b1f3a")
    return (
        render_template(
            "admin_console/auth/totp_setup.html",
            form=form,
            user=user,
            qr_svg=qr_svg,
            secret=secret,
        ),
        status,
    )


@bp.route("/logout", methods=["POST"])
def logout():
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have been signed out."), "success")
    return redirect(url_for("auth.login"))
