"""Service requests in the portal (/service/): the list, opening a request, and its page where
the customer follows the state and the operator's answers and adds information.

Fleet administrators and viewers read (employees: 403); administrators open requests and add
information. Which requests a user sees: services.service_requests.for_portal_user — the whole
company's, or, for an administrator limited to a part of the department tree, the requests
about lines in that part plus those the user opened (a request about no line, such as a
billing question, belongs to the company: a limited administrator sees only their own). Any
other id is 404. The operator's internal notes never appear here.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import case, func, select

from core.web import actor, commit, db
from models import Customer, Line, ServiceRequest
from models.base import utcnow
from portal import scope as tenant
from portal.service.forms import CommentForm, ServiceRequestForm
from services import ServiceError
from services import service_requests as svc
from services.fleet import format_msisdn

bp = Blueprint("service", __name__, url_prefix="/service")

PAGE_SIZE = 50


@bp.before_request
@login_required
def _readers():
    tenant.require_fleet_reader()


@bp.context_processor
def _labels():
    return {
        "category_labels": svc.CATEGORY_LABELS,
        "state_labels": svc.STATE_LABELS,
        "format_msisdn": format_msisdn,
    }


def _visible():
    return svc.for_portal_user(current_user, tenant.fleet_scope(current_user))


def request_or_404(request_id: int) -> ServiceRequest:
    req = db().scalar(_visible().where(ServiceRequest.id == request_id))
    if req is None:
        abort(404)
    return req


def _refuse(form, err: ServiceError) -> None:
    db().rollback()
    field = getattr(form, err.field, None) if err.field else None
    if field is not None:
        field.errors = [*field.errors, err.text]
    else:
        form.form_errors.append(err.text)


@bp.route("/")
def index():
    state = request.args.get("state", "open")
    state = state if state in ("open", "all") else "open"
    page = max(1, min(request.args.get("page", 1, type=int), 10_000))
    query = svc.filtered(_visible(), state=None if state == "all" else state)
    total = db().scalar(select(func.count()).select_from(query.subquery()))
    rows = (
        db()
        .execute(
            query.add_columns(Line.msisdn)
            .outerjoin(Line, Line.id == ServiceRequest.line_id)
            .order_by(
                case((ServiceRequest.state.in_(svc.SERVICE_REQUEST_OPEN_STATES), 0), else_=1),
                ServiceRequest.id.desc(),
            )
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
        .all()
    )
    return render_template(
        "portal/service/index.html",
        rows=rows,
        total=total,
        state=state,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        now=utcnow(),
        can_open=tenant.can_manage(current_user),
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    tenant.require_manager()
    form = ServiceRequestForm(
        category=request.args.get("category") or "repair", msisdn=request.args.get("msisdn")
    )
    if form.validate_on_submit():
        try:
            line = svc.find_line(db(), tenant.fleet_scope(current_user), form.msisdn.data)
            req = svc.open_request(
                db(),
                actor(),
                db().get(Customer, current_user.customer_id),
                category=form.category.data,
                subject=form.subject.data,
                description=form.description.data,
                line=line,
            )
        except ServiceError as err:
            _refuse(form, err)
        else:
            commit()
            flash(
                _(
                    "Your request %(number)s has been sent to the operator.",
                    number=req.number,
                ),
                "success",
            )
            return redirect(url_for("service.detail", request_id=req.id))
    status = 422 if request.method == "POST" else 200
    return render_template("portal/service/new.html", form=form), status


def _detail(req: ServiceRequest, form: CommentForm, status: int = 200):
    line = db().get(Line, req.line_id) if req.line_id else None
    return render_template(
        "portal/service/detail.html",
        req=req,
        line=line,
        notes=svc.notes(db(), req, include_internal=False),
        form=form,
        now=utcnow(),
        can_comment=tenant.can_manage(current_user) and req.is_open,
    ), status


@bp.route("/<int:request_id>")
def detail(request_id: int):
    return _detail(request_or_404(request_id), CommentForm())


@bp.route("/<int:request_id>/comment", methods=["POST"])
def comment(request_id: int):
    req = request_or_404(request_id)
    tenant.require_manager()
    form = CommentForm()
    if form.validate_on_submit():
        if not req.is_open:
            form.form_errors.append(
                _("The request is no longer open; open a new one if something is still wrong.")
            )
        else:
            try:
                svc.add_note(db(), actor(), req, form.body.data, internal=False)
            except ServiceError as err:
                _refuse(form, err)
            else:
                commit()
                flash(_("Your information has been added to the request."), "success")
                return redirect(url_for("service.detail", request_id=req.id, _anchor="notes"))
    return _detail(req, form, 422)
