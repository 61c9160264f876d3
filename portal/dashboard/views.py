from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from core.web import db
from models import OrgUnit, PortalUser
from portal import scope
from services.orgtree import ancestors, build_tree

bp = Blueprint("dashboard", __name__)


@bp.route("/dashboard")
@login_required
def index():
    user = current_user
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


@bp.route("/units/<int:unit_id>")
@login_required
def unit(unit_id: int):
    unit = scope.unit_or_404(current_user, unit_id)
    children = list(
        db().scalars(
            scope.units(current_user).where(OrgUnit.parent_id == unit.id).order_by(OrgUnit.name)
        )
    )
    crumbs = [u for u in ancestors(db(), unit) if scope.is_visible(current_user, u)]
    return render_template(
        "portal/dashboard/unit.html", unit=unit, children=children, breadcrumbs=crumbs
    )
