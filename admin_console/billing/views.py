"""Billing (/admin/billing/): the billing runs with their state and errors, starting a run for a
customer and month, and the payment import.

Account managers see and start runs of their own customers; operator admins of everyone, and
only they import payments (a statement covers every customer). The page refreshes the list
while runs are queued or running (htmx).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from admin_console import scope
from admin_console.billing.forms import PaymentsForm, RunForm
from core.web import actor, commit, db
from models import BillingRun, Customer, Invoice, RunStatus, StaffRole
from services import ServiceError, billing, payments
from services.billing_period import Period

bp = Blueprint("billing", __name__, url_prefix="/billing")

READERS = (StaffRole.account_manager, StaffRole.operator_admin)
LIMIT = 200


@bp.before_request
def _roles():
    scope.require_role(*READERS)


def _runs():
    ids = scope.customers(current_user).with_only_columns(Customer.id)
    return (
        db()
        .execute(
            select(BillingRun, Customer.name, Customer.number, Invoice.number)
            .join(Customer, Customer.id == BillingRun.customer_id)
            .outerjoin(Invoice, Invoice.id == BillingRun.invoice_id)
            .where(BillingRun.customer_id.in_(ids))
            .order_by(BillingRun.period_start.desc(), BillingRun.id.desc())
            .limit(LIMIT)
        )
        .all()
    )


def _run_form() -> RunForm:
    form = RunForm()
    customers = db().execute(
        scope.customers(current_user)
        .with_only_columns(Customer.id, Customer.name, Customer.number)
        .order_by(Customer.name)
    )
    form.customer.choices = [(cid, f"{name} ({number})") for cid, name, number in customers]
    return form


def _page(run_form=None, payments_form=None, errors=None, status=200):
    rows = _runs()
    busy = any(r.status in (RunStatus.queued, RunStatus.running) for r, *_ in rows)
    return (
        render_template(
            "admin_console/billing/index.html",
            rows=rows,
            busy=busy,
            form=run_form or _run_form(),
            payments_form=payments_form or PaymentsForm(),
            can_import=current_user.role == StaffRole.operator_admin,
            errors=errors or [],
        ),
        status,
    )


@bp.route("/")
def index():
    return _page()


@bp.route("/runs")
def runs_table():
    """The list alone, for the page's periodic refresh."""
    rows = _runs()
    busy = any(r.status in (RunStatus.queued, RunStatus.running) for r, *_ in rows)
    return render_template("admin_console/billing/_runs.html", rows=rows, busy=busy)


@bp.route("/runs", methods=["POST"])
def start_run():
    form = _run_form()
    if not form.validate_on_submit():
        return _page(run_form=form, status=400)
    customer = scope.customer_or_404(current_user, form.customer.data)
    try:
        period = Period.parse(form.period.data)
    except ValueError:
        form.period.errors.append(_("Enter the month as YYYY-MM."))
        return _page(run_form=form, status=400)
    try:
        run = billing.request_run(db(), customer, period, current_user.email)
    except ServiceError as exc:
        form.period.errors.append(exc.text)
        return _page(run_form=form, status=400)
    status = run.status
    commit()
    if status == RunStatus.done:
        flash(_("This month is already billed for %(name)s.", name=customer.name), "info")
    else:
        flash(
            _("Billing of %(name)s for %(month)s started.", name=customer.name, month=period.label),
            "success",
        )
    return redirect(url_for("billing.index"))


@bp.route("/payments", methods=["POST"])
def import_payments():
    if current_user.role != StaffRole.operator_admin:
        abort(403)
    form = PaymentsForm()
    if not form.validate_on_submit():
        return _page(payments_form=form, status=400)
    try:
        count, errors = payments.import_payments(
            db(), actor(), form.file.data.read(payments.MAX_BYTES + 1)
        )
    except ServiceError as exc:
        form.file.errors.append(exc.text)
        return _page(payments_form=form, status=400)
    if errors:
        return _page(payments_form=form, errors=errors, status=400)
    commit()
    flash(ngettext("%(num)d payment recorded.", "%(num)d payments recorded.", count), "success")
    return redirect(url_for("billing.index"))
