from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from core.web import db
from models import PortalRole, PortalUser
from portal import scope
from services.orgtree import build_tree

bp = Blueprint("dashboard", __name__)


@bp.route("/dashboard")
@login_required
def index():
    user = current_user
    if user.role == PortalRole.employee:  # an employee's home is their own line
        return redirect(url_for("selfcare.index"))
    units = list(db().scalars(scope.units(user)))
    user_count = db().scalar(
        select(func.count())
        .select_from(PortalUser)
        .where(PortalUser.customer_id == user.customer_id)
    )
    return render_template(
        "portal/dashboard/index.html",
        customer=user.customer,
        tree=build_tree(units),
        unit_count=len(units),
        user_count=user_count,
    )
