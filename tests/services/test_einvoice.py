"""Every generated document validates: FA(3) against the Ministry of Finance XSD (and KSeF's
own rules), UBL against the UBL 2.1 XSD and the CEN EN 16931 rules; the PDF is PDF/A-3b with
the FA(3) embedded; the detail files add up to the invoice."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from services import invoices
from services.audit import Actor
from services.einvoice import documents, fa3
from services.einvoice import lines as doclines
from tests.billing_factories import at, billing_customer, completed_handset
from tests.einvoice_checks import cen_rules_fired, fa3_errors, ubl_errors
from tests.services.test_billing import run_for

FA = {"fa": fa3.NS}


@pytest.fixture
def issued(db):
    customer, _t, lines = billing_customer(db, 5, fee="41.37")
    lines[2].activated_at = at(date(2026, 11, 17))
    completed_handset(db, customer, lines[0], at(date(2026, 11, 4)), price="1499.99")
    db.flush()
    return run_for(db, customer)


def test_fa3_validates_and_carries_the_totals(db, issued):
    data = documents.fa3_xml(db, issued)
    assert fa3_errors(data) == []
    assert not data.startswith(b"\xef\xbb\xbf") and data.startswith(b"<?xml")
    doc = etree.fromstring(data)
    assert doc.findtext("fa:Fa/fa:P_2", namespaces=FA) == issued.number
    assert Decimal(doc.findtext("fa:Fa/fa:P_13_1", namespaces=FA)) == issued.total_net
    assert Decimal(doc.findtext("fa:Fa/fa:P_14_1", namespaces=FA)) == issued.total_vat
    assert Decimal(doc.findtext("fa:Fa/fa:P_15", namespaces=FA)) == issued.total_gross
    nets = [Decimal(x.text) for x in doc.iterfind(".//fa:FaWiersz/fa:P_11", FA)]
    assert sum(nets) == issued.total_net


def test_ubl_passes_the_xsd_and_the_en16931_rules(db, issued):
    data = documents.ubl_xml(db, issued)
    assert ubl_errors(data) == []
    assert cen_rules_fired(data) > 10  # the rules really ran


def test_the_validators_catch_broken_documents(db, issued):
    data = documents.ubl_xml(db, issued)
    broken = data.replace(
        f">{issued.total_gross:f}</cbc:PayableAmount>".encode(), b">1.00</cbc:PayableAmount>"
    )
    assert broken != data
    assert any("BR-CO" in e for e in ubl_errors(broken))
    fa = documents.fa3_xml(db, issued).replace(b"<RodzajFaktury>VAT", b"<RodzajFaktury>XYZ")
    assert fa3_errors(fa)


def test_a_bad_nip_is_refused_before_anything_is_written(db, issued):
    issued_lines = invoices.lines_of(db, issued)
    buyer = dict(issued.buyer, nip="1234567890")
    fake = type(issued)(
        **{
            c: getattr(issued, c)
            for c in (
                "number",
                "issue_date",
                "seller",
                "currency",
                "kind",
                "period_start",
                "period_end",
                "due_date",
                "total_gross",
                "issued_at",
            )
        },
        buyer=buyer,
    )
    with pytest.raises(fa3.InvalidDocument):
        fa3.build(fake, issued_lines)


def test_a_large_invoice_prints_summary_lines_under_one_megabyte(db):
    customer, _t, lines = billing_customer(db, doclines.DETAIL_LIMIT + 50, fee="19.99")
    for line in lines[::3]:
        line.activated_at = at(date(2026, 11, 20))
    db.flush()
    invoice = run_for(db, customer)
    data = documents.fa3_xml(db, invoice)
    assert fa3_errors(data) == []
    rows = etree.fromstring(data).findall(".//fa:FaWiersz", FA)
    assert len(rows) == 1  # one tariff: one summary line
    assert Decimal(rows[0].findtext("fa:P_11", namespaces=FA)) == invoice.total_net
    assert ubl_errors(documents.ubl_xml(db, invoice)) == []
    # The per-line detail is in the billing-detail file.
    detail = list(
        csv.DictReader(
            io.StringIO(documents.detail_csv(db, invoice).decode("utf-8-sig")), delimiter=";"
        )
    )
    assert len(detail) == len(lines)
    assert sum(Decimal(r["net"].replace(",", ".")) for r in detail) == invoice.total_net


def test_correction_documents_validate(db, issued):
    original_lines = invoices.lines_of(db, issued)
    diffs = invoices.credit_lines(db, issued, [original_lines[0].id, original_lines[-1].id])
    kor = invoices.correct(
        db, Actor.system(), issued, "Zwrot telefonu", diffs, issue_date=date(2026, 12, 3)
    )
    fa = documents.fa3_xml(db, kor)
    assert fa3_errors(fa) == []
    doc = etree.fromstring(fa)
    assert doc.findtext("fa:Fa/fa:RodzajFaktury", namespaces=FA) == "KOR"
    assert (
        doc.findtext("fa:Fa/fa:DaneFaKorygowanej/fa:NrFaKorygowanej", namespaces=FA)
        == issued.number
    )
    u = documents.ubl_xml(db, kor)
    assert ubl_errors(u) == []
    assert b"<cbc:InvoiceTypeCode>384</cbc:InvoiceTypeCode>" in u


def test_pdf_is_pdf_a_3b_with_the_fa3_embedded(db, issued):
    pikepdf = pytest.importorskip("pikepdf")
    data = documents.invoice_pdf(db, issued)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfaid:part") == "3" and meta.get("pdfaid:conformance") == "B"
        assert "/OutputIntents" in pdf.Root
        files = pdf.attachments
        name = documents.fa3_name(issued)
        assert name in files
        assert files[name].get_file().read_bytes() == documents.fa3_xml(db, issued)
        assert str(files[name].obj.get("/AFRelationship")) == "/Data"
        text = b"".join(
            page.Contents.read_bytes() if hasattr(page.Contents, "read_bytes") else b""
            for page in pdf.pages
        )
        assert text  # rendered something


def test_detail_xlsx_adds_up(db, issued):
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(documents.detail_xlsx(db, issued)), read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    net = header.index("net")
    assert len(body) == len(invoices.lines_of(db, issued))
    assert sum(Decimal(str(r[net])) for r in body) == issued.total_net
