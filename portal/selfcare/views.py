"""An employee's own lines (/my/): number, tariff, services as the network confirmed them with
what is pending, roaming periods, handset, requests; and the changes the policy lets them make.

Only the employee's own lines are found (another line is 404). A fleet admin or viewer who
opens an address here is sent to the fleet's page of the same line, if it is theirs.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import force_locale, gettext
from flask_login import current_user, login_required
from sqlalchemy import select

from core.web import actor, commit, db
from models import (
    Line,
    OrgUnit,
    PortalRole,
    Product,
    SelfServiceRequest,
    SelfServiceState,
    Service,
    TariffPlan,
)
from portal import scope as tenant
from portal.fleet.labels import REQUEST_STATUS_LABELS, SERVICE_LABELS
from portal.fleet.views import _requests_by_subject
from portal.selfcare.forms import CancelForm, ExchangeForm, RoamingForm, ServiceForm
from services import (
    ServiceError,
    exchange,
    policies,
    scheduled_changes,
    selfservice,
    spend_overview,
)
from services import fleet as fl
from services.approvals import ZONE_NAMES, summary

bp = Blueprint("selfcare", __name__, url_prefix="/my")


@bp.context_processor
def _labels():
    return {
        "SERVICE_LABELS": {k: str(v) for k, v in SERVICE_LABELS.items()},
        "REQUEST_STATUS_LABELS": {k: str(v) for k, v in REQUEST_STATUS_LABELS.items()},
        "ZONE_NAMES": {k: str(v) for k, v in ZONE_NAMES.items()},
        "format_msisdn": fl.format_msisdn,
        "summary": summary,
        "refusal_text": selfservice.refusal_text,
        "can_cancel": selfservice.can_cancel,
    }


def _is_employee() -> bool:
    return current_user.role == PortalRole.employee


def _my_lines():
    return fl.scoped_lines(tenant.fleet_scope(current_user)).options(*fl.WITHOUT_SECRETS)


def my_line_or_404(line_id: int) -> Line:
    line = db().scalar(_my_lines().where(Line.id == line_id))
    if line is None:
        abort(404)
    return line


def _others_go_to_the_fleet(line_id: int):
    """Admins and viewers: the fleet's page of this line, if it is in their scope."""
    if _is_employee():
        return None
    my_line_or_404(line_id)  # their fleet scope: 404 outside it
    return redirect(url_for("fleet.line", line_id=line_id))


@bp.route("/")
@login_required
def index():
    if not _is_employee():
        return redirect(url_for("fleet.index"))
    lines = list(db().scalars(_my_lines().order_by(Line.msisdn)))
    if len(lines) == 1:
        return redirect(url_for("selfcare.line", line_id=lines[0].id))
    ids = {ln.tariff_id for ln in lines} or {0}
    tariffs = {t.id: t for t in db().scalars(select(TariffPlan).where(TariffPlan.id.in_(ids)))}
    return render_template("portal/selfcare/index.html", lines=lines, tariffs=tariffs)


def render_line(line: Line, *, roaming_form=None, status=200, refusal=None):
    s = db()
    _recent, subjects = _requests_by_subject(line)
    policy = policies.effective_for_line(s, line)
    modes = {svc.value: policy.mode(svc) for svc in Service}
    context = {
        "line": line,
        "tariff": s.get(TariffPlan, line.tariff_id),
        "handset": s.get(Product, line.handset_id) if line.handset_id else None,
        "unit": s.get(OrgUnit, line.unit_id),
        "subjects": subjects,
        "asks": selfservice.requests_of_line(s, line.id),
        "schedule": scheduled_changes.schedule_of_line(s, line.id),
        "modes": modes,
        "risky": {k.value: v for k, v in selfservice.RISKY_DIRECTION.items()},
        "allowed_zone": policy.value("roaming.zone"),
        "max_days": policy.value("roaming.max_days"),
        "roaming_form": roaming_form or RoamingForm(formdata=None),
        "service_form": ServiceForm(formdata=None),
        "refusal": refusal,
        "admin": selfservice.nearest_admin(s, line),
        "spend": spend_overview.of_line(s, line),
    }
    return render_template("portal/selfcare/line.html", **context), status


@bp.route("/lines/<int:line_id>")
@login_required
def line(line_id: int):
    other = _others_go_to_the_fleet(line_id)
    if other is not None:
        return other
    return render_line(my_line_or_404(line_id))


def _mail_locale():
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _outcome(req, line):
    """Commit what was asked (refusals too: the admin sees them) and tell the employee."""
    commit()
    if req.state == SelfServiceState.refused:
        return render_line(line, status=422, refusal=req.params["refusal"])
    if req.state == SelfServiceState.pending:
        message = gettext("Your request has been sent to your fleet administrator for approval.")
        flash(message, "info")
    else:
        message = gettext(
            "Your request has been sent to the network. It shows as active once the network "
            "confirms it."
        )
        flash(message, "success")
    return redirect(url_for("selfcare.line", line_id=line.id))


@bp.post("/lines/<int:line_id>/roaming")
@login_required
def roaming(line_id: int):
    if not _is_employee():
        abort(403)
    line = my_line_or_404(line_id)
    form = RoamingForm()
    if not form.validate_on_submit():
        return render_line(line, roaming_form=form, status=400)
    try:
        with force_locale(_mail_locale()):
            req = selfservice.ask_roaming(
                db(), actor(), current_user, line, form.zone.data, form.start.data, form.end.data
            )
    except ServiceError as exc:
        db().rollback()
        target = getattr(form, exc.field, None) if exc.field else None
        if target is not None:
            target.errors = [*target.errors, exc.text]
        else:
            form.form_errors.append(exc.text)
        return render_line(my_line_or_404(line_id), roaming_form=form, status=422)
    return _outcome(req, line)


@bp.post("/lines/<int:line_id>/service")
@login_required
def service(line_id: int):
    if not _is_employee():
        abort(403)
    line = my_line_or_404(line_id)
    form = ServiceForm()
    if not form.validate_on_submit() or form.service.data not in Service.__members__:
        flash(gettext("Choose a service."), "danger")
        return redirect(url_for("selfcare.line", line_id=line.id))
    try:
        with force_locale(_mail_locale()):
            req = selfservice.ask_service(
                db(), actor(), current_user, line, Service(form.service.data), form.on.data == "1"
            )
    except ServiceError as exc:
        db().rollback()
        flash(exc.text, "danger")
        return redirect(url_for("selfcare.line", line_id=line_id))
    return _outcome(req, line)


@bp.post("/lines/<int:line_id>/requests/<int:request_id>/cancel")
@login_required
def cancel(line_id: int, request_id: int):
    if not _is_employee():
        abort(403)
    line = my_line_or_404(line_id)
    req = db().get(SelfServiceRequest, request_id)
    if req is None or req.line_id != line.id:
        abort(404)
    if not CancelForm().validate_on_submit():
        abort(400)
    try:
        selfservice.cancel(db(), actor(), req)
    except ServiceError as exc:
        db().rollback()
        flash(exc.text, "danger")
    else:
        commit()
        flash(gettext("The request has been cancelled."), "success")
    return redirect(url_for("selfcare.line", line_id=line_id))


@bp.route("/lines/<int:line_id>/exchange", methods=["GET", "POST"])
@login_required
def exchange_handset(line_id: int):
    other = _others_go_to_the_fleet(line_id)
    if other is not None:
        return other
    line = my_line_or_404(line_id)
    form = ExchangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            product_id = int(form.product_id.data)
        except ValueError:
            product_id = 0
        try:
            with force_locale(_mail_locale()):
                req = exchange.ask(db(), actor(), current_user, line, product_id)
        except ServiceError as exc:
            db().rollback()
            form.form_errors.append(exc.text)
            status = 422
            line = my_line_or_404(line_id)
        else:
            if req.state == SelfServiceState.refused:
                commit()
                flash(str(selfservice.refusal_text(req.params["refusal"])), "danger")
                return redirect(url_for("selfcare.exchange_handset", line_id=line_id))
            return _outcome(req, line)
    elif form.is_submitted():
        status = 400
    options, refusal = exchange.choices(db(), line)
    return render_template(
        "portal/selfcare/exchange.html",
        line=line,
        form=form,
        options=options,
        refusal=refusal,
        handset=db().get(Product, line.handset_id) if line.handset_id else None,
    ), status
