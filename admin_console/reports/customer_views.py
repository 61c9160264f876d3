"""A customer's own reports in the console (/customers/<id>/reports/…): the portal's usage and
SIM configuration reports, for the whole company, as an account manager reads them.

The customer is loaded through the console scope: an account manager's own customers only
(any other id answers 404); sales and operator admins read every customer. PIN/PUK codes are
never shown or exported here — the console has no reason to hand them out. Exports are POSTs
(CSRF); they download at once when they are small; larger ones are prepared by a worker and
wait in the staff user's own My files (admin_console/files).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from admin_console import scope
from core.web import commit, db
from portal.reports import pages
from services.fleet_query import FleetScope
from services.reports import sim_report, work

bp = Blueprint("customer_reports", __name__, url_prefix="/customers/<int:customer_id>/reports")

SIM_PAGE_ROWS = 500


def _customer(customer_id: int):
    customer = scope.customer_or_404(current_user, customer_id)
    return customer, FleetScope(customer_id=customer.id)


@bp.route("/")
def usage(customer_id: int):
    customer, fleet = _customer(customer_id)
    ctx, status = pages.usage_context(fleet, request.args)
    return render_template(
        "admin_console/reports/customer_usage.html",
        customer=customer,
        self_endpoint="customer_reports.usage",
        export_endpoint="customer_reports.usage_export",
        url_args={"customer_id": customer.id},
        **ctx,
    ), status


@bp.route("/usage/export", methods=["POST"])
def usage_export(customer_id: int):
    customer, fleet = _customer(customer_id)
    fmt = request.form.get("fmt", "csv")
    pages.check_format(fmt)
    params = pages.usage_params(fleet, request.form, fmt)
    if params is None:
        _group, _per, error = pages.read_usage_args(request.form)
        flash(error, "danger")
        return redirect(url_for(".usage", customer_id=customer.id))
    return _export(params, customer.name)


@bp.route("/sim")
def sim(customer_id: int):
    customer, fleet = _customer(customer_id)
    rows = list(sim_report.rows(db(), fleet, limit=SIM_PAGE_ROWS))
    return render_template(
        "admin_console/reports/customer_sim.html",
        customer=customer,
        rows=rows,
        total=sim_report.count(db(), fleet),
        shown=len(rows),
        with_codes=False,
        may_see_codes=False,
        form=None,
        formats=pages.tables.FORMATS,
        sim_export_endpoint="customer_reports.sim_export",
        sim_reveal_endpoint=None,
        sim_export_args={"customer_id": customer.id},
    )


@bp.route("/sim/export", methods=["POST"])
def sim_export(customer_id: int):
    customer, fleet = _customer(customer_id)
    fmt = request.form.get("fmt", "csv")
    pages.check_format(fmt)
    return _export(pages.sim_params(fleet, fmt, False), customer.name)


def _export(params: dict, customer_name: str):
    """A small export downloads at once; a large one becomes a task in the user's My files."""
    if pages.is_small(params):
        return pages.download(params, customer_name)
    task = work.start_export(
        db(),
        current_user,
        {**params, "requested_by_staff": True},
        file_name=pages.documents.file_name(params, customer_name),
    )
    commit()
    flash(_("The report is being prepared. It will also be waiting for you in My files."), "info")
    return redirect(url_for("staff_files.task", task_id=task.id))
