"""Issuing invoices: drafts, gapless numbers, the issue itself, corrections.

A draft collects ``ChargeLine`` values; ``issue`` computes VAT (``services.vat``), takes the
next number of the series and freezes the document. Numbers come from ``InvoiceCounter`` with
one ``UPDATE … SET last_number = last_number + 1 … RETURNING``: PostgreSQL locks the counter
row until the transaction ends, SQLite's ``BEGIN IMMEDIATE`` admits one writer at a time, so
two runs never get the same number and a rolled-back issue gives its number back (no gaps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from core.i18n import _l
from core.settings import OperatorParty
from models import (
    Customer,
    Employee,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    InvoiceState,
    Line,
)
from models.base import utcnow
from services import ServiceError, audit, vat
from services.audit import Actor

SERIES = {InvoiceKind.invoice: "FV", InvoiceKind.correction: "FK"}
PAYMENT_DAYS = 14


def seller_snapshot(party: OperatorParty) -> dict:
    """The operator as seller (``core.settings.OperatorParty``, from OPERATOR_*), as an
    invoice keeps it: snapshotted when the draft is made, so a later change of address or
    account never alters an issued document."""
    return {
        "name": party.name,
        "nip": party.nip,
        "street": party.street,
        "postal_code": party.postal_code,
        "city": party.city,
        "country": "PL",
        "email": party.email,
        "bank_account": party.iban,
    }


@dataclass
class ChargeLine:
    """One charge before it becomes an invoice line (amounts net, PLN)."""

    category: str  # fee | one_off | usage | adjustment
    group_key: str  # what summary lines group by: a tariff or product code
    description: str
    quantity: Decimal
    unit_price: Decimal
    net: Decimal
    vat_rate: Decimal = vat.STANDARD_RATE
    measure: str = "szt."
    unit_id: int | None = None
    unit_name: str | None = None
    cost_centre: str | None = None
    line_id: int | None = None
    msisdn: str | None = None
    employee_name: str | None = None  # filled by ``add_lines`` from the line, when it has one
    period_from: date | None = None
    period_to: date | None = None
    source: str | None = None
    vat: Decimal = field(default=Decimal("0"))
    gross: Decimal = field(default=Decimal("0"))


@dataclass
class _Amounts:
    id: int
    net: Decimal
    vat_rate: Decimal
    vat: Decimal = Decimal("0")
    gross: Decimal = Decimal("0")


def number_text(series: str, year: int, seq: int) -> str:
    return f"{series}/{year}/{seq:06d}"


def next_number(session: Session, series: str, year: int) -> int:
    """The next number of ``series`` in ``year``; the counter row stays locked until commit."""
    table = InvoiceCounter.__table__
    bump = (
        table.update()
        .where(table.c.series == series, table.c.year == year)
        .values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)
    )
    n = session.execute(bump).scalar()
    if n is None:
        try:
            with session.begin_nested():
                session.execute(table.insert().values(series=series, year=year, last_number=0))
        except IntegrityError:
            pass  # another transaction created it first; the UPDATE below waits for it
        n = session.execute(bump).scalar()
    return int(n)


def buyer_snapshot(customer: Customer) -> dict:
    return {
        "name": customer.name,
        "nip": customer.nip,
        "number": customer.number,
        "street": customer.street,
        "postal_code": customer.postal_code,
        "city": customer.city,
        "country": customer.country or "PL",
        "email": customer.email,
    }


def new_draft(
    session: Session,
    customer: Customer,
    period_start: date,
    period_end: date,
    *,
    kind: InvoiceKind = InvoiceKind.invoice,
    contract_version_id: int | None = None,
    corrects_id: int | None = None,
    seller: OperatorParty | None = None,
) -> Invoice:
    """A draft; ``seller`` is the operator as configured (the defaults when None)."""
    invoice = Invoice(
        corrects_id=corrects_id,
        customer_id=customer.id,
        kind=kind,
        state=InvoiceState.draft,
        series=SERIES[kind],
        year=period_end.year,
        period_start=period_start,
        period_end=period_end,
        contract_version_id=contract_version_id,
        buyer=buyer_snapshot(customer),
        seller=seller_snapshot(seller or OperatorParty()),
    )
    session.add(invoice)
    session.flush()
    return invoice


def require_draft(invoice: Invoice) -> None:
    if invoice.state != InvoiceState.draft:
        raise ServiceError(_l("An issued invoice cannot change; issue a correction instead."))


LINE_COLUMNS = (
    "invoice_id",
    "position",
    "category",
    "group_key",
    "description",
    "unit_id",
    "unit_name",
    "cost_centre",
    "line_id",
    "msisdn",
    "employee_name",
    "measure",
    "quantity",
    "unit_price",
    "net",
    "vat_rate",
    "vat",
    "gross",
    "period_from",
    "period_to",
    "source",
)


def add_lines(session: Session, invoice: Invoice, charges: list[ChargeLine]) -> None:
    """Append ``charges`` to a draft in one bulk insert (``COPY`` on PostgreSQL), without ORM
    objects: a month's invoice of a large customer has tens of thousands of lines. A charge of
    a line keeps the line's employee of now (the billing detail prints it, and an issued
    invoice's appendix must not change when a number gets another employee)."""
    require_draft(invoice)
    employees = _employees_of_lines(session, invoice.customer_id, charges)
    start = (
        session.scalar(
            select(InvoiceLine.position)
            .where(InvoiceLine.invoice_id == invoice.id)
            .order_by(InvoiceLine.position.desc())
            .limit(1)
        )
        or 0
    )
    rows = []
    for i, c in enumerate(charges, start=1):
        net = vat.money(c.net)
        tax = vat.tax(c.net, c.vat_rate)  # per line; ``issue`` moves the rounding difference
        rows.append(
            (
                invoice.id,
                start + i,
                c.category,
                c.group_key[:80],
                c.description[:300],
                c.unit_id,
                c.unit_name,
                c.cost_centre,
                c.line_id,
                c.msisdn,
                c.employee_name or employees.get(c.line_id),
                c.measure,
                c.quantity,
                c.unit_price,
                net,
                c.vat_rate,
                tax,
                net + tax,
                c.period_from,
                c.period_to,
                c.source,
            )
        )
    if rows:
        _insert_lines(session, rows)
    session.flush()


def _employees_of_lines(
    session: Session, customer_id: int, charges: list[ChargeLine]
) -> dict[int, str]:
    """Line id -> its employee's name, for the lines the charges bill (one query over the
    customer's lines with an employee: a month's run bills most of them)."""
    if not any(c.line_id is not None and c.employee_name is None for c in charges):
        return {}
    return dict(
        session.execute(
            select(Line.id, Employee.full_name)
            .join(Employee, Employee.id == Line.employee_id)
            .where(Line.customer_id == customer_id)
        ).all()
    )


def _insert_lines(session: Session, rows: list[tuple]) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        import psycopg

        statement = f"COPY invoice_line ({', '.join(LINE_COLUMNS)}) FROM STDIN"
        try:
            with (
                connection.connection.driver_connection.cursor() as cur,
                cur.copy(statement) as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as exc:  # as SQLAlchemy raises it for any other statement
            raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
        return
    session.execute(
        InvoiceLine.__table__.insert(), [dict(zip(LINE_COLUMNS, r, strict=True)) for r in rows]
    )


def lines_of(session: Session, invoice: Invoice) -> list[InvoiceLine]:
    return list(
        session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice.id)
            .order_by(InvoiceLine.position)
        )
    )


def issue(
    session: Session, actor: Actor, invoice: Invoice, issue_date: date | None = None
) -> Invoice:
    """Compute VAT and totals, number the invoice and freeze it."""
    require_draft(invoice)
    table = InvoiceLine.__table__
    stored = session.execute(
        select(table.c.id, table.c.net, table.c.vat_rate, table.c.vat, table.c.gross)
        .where(table.c.invoice_id == invoice.id)
        .order_by(table.c.position)  # "the first of the largest" (``vat.spread_vat``)
    ).all()
    if not stored:
        raise ServiceError(_l("An invoice needs at least one line."))
    lines = [_Amounts(r.id, r.net, r.vat_rate) for r in stored]
    vat.spread_vat(lines)
    changed = [
        {"b_id": li.id, "b_vat": li.vat, "b_gross": li.gross}
        for li, row in zip(lines, stored, strict=True)
        if (li.vat, li.gross) != (row.vat, row.gross)
    ]
    if changed:  # the rounding differences: at most one line per rate after add_lines
        session.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(vat=bindparam("b_vat"), gross=bindparam("b_gross")),
            changed,
        )
    rates = vat.totals_by_rate(lines)
    invoice.total_net = sum((r.net for r in rates), Decimal("0"))
    invoice.total_vat = sum((r.vat for r in rates), Decimal("0"))
    invoice.total_gross = invoice.total_net + invoice.total_vat
    session.flush()  # lines and totals written while the invoice is still a draft
    issue_date = issue_date or utcnow().date()
    invoice.issue_date = issue_date
    invoice.sale_date = invoice.period_end if invoice.kind == InvoiceKind.invoice else issue_date
    invoice.due_date = issue_date + timedelta(days=PAYMENT_DAYS)
    invoice.year = issue_date.year
    invoice.seq = next_number(session, invoice.series, invoice.year)
    invoice.number = number_text(invoice.series, invoice.year, invoice.seq)
    invoice.state = InvoiceState.issued
    invoice.issued_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "invoice.issued",
        customer_id=invoice.customer_id,
        obj=invoice,
        after={"number": invoice.number, "gross": str(invoice.total_gross)},
    )
    return invoice


def correct(
    session: Session,
    actor: Actor,
    original: Invoice,
    reason: str,
    differences: list[ChargeLine],
    issue_date: date | None = None,
    seller: OperatorParty | None = None,
) -> Invoice:
    """Issue a correction of ``original`` whose lines carry the differences (negative: credit).
    The seller is ``seller`` as configured now, or the original's when None."""
    if original.state != InvoiceState.issued:
        raise ServiceError(_l("Only an issued invoice can be corrected."))
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_l("Give the reason for the correction."), field="reason")
    if not differences:
        raise ServiceError(_l("A correction needs at least one changed line."))
    customer = session.get(Customer, original.customer_id)
    draft = new_draft(
        session,
        customer,
        original.period_start,
        original.period_end,
        kind=InvoiceKind.correction,
        contract_version_id=original.contract_version_id,
        corrects_id=original.id,
        seller=seller,
    )
    draft.correction_reason = reason[:500]
    draft.buyer = dict(original.buyer)
    if seller is None:
        draft.seller = dict(original.seller)
    add_lines(session, draft, differences)
    return issue(session, actor, draft, issue_date)


def credit_lines(session: Session, original: Invoice, line_ids: list[int]) -> list[ChargeLine]:
    """Differences that take back the given lines of ``original`` in full."""
    wanted = set(line_ids)
    out = []
    for li in lines_of(session, original):
        if li.id in wanted:
            out.append(
                ChargeLine(
                    category=li.category,
                    group_key=li.group_key,
                    description=li.description,
                    quantity=-li.quantity,
                    unit_price=li.unit_price,
                    net=-li.net,
                    vat_rate=li.vat_rate,
                    measure=li.measure,
                    unit_id=li.unit_id,
                    unit_name=li.unit_name,
                    cost_centre=li.cost_centre,
                    line_id=li.line_id,
                    msisdn=li.msisdn,
                    employee_name=li.employee_name,
                    period_from=li.period_from,
                    period_to=li.period_to,
                    source=f"corrects:{li.id}",
                )
            )
    if len(out) != len(wanted):
        raise ServiceError(_l("Choose lines of the invoice being corrected."))
    return out
