"""The provisioning queue: the network changes of the user's customers that wait, are being
carried out or failed (with the network's reason), their age and attempts; filters by status,
customer and kind of change; and sending a failed one again.

Scoped like every customer page: an account manager sees their own customers' requests only
(another's request id is 404); sales admins read; managers and operator admins retry (403
otherwise). A retry goes through services.provisioning.retry_failed, audited, and the worker
picks it up after the commit.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from admin_console import scope
from admin_console.customers.common import customer_for_reading
from admin_console.customers.forms import ActionForm
from admin_console.customers.timeline_sentences import _network_action as network_action
from core.web import actor, commit, db, safe_next
from models import Customer, ProvisioningRequest
from models.base import utcnow
from services import ServiceError, provisioning
from services import provisioning_queue as pq

bp = Blueprint("provisioning", __name__, url_prefix="/provisioning")

PAGE_SIZE = 50


def _customer_ids():
    return scope.customers(current_user).with_only_columns(Customer.id)


@bp.route("/")
def index():
    flt = pq.QueueFilter.from_args(request.args)
    customer = customer_for_reading(flt.customer_id) if flt.customer_id else None
    page = max(1, min(request.args.get("page", 1, type=int), 10_000))
    rows, total = pq.rows(
        db(), _customer_ids(), flt, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    now = utcnow()
    return render_template(
        "admin_console/provisioning/index.html",
        rows=rows,
        total=total,
        counts=pq.counts(db(), _customer_ids(), flt),
        flt=flt,
        customer=customer,
        customers=db()
        .execute(
            scope.customers(current_user)
            .with_only_columns(Customer.id, Customer.name)
            .order_by(Customer.name)
            .limit(500)
        )
        .all(),
        actions=[(a, network_action(a)) for a in pq.ACTIONS],
        action_label=network_action,
        age=lambda when: format_timedelta(now - when, threshold=1.1),
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        can_retry=scope.can_change_customer(current_user),
        form=ActionForm(),
    )


@bp.route("/<int:request_id>/retry", methods=["POST"])
def retry(request_id: int):
    req = db().scalar(
        select(ProvisioningRequest).where(
            ProvisioningRequest.id == request_id,
            ProvisioningRequest.customer_id.in_(_customer_ids()),
        )
    )
    if req is None:
        abort(404)
    if not scope.can_change_customer(current_user):
        abort(403)
    back = safe_next(request.form.get("next"), url_for("provisioning.index"))
    if ActionForm().validate_on_submit():
        try:
            provisioning.retry_failed(db(), actor(), req)
        except ServiceError as err:
            db().rollback()
            flash(err.text, "danger")
        else:
            commit()
            flash(_("The request has been sent to the network again."), "success")
    return redirect(back)
