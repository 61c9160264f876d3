"""The fleet admin's self-service pages (/selfservice/): pending approvals and what employees
did; the policy of a unit (its own rules, and what it inherits from where); the effective
policy of a line; inviting employees to sign in. Scoped to the admin's subtree (404 outside)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, gettext
from flask_login import current_user, login_required
from sqlalchemy import select

from core.web import actor, commit, db
from models import Employee, Line, OrgUnit, PortalUser, Product, ProductKind, SelfServiceRequest
from portal import scope as tenant
from portal.auth.views import _links
from portal.fleet.views import line_or_404
from portal.selfadmin.forms import CsrfForm, PolicyForm, RejectForm
from services import (
    ServiceError,
    approvals,
    employee_access,
    policies,
    selfservice,
    spend_overview,
)
from services import fleet as fl
from services.orgtree import ancestors

bp = Blueprint("selfadmin", __name__, url_prefix="/selfservice")


@bp.before_request
@login_required
def _only_fleet_admins():
    tenant.require_manager()


@bp.context_processor
def _labels():
    from flask_babel import lazy_gettext as _l

    return {
        "RULES": policies.RULES,
        "SWITCHES": policies.SWITCHES,
        "MODE_LABELS": {
            "self": _l("Employees themselves"),
            "approval": _l("Only with approval"),
            "never": _l("Not at all"),
        },
        "ZONE_NAMES": {k: str(v) for k, v in approvals.ZONE_NAMES.items()},
        "OVER_BUDGET_LABELS": {
            "pay": _l("The employee pays the difference"),
            "approval": _l("An approval is needed"),
        },
        "summary": approvals.summary,
        "refusal_text": selfservice.refusal_text,
        "format_msisdn": fl.format_msisdn,
    }


def _scope():
    return tenant.fleet_scope(current_user)


def _mail_locale():
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _request_or_404(request_id: int) -> SelfServiceRequest:
    req = db().get(SelfServiceRequest, request_id)
    if req is None or not approvals.in_scope(req, _scope()):
        abort(404)
    return req


def _context_of(reqs):
    s = db()
    line_ids = {r.line_id for r in reqs}
    user_ids = {r.requested_by_id for r in reqs if r.requested_by_id}
    lines = {ln.id: ln for ln in s.scalars(select(Line).where(Line.id.in_(line_ids or {0})))}
    users = {
        u.id: u for u in s.scalars(select(PortalUser).where(PortalUser.id.in_(user_ids or {0})))
    }
    return lines, users


@bp.route("/")
def index():
    s = db()
    pending = approvals.pending(s, _scope())
    recent = approvals.recent(s, _scope())
    lines, users = _context_of([*pending, *recent])
    alerts = spend_overview.recent(s, _scope())
    alert_lines = {
        ln.id: ln
        for ln in s.scalars(select(Line).where(Line.id.in_({a.line_id for a in alerts} or {0})))
    }
    tops = (
        [current_user.scope_unit]
        if current_user.scope_unit is not None
        else list(s.scalars(tenant.units(current_user).where(OrgUnit.parent_id.is_(None))))
    )
    return render_template(
        "portal/selfadmin/index.html",
        tops=tops,
        pending=pending,
        recent=recent,
        lines=lines,
        users=users,
        form=CsrfForm(formdata=None),
        reject_form=RejectForm(formdata=None),
        near=spend_overview.near_limit(s, _scope()),
        alerts=alerts,
        alert_lines=alert_lines,
    )


@bp.post("/requests/<int:request_id>/approve")
def approve(request_id: int):
    req = _request_or_404(request_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        with force_locale(_mail_locale()):
            approvals.approve(db(), actor(), req, current_user)
    except ServiceError as exc:
        db().rollback()
        flash(exc.text, "danger")
        return redirect(url_for("selfadmin.index"))
    commit()
    flash(gettext("The request has been approved."), "success")
    return redirect(url_for("selfadmin.index"))


@bp.post("/requests/<int:request_id>/reject")
def reject(request_id: int):
    req = _request_or_404(request_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash(gettext("The reason is too long (at most 500 characters)."), "danger")
        return redirect(url_for("selfadmin.index"))
    try:
        with force_locale(_mail_locale()):
            approvals.reject(db(), actor(), req, current_user, form.reason.data)
    except ServiceError as exc:
        db().rollback()
        flash(exc.text, "danger")
        return redirect(url_for("selfadmin.index"))
    commit()
    flash(gettext("The request has been rejected."), "success")
    return redirect(url_for("selfadmin.index"))


# --- policies ---------------------------------------------------------------------------------


def _handsets():
    query = (
        select(Product.id, Product.name)
        .where(Product.kind == ProductKind.handset, Product.is_active.is_(True))
        .order_by(Product.name)
    )
    return [tuple(r) for r in db().execute(query)]


def _inherited(unit: OrgUnit):
    """What the unit would have without its own rules: its parent's policy (or the defaults)."""
    if unit.parent_id is None:
        return policies.effective_for_path(db(), unit.customer_id, "/")
    parent = db().get(OrgUnit, unit.parent_id)
    return policies.effective(db(), parent)


def _overrides_from(form_data) -> dict:
    out = {}
    for key in policies.RULES:
        if form_data.get(f"set:{key}"):
            if key == "exchange.models":
                out[key] = form_data.getlist(f"rule:{key}")
            else:
                out[key] = form_data.get(f"rule:{key}", "")
    return out


@bp.route("/units/<int:unit_id>/policy", methods=["GET", "POST"])
def unit_policy(unit_id: int):
    unit = tenant.unit_or_404(current_user, unit_id)
    form = PolicyForm()
    error, status, values = None, 200, None
    if form.validate_on_submit():
        values = _overrides_from(request.form)
        try:
            changed = policies.set_rules(db(), actor(), unit, values)
        except ServiceError as exc:
            db().rollback()
            unit = tenant.unit_or_404(current_user, unit_id)
            error, status = exc, 422
        else:
            commit()
            flash(
                gettext("The policy has been saved.") if changed else gettext("Nothing changed."),
                "success",
            )
            return redirect(url_for("selfadmin.unit_policy", unit_id=unit.id))
    elif form.is_submitted():
        status = 400
    own = policies.own_rules(db(), unit)
    crumbs = [u for u in ancestors(db(), unit) if tenant.is_visible(current_user, u)]
    return render_template(
        "portal/selfadmin/unit_policy.html",
        unit=unit,
        crumbs=crumbs,
        own=own if values is None else values,
        inherited=_inherited(unit),
        effective=policies.effective(db(), unit),
        handsets=_handsets(),
        form=form,
        error=error,
        invite_form=CsrfForm(formdata=None),
    ), status


@bp.route("/lines/<int:line_id>/policy")
def line_policy(line_id: int):
    line = line_or_404(line_id)
    return render_template(
        "portal/selfadmin/line_policy.html",
        line=line,
        unit=db().get(OrgUnit, line.unit_id),
        effective=policies.effective_for_line(db(), line),
        handset_names=dict(_handsets()),
        invite_form=CsrfForm(formdata=None),
        employee=db().get(Employee, line.employee_id) if line.employee_id else None,
    )


# --- inviting employees -------------------------------------------------------------------


@bp.post("/employees/<int:employee_id>/invite")
def invite_employee(employee_id: int):
    employee = db().get(Employee, employee_id)
    unit = db().get(OrgUnit, employee.unit_id) if employee and employee.unit_id else None
    if employee is None or employee.customer_id != current_user.customer_id:
        abort(404)
    if current_user.scope_unit is not None and (
        unit is None or not tenant.is_visible(current_user, unit)
    ):
        abort(404)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        with force_locale(_mail_locale()):
            employee_access.invite_employee(
                db(), actor(), current_user.customer, _links(), employee
            )
    except ServiceError as exc:
        db().rollback()
        flash(exc.text, "danger")
    else:
        commit()
        flash(gettext("An invitation has been sent to %(email)s.", email=employee.email), "success")
    return redirect(request.referrer or url_for("selfadmin.index"))


@bp.post("/units/<int:unit_id>/invite")
def invite_unit(unit_id: int):
    unit = tenant.unit_or_404(current_user, unit_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    with force_locale(_mail_locale()):
        outcomes = employee_access.invite_unit(db(), actor(), current_user.customer, _links(), unit)
    commit()
    return render_template("portal/selfadmin/invited.html", unit=unit, outcomes=outcomes)
