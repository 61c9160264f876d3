"""The billing-detail appendix (PDF): per number and cost centre the same figures as the
detail CSV, subtotals per cost centre, the invoice's totals at the end, "Strona X z Y" and
the invoice's heading on every page — checked in the text of the PDF itself. Also: the
summary of a large invoice summed in the database equals the one summed line by line."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import Customer, Line
from services.einvoice import detail, documents
from services.einvoice import lines as doclines
from tests.billing_factories import at, billing_customer, completed_handset
from tests.fleet_factories import make_employee
from tests.services.test_billing import run_for

pypdf = pytest.importorskip("pypdf")


def _pdf_pages(data: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [page.extract_text().replace("\u00a0", " ") for page in reader.pages]


def _csv_rows(db, invoice) -> list[dict]:
    text = detail.detail_csv(db, invoice).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def _money(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def _expected(db, invoice) -> dict[str, list[Decimal]]:
    """Per number: fees, usage, other, net, VAT, gross — from the CSV, not from the appendix."""
    out: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal("0")] * 6)
    for row in _csv_rows(db, invoice):
        sums = out[row["msisdn"].lstrip("'")]  # the CSV makes "+48…" inert for Excel
        kind = {"fee": 0, "usage": 1}.get(row["category"], 2)
        sums[kind] += _money(row["net"])
        sums[3] += _money(row["net"])
        sums[4] += _money(row["vat"])
        sums[5] += _money(row["gross"])
    return out


def _figures(values) -> str:
    """A regular expression for amounts printed one after another."""
    return r"\s+".join(re.escape(doclines.pln(v).replace("\u00a0", " ")) for v in values)


def _line_with(pages: list[str], needle: str) -> str:
    found = [line for page in pages for line in page.splitlines() if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]


@pytest.fixture
def invoice(db):
    customer, _t, lines = billing_customer(db, 4, fee="41.37")
    lines[0].employee_id = make_employee(db, customer, name="Zofia Wiśniewska").id
    lines[3].activated_at = at(date(2026, 11, 17))
    completed_handset(db, customer, lines[0], at(date(2026, 11, 4)), price="1499.99")
    completed_handset(db, customer, None, at(date(2026, 11, 5)), price="99.00")  # no number
    db.flush()
    invoice = run_for(db, customer)
    invoice.named_msisdn = lines[0].msisdn  # the number with an employee
    return invoice


def test_appendix_shows_the_detail_figures_per_number(db, invoice):
    pages = _pdf_pages(detail.detail_pdf(db, invoice, processes=1))
    assert len(pages) == 1
    assert f"Specyfikacja do faktury VAT nr {invoice.number}" in pages[0]
    assert invoice.buyer["name"] in pages[0] and "Strona 1 z 1" in pages[0]
    expected = _expected(db, invoice)
    assert len(expected) == 5  # four numbers and the handset without one
    for msisdn, sums in expected.items():
        label = detail.phone(msisdn) if msisdn else "bez numeru"
        assert re.search(_figures(sums), _line_with(pages, label)), msisdn
    assert "Zofia Wiśniewska" in _line_with(pages, detail.phone(invoice.named_msisdn))
    # The invoice's own totals close the appendix.
    total = _line_with(pages, "Razem faktura")
    assert re.search(_figures([invoice.total_net, invoice.total_vat, invoice.total_gross]), total)
    # Each cost centre's heading carries its subtotal.
    for centre in doclines.cost_centres(doclines.load(db, invoice)):
        label = f"{centre.cost_centre or 'bez centrum kosztów'} · {centre.unit_name or '—'}"
        heading = _line_with(pages, label)
        assert re.search(_figures([centre.net, centre.vat, centre.gross]), heading)


def test_the_employee_billed_stays_on_the_issued_invoice(db, invoice):
    """The number gets another employee after the invoice was issued: the appendix and the
    CSV still name the one it had when it was billed."""
    line = db.scalar(select(Line).where(Line.msisdn == invoice.named_msisdn))
    customer = db.get(Customer, line.customer_id)
    line.employee_id = make_employee(db, customer, name="Jan Następca").id
    db.flush()
    pages = _pdf_pages(detail.detail_pdf(db, invoice, processes=1))
    row = _line_with(pages, detail.phone(invoice.named_msisdn))
    assert "Zofia Wiśniewska" in row and "Jan Następca" not in row
    named = [r for r in _csv_rows(db, invoice) if r["msisdn"].lstrip("'") == invoice.named_msisdn]
    assert named and {r["employee"] for r in named} == {"Zofia Wiśniewska"}


def test_a_long_appendix_is_rendered_in_chunks_with_page_numbers(db):
    customer, _t, _lines = billing_customer(db, 300, fee="19.99")
    invoice = run_for(db, customer)
    groups, total = detail.by_cost_centre(db, invoice)
    expected_pages = len(detail.paginate(detail.printed_rows(groups, total)))
    assert expected_pages >= 5
    assert len(detail.chunks_html(db, invoice, processes=2)) == 2
    pages = _pdf_pages(detail.detail_pdf(db, invoice, processes=2))
    assert len(pages) == expected_pages  # rows one line high: the pagination held
    for n, text in enumerate(pages, start=1):
        assert f"Strona {n} z {expected_pages}" in text
        assert invoice.number in text.splitlines()[0] or invoice.number in text
    expected = _expected(db, invoice)
    text = "\n".join(pages)
    for msisdn, sums in expected.items():
        line = _line_with(pages, detail.phone(msisdn))
        assert re.search(_figures(sums), line), msisdn
    assert text.count("Razem faktura") == 1
    assert re.search(
        _figures([invoice.total_net, invoice.total_vat, invoice.total_gross]),
        _line_with(pages, "Razem faktura"),
    )
    assert "(cd.)" in text  # a cost centre going on over a page break is named again


def test_pagination_keeps_headings_with_their_rows():
    group = detail.CentreGroup("CC-1", "Sprzedaż")
    group.rows = [detail.NumberRow(f"+4860000{n:04d}", None) for n in range(9)]
    other = detail.CentreGroup("CC-2", "IT")
    other.rows = [detail.NumberRow("+48600009999", None)]
    items = detail.printed_rows([group, other], detail.Amounts())
    pages = detail.paginate(items, first=5, per_page=4)
    assert [len(p) for p in pages] == [5, 4, 3, 3]  # CC-2 would have ended page 3
    assert [p[0][0] for p in pages] == ["group", "group", "group", "group"]
    assert [p[0][2] for p in pages] == [False, True, True, False]  # "cd." on pages 2 and 3
    for page in pages:
        assert page[-1][0] != "group"  # a heading never ends a page
    printed = [item for page in pages for item in page if item[0] == "row"]
    assert [r[1] for r in printed] == group.rows + other.rows


def test_large_invoice_summary_from_the_database_equals_the_lines(db):
    customer, _t, lines = billing_customer(db, doclines.DETAIL_LIMIT + 30, fee="19.99")
    for line in lines[::7]:
        line.activated_at = at(date(2026, 11, 20))
    completed_handset(db, customer, lines[1], at(date(2026, 11, 4)), price="1499.99", qty=2)
    db.flush()
    invoice = run_for(db, customer)
    summary = doclines.summary(db, invoice)
    assert summary.summarised and summary.count > doclines.DETAIL_LIMIT
    every = doclines.load(db, invoice)
    assert summary.lines == doclines.document_lines(every)
    assert summary.rates == doclines.rate_totals(every)
    assert summary.centres == doclines.cost_centres(every)
    assert sum(c.gross for c in summary.centres) == invoice.total_gross
    html = documents.invoice_html(db, invoice)
    assert "CC-100 · Sprzedaż" in html and "CC-200 · IT" in html
