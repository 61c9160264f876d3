"""Payments: what was paid against an invoice, its status, and the bank-statement import.

Status of an issued invoice on a day: **paid** when the payments cover the gross amount (a
correction with a negative amount is settled by definition), **overdue** when unpaid after the
due date, **due** otherwise. The balance is gross minus paid.

The import reads CSV rows ``invoice number, date (YYYY-MM-DD or DD.MM.YYYY), amount`` (comma
or semicolon separated, decimal point or comma, an optional header row). It is all or
nothing: every row is checked first, and a file with any error records no payment and answers
with each row's error.
"""

from __future__ import annotations

import csv
import enum
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import Invoice, InvoiceState, Payment
from models.base import utcnow
from services import ServiceError, audit
from services.audit import Actor
from services.billing_period import local_date

MAX_ROWS = 10_000
MAX_BYTES = 2_000_000
ZERO = Decimal("0")


class PaymentStatus(enum.StrEnum):
    paid = "paid"
    due = "due"
    overdue = "overdue"


def balance(invoice: Invoice) -> Decimal:
    return invoice.total_gross - invoice.paid_amount


def status(invoice: Invoice, today: date) -> PaymentStatus:
    if balance(invoice) <= 0:
        return PaymentStatus.paid
    if invoice.due_date and invoice.due_date < today:
        return PaymentStatus.overdue
    return PaymentStatus.due


def status_filter(state: PaymentStatus, today: date):
    """A WHERE clause selecting invoices in ``state`` on ``today``."""
    unpaid = Invoice.total_gross > Invoice.paid_amount
    if state == PaymentStatus.paid:
        return ~unpaid
    if state == PaymentStatus.overdue:
        return unpaid & (Invoice.due_date < today)
    return unpaid & (Invoice.due_date >= today)


@dataclass(frozen=True)
class RowError:
    row: int
    message: object  # lazy translatable text


@dataclass(frozen=True)
class ParsedRow:
    row: int
    number: str
    paid_on: date
    amount: Decimal


def _date(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _amount(text: str) -> Decimal:
    text = text.strip().replace("\u00a0", "").replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    value = Decimal(text)
    if not value.is_finite() or value.as_tuple().exponent < -2:
        raise InvalidOperation(text)
    return value


def _rows(data: bytes) -> list[list[str]]:
    if len(data) > MAX_BYTES:
        raise ServiceError(_l("The file is too large."), field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ServiceError(_l("The file must be UTF-8 encoded CSV."), field="file") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    rows = [
        r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)
    ]
    if not rows:
        raise ServiceError(_l("The file has no rows."), field="file")
    if len(rows) > MAX_ROWS + 1:
        raise ServiceError(_l("At most %(n)d rows in one file.", n=MAX_ROWS), field="file")
    return rows


def check(session: Session, data: bytes) -> tuple[list[ParsedRow], list[RowError], dict]:
    """Parse and check every row; nothing changes. Returns rows, errors, invoices by number."""
    rows = _rows(data)
    start = 1
    head = [c.strip().lower() for c in rows[0]]
    if head and head[0] in ("invoice", "invoice number", "numer faktury", "faktura", "numer"):
        start = 2
        rows = rows[1:]
    parsed: list[ParsedRow] = []
    errors: list[RowError] = []
    for n, raw in enumerate(rows, start=start):
        if len(raw) != 3:
            errors.append(RowError(n, _l("Expected 3 columns: invoice number, date, amount.")))
            continue
        number, when, amount = (c.strip() for c in raw)
        try:
            paid_on = _date(when)
        except ValueError:
            errors.append(
                RowError(n, _l("The date %(value)s is not a date (YYYY-MM-DD).", value=when[:20]))
            )
            continue
        try:
            value = _amount(amount)
        except (InvalidOperation, ValueError):
            errors.append(
                RowError(n, _l("The amount %(value)s is not an amount.", value=amount[:20]))
            )
            continue
        if value <= 0:
            errors.append(RowError(n, _l("The amount must be greater than zero.")))
            continue
        parsed.append(ParsedRow(n, number, paid_on, value))
    numbers = {p.number for p in parsed}
    found = (
        {
            inv.number: inv
            for inv in session.scalars(
                select(Invoice).where(
                    Invoice.number.in_(numbers), Invoice.state == InvoiceState.issued
                )
            )
        }
        if numbers
        else {}
    )
    still_due: dict[str, Decimal] = {num: balance(inv) for num, inv in found.items()}
    good = []
    for p in parsed:
        invoice = found.get(p.number)
        if invoice is None:
            errors.append(
                RowError(
                    p.row, _l("No issued invoice has the number %(number)s.", number=p.number[:40])
                )
            )
        elif p.paid_on < invoice.issue_date:
            errors.append(RowError(p.row, _l("The payment date is before the invoice was issued.")))
        elif p.paid_on > local_date(utcnow()):
            errors.append(RowError(p.row, _l("The payment date is in the future.")))
        elif p.amount > still_due[p.number]:
            errors.append(
                RowError(
                    p.row,
                    _l("The amount exceeds what is left to pay on %(number)s.", number=p.number),
                )
            )
        else:
            still_due[p.number] -= p.amount
            good.append(p)
    errors.sort(key=lambda e: e.row)
    return good, errors, found


def import_payments(session: Session, actor: Actor, data: bytes) -> tuple[int, list[RowError]]:
    """Record every payment of the file, or none: (payments recorded, errors)."""
    rows, errors, invoices = check(session, data)
    if errors:
        return 0, errors
    for p in rows:
        invoice = invoices[p.number]
        session.add(
            Payment(
                invoice_id=invoice.id,
                paid_on=p.paid_on,
                amount=p.amount,
                reference=f"import row {p.row}",
            )
        )
        invoice.paid_amount += p.amount
    session.flush()
    audit.record(
        session,
        actor,
        "payments.imported",
        after={"payments": len(rows), "total": str(sum((p.amount for p in rows), ZERO))},
    )
    return len(rows), []


def payments_of(session: Session, invoice: Invoice) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.invoice_id == invoice.id)
            .order_by(Payment.paid_on, Payment.id)
        )
    )
