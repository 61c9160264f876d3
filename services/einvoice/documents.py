"""Every document of an issued invoice, as bytes, with its file name and content type.

The PDF is rendered from ``templates/pdf/invoice.html`` with a plain Jinja environment (no
Flask: workers render it too), as PDF/A-3b with the FA(3) embedded (``AFRelationship
/Data``). Once KSeF has numbered the invoice the PDF prints the KSeF number and the
verification QR code (KOD I: the link to the invoice in KSeF, from the seller's NIP, the issue
date and the SHA-256 of the FA(3) as sent).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from core.pdf import render_pdf_a
from core.settings import PROJECT_ROOT
from integrations import ksef
from models import Invoice, InvoiceKind, InvoiceState
from services.einvoice import detail, fa3, ubl
from services.einvoice import lines as doclines
from services.einvoice.detail import detail_csv, detail_xlsx
from services.einvoice.lines import pln

CONTENT_TYPES = {
    "fa3": "application/xml",
    "ubl": "application/xml",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "detail_pdf": "application/pdf",
}
DETAIL_COLUMNS = detail.COLUMNS


def _base(invoice: Invoice) -> str:
    return invoice.number.replace("/", "-")


def fa3_name(invoice: Invoice) -> str:
    return f"{_base(invoice)}-FA3.xml"


def file_name(invoice: Invoice, kind: str) -> str:
    return {
        "fa3": fa3_name(invoice),
        "ubl": f"{_base(invoice)}-UBL.xml",
        "pdf": f"{_base(invoice)}.pdf",
        "csv": f"{_base(invoice)}-specyfikacja.csv",
        "xlsx": f"{_base(invoice)}-specyfikacja.xlsx",
        "detail_pdf": f"{_base(invoice)}-specyfikacja.pdf",
    }[kind]


def _require_issued(invoice: Invoice) -> None:
    if invoice.state != InvoiceState.issued:
        raise fa3.InvalidDocument("only an issued invoice has documents")


def _corrected(session: Session, invoice: Invoice) -> Invoice | None:
    if invoice.kind == InvoiceKind.correction:
        return session.get(Invoice, invoice.corrects_id)
    return None


def fa3_xml(session: Session, invoice: Invoice, summary: doclines.Summary | None = None) -> bytes:
    _require_issued(invoice)
    summary = summary or doclines.summary(session, invoice)
    return fa3.build(invoice, summary.lines, _corrected(session, invoice))


def ubl_xml(session: Session, invoice: Invoice) -> bytes:
    _require_issued(invoice)
    summary = doclines.summary(session, invoice)
    return ubl.build(invoice, summary.lines, _corrected(session, invoice))


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(PROJECT_ROOT / "templates")),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["pln"] = pln
    env.filters["figures"] = centre_figures
    env.filters["qty"] = lambda v: f"{Decimal(v).normalize():f}".replace(".", ",")
    env.filters["rate"] = doclines.rate_label
    return env


def centre_figures(c: doclines.CostCentre, width: int) -> str:
    """A cost centre's count of lines, net, VAT and gross, each right-aligned in ``width``."""
    return "".join(v.rjust(width) for v in (str(c.lines), pln(c.net), pln(c.vat), pln(c.gross)))


def figure_width(centres: list[doclines.CostCentre]) -> int:
    longest = max((len(pln(v)) for c in centres for v in (c.net, c.vat, c.gross)), default=0)
    return max(10, longest + 2)


def qr_svg(invoice: Invoice) -> str | None:
    if not invoice.ksef_number or not invoice.ksef_hash:
        return None
    url = ksef.verification_url(invoice.seller["nip"], invoice.issue_date, invoice.ksef_hash)
    return segno.make(url, error="m").svg_inline(scale=3)


def invoice_html(
    session: Session, invoice: Invoice, summary: doclines.Summary | None = None
) -> str:
    summary = summary or doclines.summary(session, invoice)
    return (
        _env()
        .get_template("pdf/invoice.html")
        .render(
            invoice=invoice,
            corrected=_corrected(session, invoice),
            lines=summary.lines,
            summarised=summary.summarised,
            line_count=summary.count,
            rates=summary.rates,
            centres=summary.centres,
            figure_width=(width := figure_width(summary.centres)),
            figure_mm=round(width * detail.MONO_CHAR_MM + 0.01, 2),
            qr=qr_svg(invoice),
            verification_url=ksef.verification_url(
                invoice.seller["nip"], invoice.issue_date, invoice.ksef_hash
            )
            if invoice.ksef_hash
            else None,
        )
    )


def invoice_pdf(session: Session, invoice: Invoice) -> bytes:
    summary = doclines.summary(session, invoice)
    xml = fa3_xml(session, invoice, summary)
    return render_pdf_a(
        invoice_html(session, invoice, summary),
        [(fa3_name(invoice), xml, "Faktura ustrukturyzowana FA(3)")],
    )


def render(session: Session, invoice: Invoice, kind: str) -> bytes:
    return {
        "fa3": fa3_xml,
        "ubl": ubl_xml,
        "pdf": invoice_pdf,
        "csv": detail_csv,
        "xlsx": detail_xlsx,
        "detail_pdf": detail.detail_pdf,
    }[kind](session, invoice)
