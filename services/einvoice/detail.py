"""The billing detail of an invoice ("specyfikacja"): every invoice line as CSV and XLSX, and
the PDF appendix a finance department allocates costs with.

The appendix prints one row per phone number and cost centre — number, employee, the net
charges by kind (monthly fees, usage, one-off charges with adjustments), net, VAT and gross —
grouped by cost centre and department with a subtotal each, and the invoice total at the end;
every page has the invoice number, period and buyer, and "Strona X z Y". The amounts are sums
of the stored lines (the lines' VAT amounts add up to the invoice's VAT), so the appendix,
the CSV and the XLSX show the same figures. The employee is the one the number had when it was
billed (invoice lines keep it with the number, department and cost centre; lines billed before
migration 0020 show the number's employee now).

Rows are one line high (no wrapping; a long name is cut with an ellipsis), so the rows of a
page are known: the appendix paginates itself and ``core.pdf.render_pdf_pages`` lays out
chunks of pages in parallel. Like the invoice, it is a Polish document whatever the portal's
language.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import pdf
from core.settings import PROJECT_ROOT
from models import Employee, Invoice, InvoiceKind, InvoiceLine, InvoiceState, Line
from services.einvoice import lines as doclines
from services.einvoice.fa3 import InvalidDocument

COLUMNS = (
    "position",
    "category",
    "description",
    "msisdn",
    "employee",
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
ZERO = Decimal("0")

# Page geometry of templates/pdf/invoice-detail.html and static/css/pdf-table.css (A4
# portrait, millimetres): the heading line of each page takes TOP_MM, every row ROW_MM; the
# column headers take one row on each page, the title block of the first page
# FIRST_PAGE_HEAD_MM. A little room is left over so that rounding never pushes a row onto a
# page of its own.
TOP_MM = 6
PAGE_BODY_MM = 297 - 10 - 10 - TOP_MM
ROW_MM = 4
FIRST_PAGE_HEAD_MM = 30
SPARE_MM = 3
# The amounts of a row are one cell of fixed-width figures (7pt Liberation Mono: 0.6 em a
# glyph), each right-aligned in a field as wide as its column.
MONO_CHAR_MM = 7 * 0.6 * 25.4 / 72
ROWS_PER_PAGE = int((PAGE_BODY_MM - ROW_MM - SPARE_MM) // ROW_MM)
ROWS_FIRST_PAGE = int((PAGE_BODY_MM - FIRST_PAGE_HEAD_MM - ROW_MM - SPARE_MM) // ROW_MM)


def _require_issued(invoice: Invoice) -> None:
    if invoice.state != InvoiceState.issued:
        raise InvalidDocument("only an issued invoice has documents")


# --- every line: CSV and XLSX ----------------------------------------------------------------


def rows(session: Session, invoice: Invoice) -> Iterator[tuple]:
    for li in doclines.load(session, invoice):
        yield (
            li.position,
            li.category,
            li.description,
            li.msisdn or "",
            li.employee_name or "",
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


def _safe(value):
    """No spreadsheet formula from text cells (=, +, -, @ at the start)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def detail_csv(session: Session, invoice: Invoice) -> bytes:
    """Per-line detail; ``;`` separated, decimal comma, UTF-8 with BOM (opens in Excel)."""
    _require_issued(invoice)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows(session, invoice):
        writer.writerow(
            [str(v).replace(".", ",") if isinstance(v, Decimal) else _safe(v) for v in row]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def detail_xlsx(session: Session, invoice: Invoice, progress=None) -> bytes:
    from openpyxl import Workbook

    _require_issued(invoice)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(invoice.number.replace("/", "-")[:31])
    ws.append(COLUMNS)
    for n, row in enumerate(rows(session, invoice), start=1):
        ws.append([float(v) if isinstance(v, Decimal) else _safe(v) for v in row])
        if progress and n % 2000 == 0:
            progress(n)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- the appendix: per number, by cost centre ------------------------------------------------


@dataclass
class Amounts:
    fees: Decimal = ZERO
    usage: Decimal = ZERO
    other: Decimal = ZERO  # one-off charges and adjustments
    net: Decimal = ZERO
    vat: Decimal = ZERO
    gross: Decimal = ZERO

    def add(self, category: str, net: Decimal, vat: Decimal, gross: Decimal) -> None:
        if category == "fee":
            self.fees += net
        elif category == "usage":
            self.usage += net
        else:
            self.other += net
        self.net += net
        self.vat += vat
        self.gross += gross

    def add_all(self, other: Amounts) -> None:
        for name in ("fees", "usage", "other", "net", "vat", "gross"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class NumberRow:
    msisdn: str | None  # None: charges not tied to a number (an order without a line)
    employee: str | None
    amounts: Amounts = field(default_factory=Amounts)


@dataclass
class CentreGroup:
    cost_centre: str
    unit_name: str
    rows: list[NumberRow] = field(default_factory=list)
    total: Amounts = field(default_factory=Amounts)


def _employees(session: Session, invoice: Invoice) -> dict[int, str]:
    """The current employee of each line the invoice bills (for lines billed before invoice
    lines kept the name)."""
    found = session.execute(
        select(Line.id, Employee.full_name)
        .join(Employee, Employee.id == Line.employee_id)
        .where(
            Line.id.in_(
                select(InvoiceLine.line_id).where(
                    InvoiceLine.invoice_id == invoice.id, InvoiceLine.line_id.is_not(None)
                )
            )
        )
    )
    return {line_id: name for line_id, name in found}


def by_cost_centre(session: Session, invoice: Invoice) -> tuple[list[CentreGroup], Amounts]:
    """The appendix's groups (cost centre, department) with one row per number, and the
    total of them all (the invoice's totals). A number's employee is the one its lines were
    billed with; lines billed before they kept it show the number's employee now."""
    lines = doclines.load(session, invoice)
    unnamed = any(li.line_id is not None and li.employee_name is None for li in lines)
    employees = _employees(session, invoice) if unnamed else {}
    groups: dict[tuple[str, str], CentreGroup] = {}
    numbers: dict[tuple, NumberRow] = {}
    total = Amounts()
    for li in lines:
        key = (li.cost_centre or "", li.unit_name or "")
        group = groups.get(key)
        if group is None:
            group = groups[key] = CentreGroup(*key)
        row = numbers.get((key, li.msisdn))
        if row is None:
            row = numbers[(key, li.msisdn)] = NumberRow(li.msisdn, None)
            group.rows.append(row)
        if row.employee is None:
            row.employee = li.employee_name or employees.get(li.line_id)
        row.amounts.add(li.category, li.net, li.vat, li.gross)
        group.total.add(li.category, li.net, li.vat, li.gross)
        total.add(li.category, li.net, li.vat, li.gross)
    ordered = sorted(
        groups.values(), key=lambda g: (g.cost_centre == "", g.cost_centre, g.unit_name)
    )
    for group in ordered:
        group.rows.sort(key=lambda r: (r.msisdn is None, r.msisdn or ""))
    return ordered, total


# Printed rows: ("group", group, continued) — a cost centre's heading with its subtotal, or
# "cd." over a page break —, ("row", row) and ("total", amounts).
PrintedRow = tuple


def printed_rows(groups: list[CentreGroup], total: Amounts) -> list[PrintedRow]:
    out: list[PrintedRow] = []
    for group in groups:
        out.append(("group", group, False))
        out.extend(("row", row) for row in group.rows)
    out.append(("total", total))
    return out


def paginate(
    items: list[PrintedRow], first: int = ROWS_FIRST_PAGE, per_page: int = ROWS_PER_PAGE
) -> list[list[PrintedRow]]:
    """Pages of printed rows. A group's heading never ends a page; a group that goes on over
    a page break is named again at the top of the next page ("cd.")."""
    pages: list[list[PrintedRow]] = [[]]
    room = first
    open_group: CentreGroup | None = None
    for item in items:
        page = pages[-1]
        full = len(page) >= room or (item[0] == "group" and len(page) >= room - 1)
        if full:
            page = []
            pages.append(page)
            room = per_page
            if item[0] == "row" and open_group is not None:
                page.append(("group", open_group, True))
        if item[0] == "group":
            open_group = item[1]
        elif item[0] == "total":
            open_group = None
        page.append(item)
    return pages


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(PROJECT_ROOT / "templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pln"] = doclines.pln
    env.filters["phone"] = phone
    env.filters["amounts"] = amounts_text
    return env


AMOUNT_FIELDS = ("fees", "usage", "other", "net", "vat", "gross")


def amounts_text(a: Amounts, width: int) -> str:
    """The six amounts, each right-aligned in ``width`` characters."""
    return "".join(doclines.pln(getattr(a, name)).rjust(width) for name in AMOUNT_FIELDS)


def field_width(groups: list[CentreGroup], total: Amounts) -> int:
    """Characters per amount: the longest printed amount and two of space (at least 12,
    room for the headings)."""
    longest = max(
        len(doclines.pln(getattr(a, name)))
        for a in [total, *(g.total for g in groups), *(r.amounts for g in groups for r in g.rows)]
        for name in AMOUNT_FIELDS
    )
    return max(12, longest + 2)


def phone(msisdn: str | None) -> str:
    """+48601234567 → '+48 601 234 567'."""
    if not msisdn:
        return ""
    if msisdn.startswith("+48") and len(msisdn) == 12:
        return f"+48 {msisdn[3:6]} {msisdn[6:9]} {msisdn[9:]}"
    return msisdn


def chunks_html(session: Session, invoice: Invoice, processes: int | None = None) -> list[str]:
    """The appendix as complete HTML documents of consecutive pages (see ``core.pdf``)."""
    _require_issued(invoice)
    groups, total = by_cost_centre(session, invoice)
    pages = paginate(printed_rows(groups, total))
    template = _env().get_template("pdf/invoice-detail.html")
    width = field_width(groups, total)
    context = {
        "width": width,
        "amount_mm": round(width * MONO_CHAR_MM + 0.01, 2),  # a hair more: no rounding cut
        "invoice": invoice,
        "correction": invoice.kind == InvoiceKind.correction,
        "total_pages": len(pages),
        "numbers": sum(1 for g in groups for r in g.rows if r.msisdn),
        "centres": len(groups),
    }
    return [
        template.render(pages=pages[a:b], first_page=a + 1, **context)
        for a, b in pdf.chunk_bounds(len(pages), processes)
    ]


def detail_pdf(
    session: Session,
    invoice: Invoice,
    progress: Callable[[int, int], None] | None = None,
    processes: int | None = None,
) -> bytes:
    """The appendix as a PDF; ``progress(done, total)`` counts chunks of pages."""
    chunks = chunks_html(session, invoice, processes)
    return pdf.render_pdf_pages(chunks, processes=processes, progress=progress)
