"""The lines an invoice document prints, and its breakdowns by VAT rate and cost centre."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Invoice, InvoiceLine
from services import vat

# Above this many lines a document prints one summary line per tariff / product instead.
DETAIL_LIMIT = 200
ZERO = Decimal("0")


@dataclass
class DocLine:
    description: str
    measure: str
    quantity: Decimal
    unit_price: Decimal
    net: Decimal
    vat_rate: Decimal
    vat: Decimal
    gross: Decimal
    count: int = 1


@dataclass
class CostCentre:
    cost_centre: str
    unit_name: str
    lines: int
    net: Decimal
    vat: Decimal
    gross: Decimal


def _title(line: InvoiceLine) -> str:
    return line.description.split(",")[0].split(" (")[0]


def document_lines(lines: list[InvoiceLine], limit: int = DETAIL_LIMIT) -> list[DocLine]:
    if len(lines) <= limit:
        return [
            DocLine(
                li.description,
                li.measure,
                li.quantity,
                li.unit_price,
                li.net,
                li.vat_rate,
                li.vat,
                li.gross,
            )
            for li in lines
        ]
    groups: dict[tuple, DocLine] = {}
    prices: dict[tuple, set] = {}
    for li in lines:
        key = (li.category, li.group_key, li.vat_rate)
        doc = groups.get(key)
        if doc is None:
            doc = groups[key] = DocLine(
                _title(li), li.measure, ZERO, ZERO, ZERO, li.vat_rate, ZERO, ZERO, 0
            )
            prices[key] = set()
        doc.quantity += li.quantity
        doc.net += li.net
        doc.vat += li.vat
        doc.gross += li.gross
        doc.count += 1
        prices[key].add(li.unit_price)
    for key, doc in groups.items():
        doc.description = f"{doc.description} — {doc.count} poz. (szczegóły w specyfikacji)"
        one_price = prices[key]
        doc.unit_price = next(iter(one_price)) if len(one_price) == 1 else ZERO
    return list(groups.values())


def load(session: Session, invoice: Invoice) -> list:
    """The invoice's lines as read-only rows (attribute access like InvoiceLine; no ORM cost)."""
    table = InvoiceLine.__table__
    return list(
        session.execute(
            select(table).where(table.c.invoice_id == invoice.id).order_by(table.c.position)
        )
    )


def rate_totals(lines: list[InvoiceLine]) -> list[vat.RateTotal]:
    return vat.totals_by_rate(lines)


def cost_centres(lines: list[InvoiceLine]) -> list[CostCentre]:
    out: dict[tuple, CostCentre] = {}
    for li in lines:
        key = (li.cost_centre or "", li.unit_name or "")
        cc = out.get(key)
        if cc is None:
            cc = out[key] = CostCentre(key[0], key[1], 0, ZERO, ZERO, ZERO)
        cc.lines += 1
        cc.net += li.net
        cc.vat += li.vat
        cc.gross += li.gross
    return sorted(out.values(), key=lambda c: (c.cost_centre, c.unit_name))


def rate_label(rate: Decimal) -> str:
    return f"{Decimal(rate).normalize():f}"
