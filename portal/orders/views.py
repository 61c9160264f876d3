"""Orders (/orders/): the list, the order's page with its positions and history, approving or
rejecting an order that waits for approval, cancelling what has not shipped.

Fleet administrators and viewers read (employees: 403); administrators cancel; users allowed to
approve orders (``can_approve_orders``) decide on orders placed by someone else. Which orders a
user sees: services.order_reading.visible (a division's administrator: their own orders and the
orders of their division); any other id is 404.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, select

from core.web import actor, commit, db
from models import (
    AuditEvent,
    Employee,
    Line,
    LineKind,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    OrgUnit,
    PortalUser,
    Product,
    ProvisioningRequest,
    TariffPlan,
)
from portal import scope as tenant
from portal.fleet.labels import REQUEST_STATUS_LABELS
from portal.orders import history
from portal.orders.forms import ActionForm, RejectForm
from portal.orders.labels import OPEN_STATES, template_helpers
from services import ServiceError, order_reading, orders
from services.fleet import scope_conditions
from services.order_items import as_id, with_vat

bp = Blueprint("orders", __name__, url_prefix="/orders")

PAGE_SIZE = 50
HISTORY_LIMIT = 300


@bp.before_request
@login_required
def _readers():
    tenant.require_fleet_reader()


bp.context_processor(template_helpers)


def order_or_404(order_id: int) -> Order:
    order = db().scalar(
        select(Order).where(Order.id == order_id, order_reading.visible(current_user))
    )
    if order is None:
        abort(404)
    return order


def _people(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    query = select(PortalUser.id, PortalUser.full_name).where(
        PortalUser.id.in_(ids), PortalUser.customer_id == current_user.customer_id
    )
    return dict(db().execute(query).all())


# --- the list ----------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index():
    state = request.args.get("state") or ""
    if state != "open" and state not in OrderState.__members__:
        state = ""
    q = (request.args.get("q") or "").strip()[:30]
    before = as_id(request.args.get("before"))
    query = select(Order).where(order_reading.visible(current_user))
    if state == "open":
        query = query.where(Order.state.in_([OrderState(s) for s in OPEN_STATES]))
    elif state:
        query = query.where(Order.state == OrderState(state))
    if q:
        digits = q.replace(" ", "").upper()
        query = query.where(Order.number.contains(digits, autoescape=True))
    if before:
        query = query.where(Order.id < before)
    found = list(db().scalars(query.order_by(Order.id.desc()).limit(PAGE_SIZE + 1)))
    page, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    to_decide = order_reading.awaiting_decision(db(), current_user)
    ids = [o.id for o in page] + [o.id for o in to_decide]
    return render_template(
        "portal/orders/index.html",
        orders=page,
        next_before=page[-1].id if more else None,
        first_page=bool(before),
        progress=order_reading.progress(db(), ids),
        people=_people([o.placed_by_id for o in page + to_decide]),
        to_decide=to_decide,
        state=state,
        q=q,
        states=list(OrderState.__members__),
    )


# --- one order ---------------------------------------------------------------------------------


def _names(lines: list[OrderLine], customer_id: int) -> dict:
    """What the positions name, a few queries for all of them."""
    product_ids = {ln.product_id for ln in lines if ln.product_id}
    tariff_ids = {ln.tariff_id for ln in lines if ln.tariff_id}
    unit_ids = {ln.params.get("unit_id") for ln in lines if ln.kind == LineKind.activation}
    line_ids = {ln.line_id for ln in lines if ln.line_id}
    s = db()
    out: dict = {"products": {}, "tariffs": {}, "units": {}, "lines": {}, "requests": {}}
    if product_ids:
        out["products"] = dict(
            s.execute(select(Product.id, Product.name).where(Product.id.in_(product_ids))).all()
        )
    if tariff_ids:
        out["tariffs"] = dict(
            s.execute(
                select(TariffPlan.id, TariffPlan.name).where(TariffPlan.id.in_(tariff_ids))
            ).all()
        )
    unit_ids = {u for u in unit_ids if isinstance(u, int)}
    if unit_ids:
        out["units"] = dict(
            s.execute(
                select(OrgUnit.id, OrgUnit.name).where(
                    OrgUnit.id.in_(unit_ids), OrgUnit.customer_id == customer_id
                )
            ).all()
        )
    if line_ids:
        rows = s.execute(
            select(Line.id, Line.msisdn, Line.status, Employee.full_name)
            .outerjoin(Employee, Employee.id == Line.employee_id)
            .where(Line.id.in_(line_ids), *scope_conditions(tenant.fleet_scope(current_user)))
        )
        out["lines"] = {
            lid: {"msisdn": m, "status": st.value, "employee": e} for lid, m, st, e in rows
        }
        for req in s.scalars(
            select(ProvisioningRequest)
            .where(
                ProvisioningRequest.line_id.in_(line_ids),
                ProvisioningRequest.action == "activate",
            )
            .order_by(ProvisioningRequest.id)
        ):
            out["requests"][req.line_id] = req  # the newest wins
    return out


def render_order(order: Order, *, reject_form=None, status: int = 200):
    s = db()
    lines = list(
        s.scalars(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id))
    )
    positions = {ln.id: n for n, ln in enumerate(lines, start=1)}
    events = list(
        s.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.object_type == "order",
                AuditEvent.object_id == order.id,
                AuditEvent.customer_id == order.customer_id,
            )
            .order_by(AuditEvent.id.desc())
            .limit(HISTORY_LIMIT)
        )
    )
    manager = tenant.can_manage(current_user)
    pending = order.state == OrderState.pending
    can_decide = (
        pending and current_user.can_approve_orders and current_user.id != order.placed_by_id
    )
    if can_decide and reject_form is None:
        reject_form = RejectForm(formdata=None)
    cancellable = {ln.id for ln in lines if manager and orders.can_cancel(ln)}
    ended = {ln.id for ln in lines if ln.state in (OrderLineState.cancelled, OrderLineState.failed)}
    vat, gross = with_vat(order.total_net)
    fees = {
        ln.id: Decimal(str(ln.params.get("monthly_fee") or "0"))
        for ln in lines
        if ln.kind == LineKind.activation
    }
    monthly = sum((fee for line_id, fee in fees.items() if line_id not in ended), Decimal("0.00"))
    return render_template(
        "portal/orders/detail.html",
        order=order,
        lines=lines,
        positions=positions,
        names=_names(lines, order.customer_id),
        queue=order_reading.queue_places(s, lines),
        history=history.describe(events, positions),
        people=_people([order.placed_by_id, order.approved_by_id]),
        approvers=orders.approvers(s, order.customer_id, None) if pending else [],
        can_decide=can_decide,
        reject_form=reject_form,
        action_form=ActionForm(formdata=None),
        cancellable=cancellable,
        vat=vat,
        gross=gross,
        monthly=monthly,
        fees=fees,
        REQUEST_STATUS_LABELS=REQUEST_STATUS_LABELS,
    ), status


@bp.route("/<int:order_id>")
@login_required
def detail(order_id: int):
    return render_order(order_or_404(order_id))


def _refused(order: Order, err: ServiceError):
    db().rollback()
    flash(err.text, "danger")
    return render_order(order, status=422)


@bp.post("/<int:order_id>/approve")
@login_required
def approve(order_id: int):
    order = order_or_404(order_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        orders.approve(db(), actor(), order, current_user)
        commit()
    except ServiceError as err:
        return _refused(order, err)
    flash(_("Order %(number)s is approved and goes ahead.", number=order.number), "success")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.post("/<int:order_id>/reject")
@login_required
def reject(order_id: int):
    order = order_or_404(order_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return render_order(order, reject_form=form, status=422)
    try:
        orders.reject(db(), actor(), order, current_user, form.reason.data)
        commit()
    except ServiceError as err:
        return _refused(order, err)
    flash(_("Order %(number)s is rejected.", number=order.number), "success")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.post("/<int:order_id>/cancel")
@login_required
def cancel(order_id: int):
    """Cancel every position that has not shipped."""
    tenant.require_manager()
    order = order_or_404(order_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        cancelled, kept = orders.cancel_order(db(), actor(), order)
        commit()
    except ServiceError as err:
        return _refused(order, err)
    message = ngettext("%(num)d position cancelled.", "%(num)d positions cancelled.", cancelled)
    if kept:
        message += " " + ngettext(
            "%(num)d new line is already being activated by the network and stays.",
            "%(num)d new lines are already being activated by the network and stay.",
            kept,
        )
    flash(message, "success" if not kept else "warning")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.post("/<int:order_id>/positions/<int:order_line_id>/cancel")
@login_required
def cancel_position(order_id: int, order_line_id: int):
    tenant.require_manager()
    order = order_or_404(order_id)
    line = db().scalar(
        select(OrderLine).where(OrderLine.id == order_line_id, OrderLine.order_id == order.id)
    )
    if line is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    number = db().scalar(  # the position's number on the order page
        select(func.count())
        .select_from(OrderLine)
        .where(OrderLine.order_id == order.id, OrderLine.id <= line.id)
    )
    try:
        returned = orders.cancel_line(db(), actor(), line)
        commit()
    except ServiceError as err:
        return _refused(order, err)
    message = _("Position %(n)d is cancelled.", n=number)
    if returned:
        message += " " + ngettext(
            "%(num)d reserved unit goes back to stock.",
            "%(num)d reserved units go back to stock.",
            returned,
        )
    flash(message, "success")
    return redirect(url_for("orders.detail", order_id=order.id))
