"""Invoices (/invoices/): the customer's invoices with filters and totals, an invoice's page,
and the download of each of its documents (FA(3), UBL, PDF, billing detail CSV/XLSX/PDF). The
billing detail of an invoice with more lines than ``inline_limit()`` is made as XLSX or PDF
by a worker and waits in My files.

Invoices are company documents: company-wide fleet administrators and viewers read them.
Employees get 403; an administrator limited to a division gets 403 on the list and 404 on
any invoice, like any id of another customer.
"""

from __future__ import annotations

from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from core.web import commit, db, runtime
from models import Invoice, InvoiceState, PortalRole
from models.base import utcnow
from services import ServiceError, invoice_reports, payments
from services.billing_period import Period, local_date
from services.einvoice import archive, detail_work, documents
from services.einvoice import lines as doclines
from services.einvoice.fa3 import InvalidDocument

bp = Blueprint("invoices", __name__, url_prefix="/invoices")


class ZipForm(FlaskForm):
    """Only the CSRF check; the months are read from the request."""


PAGE_SIZE = 100
KINDS = {
    "fa3": "fa3.xml",
    "ubl": "ubl.xml",
    "pdf": "invoice.pdf",
    "csv": "detail.csv",
    "xlsx": "detail.xlsx",
    "detail_pdf": "detail.pdf",
}


@bp.before_request
@login_required
def _readers():
    if current_user.role not in (PortalRole.fleet_admin, PortalRole.viewer):
        abort(403)


def visible():
    """Issued invoices of the user's customer, for company-wide readers only."""
    if current_user.scope_unit_id is not None:
        return Invoice.id.is_(None)  # matches nothing
    return (Invoice.customer_id == current_user.customer_id) & (
        Invoice.state == InvoiceState.issued
    )


def invoice_or_404(invoice_id: int) -> Invoice:
    invoice = db().scalar(select(Invoice).where(Invoice.id == invoice_id, visible()))
    if invoice is None:
        abort(404)
    return invoice


def _period(text: str | None) -> Period | None:
    try:
        return Period.parse(text) if text else None
    except ValueError:
        return None


@bp.route("/")
def index():
    if current_user.scope_unit_id is not None:
        abort(403)
    today = local_date(utcnow())
    state = request.args.get("state") or ""
    if state not in payments.PaymentStatus.__members__:
        state = ""
    period_from = _period(request.args.get("from"))
    period_to = _period(request.args.get("to"))
    where = [visible()]
    if state:
        where.append(payments.status_filter(payments.PaymentStatus(state), today))
    if period_from:
        where.append(Invoice.period_start >= period_from.start)
    if period_to:
        where.append(Invoice.period_start <= period_to.start)
    found = list(
        db().scalars(
            select(Invoice)
            .where(*where)
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
            .limit(PAGE_SIZE + 1)
        )
    )
    net, gross, paid, count = (
        db()
        .execute(
            select(
                func.coalesce(func.sum(Invoice.total_net), 0),
                func.coalesce(func.sum(Invoice.total_gross), 0),
                func.coalesce(func.sum(Invoice.paid_amount), 0),
                func.count(Invoice.id),
            ).where(*where)
        )
        .one()
    )
    return render_template(
        "portal/invoices/index.html",
        invoices=found[:PAGE_SIZE],
        more=len(found) > PAGE_SIZE,
        status={i.id: payments.status(i, today).value for i in found},
        totals={
            "net": Decimal(net),
            "gross": Decimal(gross),
            "balance": Decimal(gross) - Decimal(paid),
            "count": count,
        },
        state=state,
        period_from=period_from.label if period_from else "",
        period_to=period_to.label if period_to else "",
        states=list(payments.PaymentStatus.__members__),
        zip_form=ZipForm(),
    )


@bp.route("/zip", methods=["POST"])
def period_zip():
    """Queue the ZIP of the documents of the months in the form; it appears in My files."""
    if current_user.scope_unit_id is not None:
        abort(403)
    if not ZipForm().validate_on_submit():
        abort(400)
    first = _period(request.form.get("from"))
    last = _period(request.form.get("to")) or first
    if first is None:
        flash(_("Choose the months of the invoices."), "danger")
        return redirect(url_for("invoices.index"))
    name = f"faktury-{first.label}" + (f"-{last.label}" if last != first else "") + ".zip"
    try:
        task = archive.start(db(), current_user, first.start, last.start, name)
    except ServiceError as exc:
        flash(exc.text, "danger")
        return redirect(url_for("invoices.index", **{"from": first.label, "to": last.label}))
    task_id = task.id
    commit()
    flash(_("The ZIP is being prepared. It will also be waiting for you in My files."), "info")
    return redirect(url_for("files.task", task_id=task_id))


@bp.route("/cost-centres")
def cost_centres():
    """Net amounts per cost centre across months (12 months back by default)."""
    if current_user.scope_unit_id is not None:
        abort(403)
    last = _period(request.args.get("to")) or Period.of(local_date(utcnow())).previous()
    first = _period(request.args.get("from"))
    if first is None or first.start > last.start:
        first = last
        for _ in range(11):
            first = first.previous()
    months, rows = invoice_reports.cost_centres_by_month(
        db(), current_user.customer_id, first.start, last.start
    )
    return render_template(
        "portal/invoices/cost_centres.html",
        months=months,
        rows=rows,
        totals={
            m: sum((r.months.get(m, Decimal("0")) for r in rows), Decimal("0")) for m in months
        },
        period_from=first.label,
        period_to=last.label,
    )


@bp.route("/<int:invoice_id>")
def detail(invoice_id: int):
    invoice = invoice_or_404(invoice_id)
    summary = doclines.summary(db(), invoice)
    corrected = db().get(Invoice, invoice.corrects_id) if invoice.corrects_id else None
    corrections = list(
        db().scalars(select(Invoice).where(Invoice.corrects_id == invoice.id, visible()))
    )
    return render_template(
        "portal/invoices/detail.html",
        invoice=invoice,
        lines=summary.lines,
        summarised=summary.summarised,
        line_count=summary.count,
        rates=summary.rates,
        centres=summary.centres,
        payments=payments.payments_of(db(), invoice),
        status=payments.status(invoice, local_date(utcnow())).value,
        balance=payments.balance(invoice),
        corrected=corrected,
        corrections=corrections,
        qr=documents.qr_svg(invoice),
        kinds=KINDS,
    )


def inline_limit() -> int:
    """Invoice lines whose billing detail downloads at once (INVOICE_DETAIL_INLINE_LINES; the
    app config's INVOICE_DETAIL_INLINE_LIMIT overrides it, as tests do)."""
    configured = current_app.config.get("INVOICE_DETAIL_INLINE_LIMIT")
    if configured is not None:
        return int(configured)
    return runtime().settings.invoice_detail_inline_lines


def _download(invoice_id: int, kind: str):
    invoice = invoice_or_404(invoice_id)
    return send_document(invoice, kind, "files.task", portal_user=current_user)


def send_document(invoice: Invoice, kind: str, task_endpoint: str, **owner):
    """One of the invoice's documents, at once; a large billing detail becomes a task of the
    ``owner`` (``portal_user=`` or ``staff_user=``) and the browser goes to its page
    (``task_endpoint``). The console's invoice downloads use it too."""
    if kind in detail_work.FORMATS and detail_work.line_count(db(), invoice) > inline_limit():
        task = detail_work.start(db(), invoice, kind, **owner)
        task_id = task.id
        commit()
        flash(
            _("The billing detail is being prepared. It will also be waiting for you in My files."),
            "info",
        )
        return redirect(url_for(task_endpoint, task_id=task_id))
    try:
        body = documents.render(db(), invoice, kind)
    except InvalidDocument:
        abort(409)
    response = make_response(body)
    response.headers["Content-Type"] = documents.CONTENT_TYPES[kind]
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{documents.file_name(invoice, kind)}"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


for _kind, _suffix in KINDS.items():
    bp.add_url_rule(
        f"/<int:invoice_id>/{_suffix}",
        f"download_{_kind}",
        lambda invoice_id, _k=_kind: _download(invoice_id, _k),
    )
