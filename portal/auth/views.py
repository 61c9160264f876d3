from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from core.auth import login_user
from core.forms import LoginForm
from core.web import client_address, commit, db, safe_next
from services import auth

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
