"""Reports: per account manager, each customer's lines, estimated recurring revenue, orders,
back-orders, open and overdue service requests, and portal adoption, with a chart and a CSV export.

An account manager sees their own customers only; sales and operator admins pick a manager,
the customers without one, or everyone.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from admin_console import scope
from admin_console.reports.chart import adoption_chart
from core.web import db
from models import Customer, StaffRole, StaffUser
from services import console_reports

bp = Blueprint("reports", __name__, url_prefix="/reports")

ALL_ROLES = (StaffRole.account_manager, StaffRole.sales_admin, StaffRole.operator_admin)


def _selection():
    """Which customers, chosen how: (customer id query, manager choice, managers to pick from)."""
    user = current_user
    ids = scope.customers(user).with_only_columns(Customer.id)
    if user.role == StaffRole.account_manager:
        return ids, str(user.id), []
    managers = list(
        db().execute(
            select(StaffUser.id, StaffUser.full_name, func.count(Customer.id))
            .outerjoin(Customer, Customer.account_manager_id == StaffUser.id)
            .where(StaffUser.role == StaffRole.account_manager)
            .group_by(StaffUser.id, StaffUser.full_name)
            .order_by(StaffUser.full_name, StaffUser.id)
        )
    )
    choice = request.args.get("manager", "all")
    if choice == "none":
        ids = ids.where(Customer.account_manager_id.is_(None))
    elif choice in {str(m.id) for m in managers}:
        ids = ids.where(Customer.account_manager_id == int(choice))
    else:
        choice = "all"
    return ids, choice, managers


def _report():
    scope.require_role(*ALL_ROLES)
    ids, choice, managers = _selection()
    days = request.args.get("days", type=int)
    days = days if days in console_reports.PERIODS else console_reports.PERIODS[0]
    sort = request.args.get("sort", "name")
    sort = sort if sort in console_reports.SORTS else "name"
    now = datetime.now(UTC)
    report = console_reports.build(db(), ids, on=now.date(), now=now, days=days, sort=sort)
    return report, choice, managers, sort


@bp.route("/")
def index():
    report, choice, managers, sort = _report()
    return render_template(
        "admin_console/reports/index.html",
        report=report,
        chart=adoption_chart(report.rows),
        manager_choice=choice,
        managers=managers,
        sort=sort,
        periods=console_reports.PERIODS,
        show_manager=current_user.role != StaffRole.account_manager,
    )


def _cell(value) -> str:
    """Spreadsheets run cells that start with = + - @ (or tab, CR) as formulas: quote them."""
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@bp.route("/export.csv")
def export():
    report, choice, _managers, _sort = _report()
    decimal_comma = str(get_locale()) == "pl"

    def money(value) -> str:
        text = f"{value:.2f}"
        return text.replace(".", ",") if decimal_comma else text

    days = report.days
    header = [
        _("Customer no."),
        _("Company name"),
        _("Account manager"),
        _("Active lines"),
        _("Estimated monthly recurring revenue (net PLN)"),
        _("Priced by"),
        _("Open orders"),
        _("Back-ordered lines"),
        _("Back-ordered units"),
        _("Open service requests"),
        _("Overdue service requests"),
        _("Portal users"),
        _("Active portal users (%(days)d days)", days=days),
        _("Portal sign-ins (%(days)d days)", days=days),
        _("Files generated in the portal (%(days)d days)", days=days),
        _("Orders in the portal (%(days)d days)", days=days),
        _("Orders outside the portal (%(days)d days)", days=days),
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_cell(h) for h in header])
    for r in report.rows:
        writer.writerow(
            [
                _cell(r.number),
                _cell(r.name),
                _cell(r.manager_name),
                r.active_lines,
                money(r.revenue),
                _("contract") if r.priced_by_contract else _("list prices"),
                r.open_orders,
                r.backorder_lines,
                r.backorder_units,
                r.open_service_requests,
                r.overdue_service_requests,
                r.portal_users,
                r.active_users,
                r.logins,
                r.files,
                r.orders_portal,
                r.orders_other,
            ]
        )
    name = f"customers-{choice}-{report.on:%Y-%m-%d}.csv"
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
