"""Reports in the portal (/reports/): SIM configuration and usage, for fleet administrators
and viewers, always within the user's scope (a subtree-limited administrator sees only that
subtree). PIN/PUK codes: fleet administrators only, by a POST (CSRF) that is audited — a
reveal on the page or an export with codes. Viewers never see the columns (403 if they ask).
Every export is a POST (CSRF) too: a large one becomes a task in My files, and following a
link must not start work.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField
from wtforms.validators import DataRequired

from core.web import actor, commit, db
from models import ReportSubscription
from portal import scope as tenant
from portal.reports import pages
from services import ServiceError
from services.reports import sim_report, work
from services.reports import subscriptions as subs

bp = Blueprint("reports", __name__, url_prefix="/reports")

SIM_PAGE_ROWS = 500


class CodesForm(FlaskForm):
    """Only the CSRF token: revealing or exporting codes is a POST."""


@bp.before_request
@login_required
def _readers_only():
    tenant.require_fleet_reader()


def _scope():
    return tenant.fleet_scope(current_user)


def _export(params: dict):
    name = current_user.customer.name
    if pages.is_small(params):
        response = pages.download(params, name)
        commit()  # the audit event of an export with codes
        return response
    task = work.start_export(
        db(), current_user, params, file_name=pages.documents.file_name(params, name)
    )
    commit()
    flash(_("The report is being prepared. It will also be waiting for you in My files."), "info")
    return redirect(url_for("files.task", task_id=task.id))


@bp.route("/")
def index():
    return redirect(url_for(".usage"))


@bp.route("/usage")
def usage():
    ctx, status = pages.usage_context(_scope(), request.args)
    return render_template(
        "portal/reports/usage.html", export_endpoint="reports.usage_export", **ctx
    ), status


@bp.route("/usage/export", methods=["POST"])
def usage_export():
    fmt = request.form.get("fmt", "csv")
    pages.check_format(fmt)
    params = pages.usage_params(_scope(), request.form, fmt)
    if params is None:
        _group, _per, error = pages.read_usage_args(request.form)
        flash(error, "danger")
        return redirect(url_for(".usage"))
    return _export(params)


def _sim_page(with_codes: bool):
    scope = _scope()
    total = sim_report.count(db(), scope)
    rows = list(sim_report.rows(db(), scope, with_codes=with_codes, limit=SIM_PAGE_ROWS))
    if with_codes:
        sim_report.record_codes_read(db(), actor(), scope, "reveal", len(rows))
        commit()
    return render_template(
        "portal/reports/sim.html",
        rows=rows,
        total=total,
        shown=len(rows),
        with_codes=with_codes,
        may_see_codes=sim_report.may_see_codes(current_user.role),
        form=CodesForm(),
        formats=pages.tables.FORMATS,
    )


@bp.route("/sim")
def sim():
    return _sim_page(False)


def _require_codes():
    if not sim_report.may_see_codes(current_user.role):
        abort(403)


@bp.route("/sim/reveal", methods=["POST"])
def sim_reveal():
    _require_codes()
    if not CodesForm().validate_on_submit():
        abort(400)
    response = _sim_page(True)
    return response, 200, {"Cache-Control": "private, no-store"}


@bp.route("/sim/export", methods=["POST"])
def sim_export():
    fmt = request.form.get("fmt", "csv")
    pages.check_format(fmt)
    with_codes = request.form.get("codes") == "1"
    if with_codes:
        _require_codes()
    params = pages.sim_params(_scope(), fmt, with_codes)
    if with_codes:
        sim_report.record_codes_read(
            db(), actor(), _scope(), f"export:{fmt}", sim_report.count(db(), _scope())
        )
    return _export(params)


# --- monthly e-mail ---------------------------------------------------------------------------


class SubscriptionForm(FlaskForm):
    report = SelectField(_l("Report"), validators=[DataRequired()])
    fmt = SelectField(
        _l("Format"), choices=[SelectChoice(f, f.upper()) for f in pages.tables.FORMATS]
    )

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.report.choices = [
            SelectChoice(f"usage:{key}", str(label))
            for key, label in pages.documents.TITLES.items()
        ] + [SelectChoice("sim:-", _("SIM configuration"))]


def _subscription_or_404(sub_id: int) -> ReportSubscription:
    sub = db().scalar(
        select(ReportSubscription).where(
            ReportSubscription.id == sub_id,
            ReportSubscription.portal_user_id == current_user.id,
            ReportSubscription.customer_id == current_user.customer_id,
        )
    )
    if sub is None:
        abort(404)
    return sub


@bp.route("/subscriptions", methods=["GET", "POST"])
def subscriptions():
    tenant.require_manager()
    form = SubscriptionForm()
    status = 200
    if form.validate_on_submit():
        report, _sep, group = form.report.data.partition(":")
        try:
            subs.subscribe(db(), current_user, actor(), report, group, form.fmt.data)
        except ServiceError as err:
            form.report.errors = [str(err.message)]
            status = 400
        else:
            commit()
            flash(_("Subscribed. The report will arrive on the 1st of each month."), "success")
            return redirect(url_for(".subscriptions"))
    elif request.method == "POST":
        status = 400
    rows = (
        db()
        .scalars(
            select(ReportSubscription)
            .where(ReportSubscription.portal_user_id == current_user.id)
            .order_by(ReportSubscription.id)
        )
        .all()
    )
    labels = {c.value: c.label for c in form.report.choices}
    return render_template(
        "portal/reports/subscriptions.html",
        form=form,
        rows=rows,
        label=lambda s: labels.get(f"{s.report}:{s.group_by}", s.report),
        delete_form=CodesForm(),
    ), status


@bp.route("/subscriptions/<int:sub_id>/delete", methods=["POST"])
def unsubscribe(sub_id: int):
    tenant.require_manager()
    sub = _subscription_or_404(sub_id)
    if not CodesForm().validate_on_submit():
        abort(400)
    subs.unsubscribe(db(), sub, actor())
    commit()
    flash(_("Unsubscribed."), "success")
    return redirect(url_for(".subscriptions"))
