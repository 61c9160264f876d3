"""Service requests in the console: the list of the user's customers' requests (by state,
overdue, customer), opening one for a customer, and a request's page with its state changes
and notes.

Everything goes through ``admin_console.scope``: an account manager reaches only the requests
of their own customers (anything else is 404); sales admins read; managers and operator
admins change (403 otherwise).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select

from admin_console import scope
from admin_console.customers.common import customer_for_change
from admin_console.customers.forms import refuse
from admin_console.service.forms import NoteForm, RequestForm, StateForm
from core.web import actor, commit, db
from models import Customer, Line, ServiceRequest
from models.base import utcnow
from services import ServiceError
from services import service_requests as svc
from services.fleet import FleetScope

bp = Blueprint("service_requests", __name__, url_prefix="/service-requests")

PAGE_SIZE = 50
STATE_FILTERS = ("open", "all", *svc.STATE_LABELS)


def _customer_ids():
    return scope.customers(current_user).with_only_columns(Customer.id)


def request_or_404(request_id: int) -> ServiceRequest:
    req = db().scalar(svc.for_customers(_customer_ids()).where(ServiceRequest.id == request_id))
    if req is None:
        abort(404)
    return req


def _require_change() -> None:
    if not scope.can_change_customer(current_user):
        abort(403)


@bp.app_template_global("service_request_labels")
def labels() -> dict:
    return {"category": svc.CATEGORY_LABELS, "state": svc.STATE_LABELS}


@bp.route("/")
def index():
    state = request.args.get("state", "open")
    state = state if state in STATE_FILTERS else "open"
    overdue = request.args.get("overdue") == "1"
    customer = None
    customer_id = request.args.get("customer_id", type=int)
    if customer_id is not None:
        customer = scope.customer_or_404(current_user, customer_id)
    page = max(1, min(request.args.get("page", 1, type=int), 10_000))
    now = utcnow()
    query = svc.filtered(
        svc.for_customers(_customer_ids()),
        state=None if state == "all" else state,
        overdue=overdue,
        customer_id=customer.id if customer else None,
        now=now,
    )
    total = db().scalar(select(func.count()).select_from(query.subquery()))
    rows = (
        db()
        .execute(
            query.add_columns(Customer.name, Customer.number, Line.msisdn)
            .join(Customer, Customer.id == ServiceRequest.customer_id)
            .outerjoin(Line, Line.id == ServiceRequest.line_id)
            .order_by(
                case((ServiceRequest.state.in_(svc.SERVICE_REQUEST_OPEN_STATES), 0), else_=1),
                ServiceRequest.due_at,
                ServiceRequest.id,
            )
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
        .all()
    )
    customers = (
        db()
        .execute(
            scope.customers(current_user)
            .with_only_columns(Customer.id, Customer.name)
            .order_by(Customer.name)
            .limit(500)
        )
        .all()
    )
    return render_template(
        "admin_console/service/index.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        state=state,
        overdue=overdue,
        customer=customer,
        customers=customers,
        now=now,
        can_change=scope.can_change_customer(current_user),
    )


@bp.route("/new/<int:customer_id>", methods=["GET", "POST"])
def new(customer_id: int):
    customer = customer_for_change(customer_id)
    form = RequestForm(category=request.args.get("category") or "repair")
    if form.validate_on_submit():
        try:
            line = svc.find_line(db(), FleetScope(customer.id), form.msisdn.data)
            req = svc.open_request(
                db(),
                actor(),
                customer,
                category=form.category.data,
                subject=form.subject.data,
                description=form.description.data,
                line=line,
            )
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            flash(_("Service request %(number)s has been opened.", number=req.number), "success")
            return redirect(url_for("service_requests.detail", request_id=req.id))
    status = 422 if request.method == "POST" else 200
    deadlines = {
        term: svc.deadline_for(db(), customer.id, category, utcnow())
        for term, category in (
            ("repair", svc.ServiceRequestCategory.repair),
            ("response", svc.ServiceRequestCategory.other),
        )
    }
    return render_template(
        "admin_console/service/new.html", form=form, customer=customer, deadlines=deadlines
    ), status


def _detail(req: ServiceRequest, state_form: StateForm, note_form: NoteForm, status: int = 200):
    customer = db().get(Customer, req.customer_id)
    line = db().get(Line, req.line_id) if req.line_id else None
    state_form.set_choices(req)
    return render_template(
        "admin_console/service/detail.html",
        req=req,
        customer=customer,
        line=line,
        notes=svc.notes(db(), req, include_internal=True),
        state_form=state_form,
        note_form=note_form,
        now=utcnow(),
        can_change=scope.can_change_customer(current_user),
    ), status


@bp.route("/<int:request_id>")
def detail(request_id: int):
    req = request_or_404(request_id)
    return _detail(req, StateForm(), NoteForm())


@bp.route("/<int:request_id>/state", methods=["POST"])
def change_state(request_id: int):
    req = request_or_404(request_id)
    _require_change()
    form = StateForm()
    form.set_choices(req)
    if form.validate_on_submit():
        try:
            svc.change_state(db(), actor(), req, form.state.data, form.note.data)
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            flash(
                _(
                    "Request %(number)s is now: %(state)s.",
                    number=req.number,
                    state=svc.STATE_LABELS[req.state],
                ),
                "success",
            )
            return redirect(url_for("service_requests.detail", request_id=req.id))
    db().refresh(req)
    return _detail(req, form, NoteForm(formdata=None), 422)


@bp.route("/<int:request_id>/notes", methods=["POST"])
def add_note(request_id: int):
    req = request_or_404(request_id)
    _require_change()
    form = NoteForm()
    if form.validate_on_submit():
        try:
            svc.add_note(db(), actor(), req, form.body.data, internal=form.internal.data)
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            flash(_("The note has been added."), "success")
            return redirect(url_for("service_requests.detail", request_id=req.id, _anchor="notes"))
    return _detail(req, StateForm(formdata=None), form, 422)
