"""UBL 2.1 invoice, Peppol BIS Billing 3.0 / EN 16931.

A correction is an Invoice with type code 384 (corrected invoice) referring to the original
in ``BillingReference``; its lines carry the differences (negative quantities). Prices are
never negative (BR-27): a summary line of a negative amount prints quantity -1.
Totals by rate are the stored ones (``services.vat``), which the CEN rules BR-CO-17 and
BR-S-08 recompute and accept.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from models import Invoice, InvoiceKind, InvoiceLine
from services.einvoice import lines as doclines

NS_INV = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
UNIT_CODES = {"szt.": "H87", "mies.": "MON"}


def _cac(parent, tag: str):
    return etree.SubElement(parent, f"{{{NS_CAC}}}{tag}")


def _cbc(parent, tag: str, text, **attrs):
    el = etree.SubElement(parent, f"{{{NS_CBC}}}{tag}", **attrs)
    el.text = str(text)
    return el


def _amount(parent, tag: str, value: Decimal, currency: str):
    return _cbc(parent, tag, f"{Decimal(value).quantize(Decimal('0.01')):f}", currencyID=currency)


def _category(parent, tag: str, rate: Decimal) -> None:
    cat = _cac(parent, tag)
    _cbc(cat, "ID", "S" if rate > 0 else "Z")
    _cbc(cat, "Percent", doclines.rate_label(rate))
    _cbc(_cac(cat, "TaxScheme"), "ID", "VAT")


def _party(parent, tag: str, party: dict) -> None:
    node = _cac(_cac(parent, tag), "Party")
    vat_id = f"{party.get('country') or 'PL'}{party['nip']}"
    _cbc(node, "EndpointID", vat_id, schemeID="9945")
    address = _cac(node, "PostalAddress")
    if party.get("street"):
        _cbc(address, "StreetName", party["street"])
    if party.get("city"):
        _cbc(address, "CityName", party["city"])
    if party.get("postal_code"):
        _cbc(address, "PostalZone", party["postal_code"])
    _cbc(_cac(address, "Country"), "IdentificationCode", party.get("country") or "PL")
    tax = _cac(node, "PartyTaxScheme")
    _cbc(tax, "CompanyID", vat_id)
    _cbc(_cac(tax, "TaxScheme"), "ID", "VAT")
    _cbc(_cac(node, "PartyLegalEntity"), "RegistrationName", party["name"])


def build(invoice: Invoice, lines: list[InvoiceLine], corrected: Invoice | None = None) -> bytes:
    cur = invoice.currency
    root = etree.Element(f"{{{NS_INV}}}Invoice", nsmap={None: NS_INV, "cac": NS_CAC, "cbc": NS_CBC})
    _cbc(root, "CustomizationID", CUSTOMIZATION)
    _cbc(root, "ProfileID", PROFILE)
    _cbc(root, "ID", invoice.number)
    _cbc(root, "IssueDate", invoice.issue_date.isoformat())
    _cbc(root, "DueDate", invoice.due_date.isoformat())
    is_correction = invoice.kind == InvoiceKind.correction
    _cbc(root, "InvoiceTypeCode", "384" if is_correction else "380")
    if is_correction and invoice.correction_reason:
        _cbc(root, "Note", invoice.correction_reason)
    _cbc(root, "DocumentCurrencyCode", cur)
    _cbc(root, "BuyerReference", invoice.buyer.get("number") or invoice.buyer["nip"])
    period = _cac(root, "InvoicePeriod")
    _cbc(period, "StartDate", invoice.period_start.isoformat())
    _cbc(period, "EndDate", invoice.period_end.isoformat())
    if is_correction and corrected is not None:
        ref = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(ref, "ID", corrected.number)
        _cbc(ref, "IssueDate", corrected.issue_date.isoformat())
    _party(root, "AccountingSupplierParty", invoice.seller)
    _party(root, "AccountingCustomerParty", invoice.buyer)
    if invoice.seller.get("bank_account"):
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", "58")  # SEPA credit transfer
        _cbc(means, "PaymentID", invoice.number)
        _cbc(_cac(means, "PayeeFinancialAccount"), "ID", invoice.seller["bank_account"])

    tax_total = _cac(root, "TaxTotal")
    _amount(tax_total, "TaxAmount", invoice.total_vat, cur)
    for rate in doclines.rate_totals(lines):
        sub = _cac(tax_total, "TaxSubtotal")
        _amount(sub, "TaxableAmount", rate.net, cur)
        _amount(sub, "TaxAmount", rate.vat, cur)
        _category(sub, "TaxCategory", rate.rate)

    money = _cac(root, "LegalMonetaryTotal")
    _amount(money, "LineExtensionAmount", invoice.total_net, cur)
    _amount(money, "TaxExclusiveAmount", invoice.total_net, cur)
    _amount(money, "TaxInclusiveAmount", invoice.total_gross, cur)
    _amount(money, "PayableAmount", invoice.total_gross, cur)

    for n, line in enumerate(doclines.document_lines(lines), start=1):
        row = _cac(root, "InvoiceLine")
        _cbc(row, "ID", n)
        if line.count > 1 or not line.unit_price:
            quantity, price = (Decimal(1) if line.net >= 0 else Decimal(-1)), abs(line.net)
        else:
            quantity, price = line.quantity, line.unit_price
        _cbc(
            row,
            "InvoicedQuantity",
            f"{Decimal(quantity).normalize():f}",
            unitCode=UNIT_CODES.get(line.measure, "C62"),
        )
        _amount(row, "LineExtensionAmount", line.net, cur)
        item = _cac(row, "Item")
        _cbc(item, "Name", line.description[:300])
        _category(item, "ClassifiedTaxCategory", line.vat_rate)
        _cbc(_cac(row, "Price"), "PriceAmount", f"{Decimal(price).normalize():f}", currencyID=cur)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
