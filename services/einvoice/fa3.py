"""KSeF FA(3): the structured invoice of the Polish Ministry of Finance.

Written as KSeF accepts it: UTF-8 without a byte-order mark, no processing instruction other
than the XML declaration, valid NIPs (checked before writing: ``InvalidDocument``), and at
most 1 MB (``MAX_BYTES``) — large invoices print summary lines (``lines.document_lines``). The
schema is ``http://crd.gov.pl/wzor/2025/06/25/13775/`` (schemat_FA(3)_v1-0E.xsd).

Rates map to the schema's fields: 23 % → P_13_1/P_14_1, 8 % → P_13_2/P_14_2, 5 % →
P_13_3/P_14_3, 0 % → P_13_6_1. A correction is ``RodzajFaktury`` KOR with the reason, type 2
(effective from the correction's date), and the corrected invoice's number and KSeF number.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from lxml import etree
from stdnum.pl import nip as stdnip

from models import Invoice, InvoiceKind, InvoiceLine
from services.einvoice import lines as doclines

NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"
MAX_BYTES = 1_000_000
RATE_FIELDS = {
    Decimal("23"): ("P_13_1", "P_14_1"),
    Decimal("8"): ("P_13_2", "P_14_2"),
    Decimal("5"): ("P_13_3", "P_14_3"),
}


# The schema's TNIP: a checksum-valid NIP whose tax-office code (digits 2–3) is not 00.
NIP_PATTERN = re.compile(r"^[1-9]((\d[1-9])|([1-9]\d))\d{7}$")


def is_valid_nip(nip: str) -> bool:
    return bool(NIP_PATTERN.match(nip or "")) and stdnip.is_valid(nip)


class InvalidDocument(ValueError):
    """The invoice cannot become an FA(3) KSeF would accept (the reason in words)."""


def _amount(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01')):f}"


def _quantity(value: Decimal) -> str:
    text = f"{Decimal(value).normalize():f}"
    return text


def _sub(parent, tag: str, text=None, **attrs):
    el = etree.SubElement(parent, f"{{{NS}}}{tag}", **attrs)
    if text is not None:
        el.text = str(text)
    return el


def _party(parent, tag: str, party: dict, buyer: bool) -> None:
    nip = (party.get("nip") or "").strip()
    if not is_valid_nip(nip):
        raise InvalidDocument(f"invalid NIP {nip!r} of {party.get('name')!r}")
    node = _sub(parent, tag)
    ids = _sub(node, "DaneIdentyfikacyjne")
    _sub(ids, "NIP", nip)
    _sub(ids, "Nazwa", party["name"])
    address = _sub(node, "Adres")
    _sub(address, "KodKraju", party.get("country") or "PL")
    _sub(address, "AdresL1", party.get("street") or "-")
    _sub(address, "AdresL2", f"{party.get('postal_code') or ''} {party.get('city') or ''}".strip())
    if party.get("email"):
        contact = _sub(node, "DaneKontaktowe")
        _sub(contact, "Email", party["email"])
    if buyer:
        if party.get("number"):
            _sub(node, "NrKlienta", party["number"])
        _sub(node, "JST", "2")  # not a unit of local government
        _sub(node, "GV", "2")  # not a VAT group member


def _rates(parent, lines: list[InvoiceLine]) -> None:
    totals = {t.rate: t for t in doclines.rate_totals(lines)}
    for rate, (net_field, vat_field) in RATE_FIELDS.items():
        if rate in totals:
            _sub(parent, net_field, _amount(totals[rate].net))
            _sub(parent, vat_field, _amount(totals[rate].vat))
    if Decimal("0") in totals:
        _sub(parent, "P_13_6_1", _amount(totals[Decimal("0")].net))
    unknown = set(totals) - set(RATE_FIELDS) - {Decimal("0")}
    if unknown:
        raise InvalidDocument(f"VAT rates without an FA(3) field: {sorted(unknown)}")


def _annotations(parent) -> None:
    notes = _sub(parent, "Adnotacje")
    for tag in ("P_16", "P_17", "P_18", "P_18A"):
        _sub(notes, tag, "2")
    _sub(_sub(notes, "Zwolnienie"), "P_19N", "1")
    _sub(_sub(notes, "NoweSrodkiTransportu"), "P_22N", "1")
    _sub(notes, "P_23", "2")
    _sub(_sub(notes, "PMarzy"), "P_PMarzyN", "1")


def build(
    invoice: Invoice,
    lines: list[InvoiceLine],
    corrected: Invoice | None = None,
    created: datetime | None = None,
) -> bytes:
    """The FA(3) document of an issued invoice, as bytes ready to send."""
    if invoice.number is None or invoice.issue_date is None:
        raise InvalidDocument("only an issued invoice has an FA(3)")
    root = etree.Element(f"{{{NS}}}Faktura", nsmap={None: NS})
    head = _sub(root, "Naglowek")
    _sub(head, "KodFormularza", "FA", kodSystemowy="FA (3)", wersjaSchemy="1-0E")
    _sub(head, "WariantFormularza", "3")
    created = created or invoice.issued_at or datetime.now(UTC)
    _sub(head, "DataWytworzeniaFa", created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    _sub(head, "SystemInfo", "Asystent")
    _party(root, "Podmiot1", invoice.seller, buyer=False)
    _party(root, "Podmiot2", invoice.buyer, buyer=True)

    fa = _sub(root, "Fa")
    _sub(fa, "KodWaluty", invoice.currency)
    _sub(fa, "P_1", invoice.issue_date.isoformat())
    _sub(fa, "P_1M", invoice.seller.get("city") or "Warszawa")
    _sub(fa, "P_2", invoice.number)
    if invoice.kind == InvoiceKind.invoice:
        period = _sub(fa, "OkresFa")
        _sub(period, "P_6_Od", invoice.period_start.isoformat())
        _sub(period, "P_6_Do", invoice.period_end.isoformat())
    _rates(fa, lines)
    _sub(fa, "P_15", _amount(invoice.total_gross))
    _annotations(fa)
    if invoice.kind == InvoiceKind.correction:
        _sub(fa, "RodzajFaktury", "KOR")
        _sub(fa, "PrzyczynaKorekty", invoice.correction_reason or "-")
        _sub(fa, "TypKorekty", "2")
        ref = _sub(fa, "DaneFaKorygowanej")
        _sub(ref, "DataWystFaKorygowanej", corrected.issue_date.isoformat())
        _sub(ref, "NrFaKorygowanej", corrected.number)
        if corrected.ksef_number:
            _sub(ref, "NrKSeF", "1")
            _sub(ref, "NrKSeFFaKorygowanej", corrected.ksef_number)
        else:
            _sub(ref, "NrKSeFN", "1")
    else:
        _sub(fa, "RodzajFaktury", "VAT")
    for n, line in enumerate(doclines.document_lines(lines), start=1):
        row = _sub(fa, "FaWiersz")
        _sub(row, "NrWierszaFa", n)
        _sub(row, "P_7", line.description[:512])
        _sub(row, "P_8A", line.measure)
        _sub(row, "P_8B", _quantity(line.quantity))
        if line.unit_price:
            _sub(row, "P_9A", _amount(line.unit_price))
        _sub(row, "P_11", _amount(line.net))
        _sub(row, "P_12", doclines.rate_label(line.vat_rate))
    pay = _sub(fa, "Platnosc")
    term = _sub(pay, "TerminPlatnosci")
    _sub(term, "Termin", invoice.due_date.isoformat())
    _sub(pay, "FormaPlatnosci", "6")  # transfer
    if invoice.seller.get("bank_account"):
        account = _sub(pay, "RachunekBankowy")
        _sub(account, "NrRB", invoice.seller["bank_account"].replace(" ", ""))
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if len(data) > MAX_BYTES:
        raise InvalidDocument(f"FA(3) of {len(data)} bytes exceeds KSeF's 1 MB")
    return data
