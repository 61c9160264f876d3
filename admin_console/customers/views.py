from __future__ import annotations

from flask import Blueprint, make_response, render_template, request
from flask_login import current_user
from sqlalchemy import func, or_, select

from admin_console import scope
from core.web import db
from models import Customer, OrgUnit, PortalUser

bp = Blueprint("customers", __name__)

PAGE_SIZE = 50


@bp.route("/customers")
def index():
    q = (request.args.get("q") or "").strip()[:100]
    query = scope.customers(current_user)
    if q:
        like = f"%{q.lower()}%"
        digits = "".join(ch for ch in q if ch.isdigit())
        conditions = [
            func.lower(Customer.name).like(like),
            func.lower(Customer.number).like(like),
            func.lower(Customer.city).like(like),
        ]
        if digits:
            conditions.append(Customer.nip.like(f"%{digits}%"))
        query = query.where(or_(*conditions))
    total = db().scalar(select(func.count()).select_from(query.subquery()))
    customers = list(db().scalars(query.order_by(Customer.name).limit(PAGE_SIZE)))
    ids = [c.id for c in customers]
    unit_counts = (
        dict(
            db()
            .execute(
                select(OrgUnit.customer_id, func.count())
                .where(OrgUnit.customer_id.in_(ids))
                .group_by(OrgUnit.customer_id)
            )
            .all()
        )
        if ids
        else {}
    )
    user_counts = (
        dict(
            db()
            .execute(
                select(PortalUser.customer_id, func.count())
                .where(PortalUser.customer_id.in_(ids))
                .group_by(PortalUser.customer_id)
            )
            .all()
        )
        if ids
        else {}
    )
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    template = (
        "admin_console/customers/_rows.html" if partial else "admin_console/customers/index.html"
    )
    response = make_response(
        render_template(
            template,
            customers=customers,
            q=q,
            total=total,
            unit_counts=unit_counts,
            user_counts=user_counts,
            page_size=PAGE_SIZE,
        )
    )
    response.vary.add("HX-Request")
    return response
