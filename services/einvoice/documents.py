"""Every document of an issued invoice, as bytes, with its file name and content type.

The PDF is rendered from ``templates/pdf/invoice.html`` with a plain Jinja environment (no
Flask: workers render it too), as PDF/A-3b with the FA(3) embedded (``AFRelationship
/Data``). Once KSeF has numbered the invoice the PDF prints the KSeF number and the
verification QR code (KOD I: the link to the invoice in KSeF, from the seller's NIP, the issue
date and the SHA-256 of the FA(3) as sent).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from functools import lru_cache

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from core.pdf import render_pdf_a
from core.settings import PROJECT_ROOT
from integrations import ksef
from models import Invoice, InvoiceKind, InvoiceState
from services.einvoice import fa3, ubl
from services.einvoice import lines as doclines

CONTENT_TYPES = {
    "fa3": "application/xml",
    "ubl": "application/xml",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DETAIL_COLUMNS = (
    "position",
    "category",
    "description",
    "msisdn",
    "cost_centre",
    "unit",
    "period_from",
    "period_to",
    "quantity",
    "measure",
    "unit_price",
    "net",
    "vat_rate",
    "vat",
    "gross",
)


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
    }[kind]


def _require_issued(invoice: Invoice) -> None:
    if invoice.state != InvoiceState.issued:
        raise fa3.InvalidDocument("only an issued invoice has documents")


def _corrected(session: Session, invoice: Invoice) -> Invoice | None:
    if invoice.kind == InvoiceKind.correction:
        return session.get(Invoice, invoice.corrects_id)
    return None


def fa3_xml(session: Session, invoice: Invoice) -> bytes:
    _require_issued(invoice)
    return fa3.build(invoice, doclines.load(session, invoice), _corrected(session, invoice))


def ubl_xml(session: Session, invoice: Invoice) -> bytes:
    _require_issued(invoice)
    return ubl.build(invoice, doclines.load(session, invoice), _corrected(session, invoice))


def _detail_rows(session: Session, invoice: Invoice):
    for li in doclines.load(session, invoice):
        yield (
            li.position,
            li.category,
            li.description,
            li.msisdn or "",
            li.cost_centre or "",
            li.unit_name or "",
            li.period_from.isoformat() if li.period_from else "",
            li.period_to.isoformat() if li.period_to else "",
            li.quantity,
            li.measure,
            li.unit_price,
            li.net,
            li.vat_rate,
            li.vat,
            li.gross,
        )


def detail_csv(session: Session, invoice: Invoice) -> bytes:
    """Per-line detail; ``;`` separated, decimal comma, UTF-8 with BOM (opens in Excel)."""
    _require_issued(invoice)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(DETAIL_COLUMNS)
    for row in _detail_rows(session, invoice):
        writer.writerow(
            [str(v).replace(".", ",") if isinstance(v, Decimal) else _safe(v) for v in row]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _safe(value):
    """No spreadsheet formula from text cells (=, +, -, @ at the start)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def detail_xlsx(session: Session, invoice: Invoice) -> bytes:
    from openpyxl import Workbook

    _require_issued(invoice)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(invoice.number.replace("/", "-")[:31])
    ws.append(DETAIL_COLUMNS)
    for row in _detail_rows(session, invoice):
        ws.append([float(v) if isinstance(v, Decimal) else _safe(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(PROJECT_ROOT / "templates")),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["pln"] = pln
    env.filters["qty"] = lambda v: f"{Decimal(v).normalize():f}".replace(".", ",")
    env.filters["rate"] = doclines.rate_label
    return env


def pln(value) -> str:
    """1234.5 → '1 234,50' (Polish grouping with a non-breaking space)."""
    value = Decimal(value).quantize(Decimal("0.01"))
    sign = "-" if value < 0 else ""
    whole, frac = f"{abs(value):f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + "\u00a0".join(groups) + "," + frac


def qr_svg(invoice: Invoice) -> str | None:
    if not invoice.ksef_number or not invoice.ksef_hash:
        return None
    url = ksef.verification_url(invoice.seller["nip"], invoice.issue_date, invoice.ksef_hash)
    return segno.make(url, error="m").svg_inline(scale=3)


def invoice_html(session: Session, invoice: Invoice) -> str:
    lines = doclines.load(session, invoice)
    return (
        _env()
        .get_template("pdf/invoice.html")
        .render(
            invoice=invoice,
            corrected=_corrected(session, invoice),
            lines=doclines.document_lines(lines),
            summarised=len(lines) > doclines.DETAIL_LIMIT,
            line_count=len(lines),
            rates=doclines.rate_totals(lines),
            centres=doclines.cost_centres(lines),
            qr=qr_svg(invoice),
            verification_url=ksef.verification_url(
                invoice.seller["nip"], invoice.issue_date, invoice.ksef_hash
            )
            if invoice.ksef_hash
            else None,
        )
    )


def invoice_pdf(session: Session, invoice: Invoice) -> bytes:
    xml = fa3_xml(session, invoice)
    return render_pdf_a(
        invoice_html(session, invoice),
        [(fa3_name(invoice), xml, "Faktura ustrukturyzowana FA(3)")],
    )


def render(session: Session, invoice: Invoice, kind: str) -> bytes:
    return {
        "fa3": fa3_xml,
        "ubl": ubl_xml,
        "pdf": invoice_pdf,
        "csv": detail_csv,
        "xlsx": detail_xlsx,
    }[kind](session, invoice)
