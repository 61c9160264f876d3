"""The lines an invoice document prints, and its breakdowns by VAT rate and cost centre.

``summary`` gives all three at once. A large invoice (over ``DETAIL_LIMIT`` lines) is summed
in the database, two grouped queries instead of loading tens of thousands of lines; amounts
are summed as whole grosze (quantities as ten-thousandths), so the sums are exact on SQLite
too, whose numeric columns are floating point.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
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


@dataclass
class Summary:
    count: int  # the invoice's lines
    lines: list[DocLine]  # what the documents print
    rates: list[vat.RateTotal]
    centres: list[CostCentre]

    @property
    def summarised(self) -> bool:
        return self.count > DETAIL_LIMIT


def document_lines(lines: list, limit: int = DETAIL_LIMIT) -> list[DocLine]:
    if lines and isinstance(lines[0], DocLine):
        return list(lines)  # already what the documents print (a ``Summary``'s lines)
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
        doc.description = _summary_description(doc.description, doc.count)
        one_price = prices[key]
        doc.unit_price = next(iter(one_price)) if len(one_price) == 1 else ZERO
    return list(groups.values())


def _summary_description(title: str, count: int) -> str:
    return f"{title} — {count} poz. (szczegóły w specyfikacji)"


def summary(session: Session, invoice: Invoice) -> Summary:
    """The printed lines and the totals by VAT rate and cost centre of ``invoice``."""
    t = InvoiceLine.__table__
    count = session.scalar(select(func.count()).where(t.c.invoice_id == invoice.id))
    if count <= DETAIL_LIMIT:
        lines = load(session, invoice)
        return Summary(count, document_lines(lines), rate_totals(lines), cost_centres(lines))
    printed = _grouped_lines(session, invoice)
    # Per rate, the printed lines' nets add up to the rate's net (exact sums of grosze).
    rates = vat.totals_by_rate(printed)
    return Summary(count, printed, rates, _grouped_centres(session, invoice))


def _scaled(column, scale: int):
    """SUM of ``column`` in whole units of 1/``scale`` (exact on every database)."""
    return func.sum(func.round(column * scale))


def _unscaled(value, scale: int) -> Decimal:
    return Decimal(int(value or 0)) / scale


def _grouped_lines(session: Session, invoice: Invoice) -> list[DocLine]:
    t = InvoiceLine.__table__
    keys = (t.c.category, t.c.group_key, t.c.vat_rate)
    groups = session.execute(
        select(
            *keys,
            func.count(),
            _scaled(t.c.quantity, 10_000),
            _scaled(t.c.net, 100),
            _scaled(t.c.vat, 100),
            _scaled(t.c.gross, 100),
            func.min(t.c.position),
            func.count(t.c.unit_price.distinct()),
            func.min(t.c.unit_price),
        )
        .where(t.c.invoice_id == invoice.id)
        .group_by(*keys)
    ).all()
    firsts = {
        r.position: r
        for r in session.execute(
            select(t.c.position, t.c.description, t.c.measure).where(
                t.c.invoice_id == invoice.id, t.c.position.in_([g[8] for g in groups])
            )
        )
    }
    out = []
    for _cat, _key, rate, n, qty, net, tax, gross, first, prices, price in sorted(
        groups, key=lambda g: g[8]
    ):
        line = firsts[first]
        out.append(
            DocLine(
                _summary_description(_title(line), n),
                line.measure,
                _unscaled(qty, 10_000),
                Decimal(price) if prices == 1 else ZERO,
                _unscaled(net, 100),
                rate,
                _unscaled(tax, 100),
                _unscaled(gross, 100),
                n,
            )
        )
    return out


def _grouped_centres(session: Session, invoice: Invoice) -> list[CostCentre]:
    t = InvoiceLine.__table__
    keys = (t.c.cost_centre, t.c.unit_name)
    rows = session.execute(
        select(
            *keys,
            func.count(),
            _scaled(t.c.net, 100),
            _scaled(t.c.vat, 100),
            _scaled(t.c.gross, 100),
        )
        .where(t.c.invoice_id == invoice.id)
        .group_by(*keys)
    )
    centres = [
        CostCentre(
            centre or "",
            unit or "",
            n,
            _unscaled(net, 100),
            _unscaled(tax, 100),
            _unscaled(gross, 100),
        )
        for centre, unit, n, net, tax, gross in rows
    ]
    return sorted(centres, key=lambda c: (c.cost_centre, c.unit_name))


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


def rate_label(rate: Decimal) -> str:
    return f"{Decimal(rate).normalize():f}"
