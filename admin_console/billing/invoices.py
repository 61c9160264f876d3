"""Invoices in the console (/admin/billing/invoices/): the issued invoices and corrections of
the staff member's customers (account managers: their own; operator admins: all), an
invoice's page with its lines and the downloads of its documents, and issuing a correction
from it. The billing detail (XLSX, PDF) of an invoice with more lines than download at once is
made by a worker and waits, with its progress, in the staff member's My files (the portal's
``send_document`` serves both apps).

A correction is entered on the invoice page: the corrected net amount of any line (the inputs
hold each line's current amount) and up to three extra charges or credits, with the reason.
``services.corrections`` checks everything before writing; the correction is sent to KSeF
after the commit. Another customer's invoice is 404.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from admin_console import scope
from admin_console.billing.forms import CorrectionForm
from core.web import actor, commit, db, runtime
from models import (
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceState,
    StaffRole,
)
from portal.invoices.views import send_document
from services import ServiceError, billing, corrections
from services.einvoice import lines as doclines

bp = Blueprint("console_invoices", __name__, url_prefix="/billing/invoices")

READERS = (StaffRole.account_manager, StaffRole.operator_admin)
LIMIT = 200
EXTRAS = 3


@bp.before_request
def _roles():
    scope.require_role(*READERS)


def _customer_ids():
    return scope.customers(current_user).with_only_columns(Customer.id)


def invoice_or_404(invoice_id: int) -> Invoice:
    invoice = db().scalar(
        select(Invoice).where(
            Invoice.id == invoice_id,
            Invoice.state == InvoiceState.issued,
            Invoice.customer_id.in_(_customer_ids()),
        )
    )
    if invoice is None:
        abort(404)
    return invoice


@bp.route("/")
def index():
    q = (request.args.get("q") or "").strip()[:60]
    query = (
        select(Invoice, Customer.name)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.state == InvoiceState.issued, Invoice.customer_id.in_(_customer_ids()))
    )
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Invoice.number.ilike(like), Customer.name.ilike(like)))
    rows = (
        db()
        .execute(query.order_by(Invoice.issue_date.desc(), Invoice.id.desc()).limit(LIMIT + 1))
        .all()
    )
    return render_template(
        "admin_console/billing/invoices.html", rows=rows[:LIMIT], more=len(rows) > LIMIT, q=q
    )


def _page(invoice: Invoice, form: CorrectionForm | None = None, error=None, status=200):
    q = (request.values.get("q") or "").strip()[:60]
    query = select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(
            or_(InvoiceLine.msisdn.ilike(like), InvoiceLine.description.ilike(like))
        )
    shown = list(db().scalars(query.order_by(InvoiceLine.position).limit(LIMIT + 1)))
    summary = doclines.summary(db(), invoice)
    correctable = invoice.kind.value == "invoice"
    return (
        render_template(
            "admin_console/billing/invoice.html",
            invoice=invoice,
            customer=db().get(Customer, invoice.customer_id),
            lines=shown[:LIMIT],
            more=len(shown) > LIMIT,
            line_count=summary.count,
            rates=summary.rates,
            kinds=DOWNLOADS,
            nets=corrections.current_nets(db(), invoice) if correctable else {},
            corrected=db().get(Invoice, invoice.corrects_id) if invoice.corrects_id else None,
            corrections_of=list(
                db().scalars(
                    select(Invoice).where(Invoice.corrects_id == invoice.id).order_by(Invoice.id)
                )
            ),
            correctable=correctable,
            form=form or CorrectionForm(),
            extras=[
                (request.form.get(f"extra-desc-{n}", ""), request.form.get(f"extra-net-{n}", ""))
                for n in range(EXTRAS)
            ],
            error=error,
            q=q,
        ),
        status,
    )


@bp.route("/<int:invoice_id>")
def detail(invoice_id: int):
    return _page(invoice_or_404(invoice_id))


@bp.route("/<int:invoice_id>/correct", methods=["POST"])
def correct(invoice_id: int):
    invoice = invoice_or_404(invoice_id)
    form = CorrectionForm()
    if not form.validate_on_submit():
        return _page(invoice, form, status=400)
    corrected: dict[int, str] = {}
    for key, value in request.form.items():
        if key.startswith("net-"):
            try:
                corrected[int(key[4:])] = value
            except ValueError:
                abort(400)
    extras = [
        corrections.Extra(
            request.form.get(f"extra-desc-{n}", ""), request.form.get(f"extra-net-{n}", "")
        )
        for n in range(EXTRAS)
    ]
    try:
        correction = corrections.issue_correction(
            db(),
            actor(),
            invoice,
            form.reason.data,
            corrected,
            extras,
            seller=runtime().settings.operator_party,
        )
    except ServiceError as exc:
        db().rollback()
        return _page(invoice_or_404(invoice_id), form, error=exc, status=400)
    billing.enqueue_ksef(db(), correction.id)
    number = correction.number
    commit()
    flash(_("Correction %(number)s issued.", number=number), "success")
    return redirect(url_for("console_invoices.detail", invoice_id=correction.id))


# --- documents ---------------------------------------------------------------------------------

DOWNLOADS = {
    "pdf": "invoice.pdf",
    "fa3": "fa3.xml",
    "ubl": "ubl.xml",
    "csv": "detail.csv",
    "xlsx": "detail.xlsx",
    "detail_pdf": "detail.pdf",
}


def _download(invoice_id: int, kind: str):
    invoice = invoice_or_404(invoice_id)
    return send_document(invoice, kind, "staff_files.task", staff_user=current_user)


for _kind, _suffix in DOWNLOADS.items():
    bp.add_url_rule(
        f"/<int:invoice_id>/{_suffix}",
        f"download_{_kind}",
        lambda invoice_id, _k=_kind: _download(invoice_id, _k),
    )
