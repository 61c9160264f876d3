"""An employee's charges (/invoices/mine/): per issued invoice of the company, the charges of
the employee's own lines (fees, usage, one-offs, corrections) and their sum — nothing else of
the invoice. For employees: an invoice of another customer, or one without a charge of the
employee's lines, is 404. A company-wide administrator or viewer who opens an address here is
sent to the company's invoice pages (the invoice itself if it is theirs, else 404); anyone
else gets 404.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from core.web import db
from models import Invoice, InvoiceLine, InvoiceState, Line, PortalRole
from portal import scope as tenant
from portal.invoices.views import invoice_or_404
from services.fleet_query import scope_conditions

bp = Blueprint("my_charges", __name__, url_prefix="/invoices/mine")

ZERO = Decimal("0")


@bp.before_request
@login_required
def _employees_only():
    if current_user.role == PortalRole.employee:
        return None
    if current_user.role not in (PortalRole.fleet_admin, PortalRole.viewer):
        abort(404)
    if current_user.scope_unit_id is not None:
        abort(404)  # invoices are company documents
    invoice_id = (request.view_args or {}).get("invoice_id")
    if invoice_id is None:
        return redirect(url_for("invoices.index"))
    invoice_or_404(invoice_id)
    return redirect(url_for("invoices.detail", invoice_id=invoice_id))


def _my_line_ids():
    """The lines the employee has now (the fleet scope of an employee)."""
    return select(Line.id).where(*scope_conditions(tenant.fleet_scope(current_user)))


def _my_charges(invoice_id: int | None = None):
    query = (
        select(Invoice, InvoiceLine)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(
            Invoice.customer_id == current_user.customer_id,
            Invoice.state == InvoiceState.issued,
            InvoiceLine.line_id.in_(_my_line_ids()),
        )
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc(), InvoiceLine.position)
    )
    if invoice_id is not None:
        query = query.where(Invoice.id == invoice_id)
    groups: dict[int, dict] = {}
    for invoice, line in db().execute(query):
        group = groups.setdefault(
            invoice.id, {"invoice": invoice, "lines": [], "net": ZERO, "gross": ZERO}
        )
        group["lines"].append(line)
        group["net"] += line.net
        group["gross"] += line.gross
    return list(groups.values())


@bp.route("/")
def index():
    return render_template("portal/invoices/mine.html", groups=_my_charges(), one=False)


@bp.route("/<int:invoice_id>")
def invoice(invoice_id: int):
    groups = _my_charges(invoice_id)
    if not groups:
        abort(404)
    return render_template("portal/invoices/mine.html", groups=groups, one=True)
