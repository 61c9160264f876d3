"""Invoices: gapless numbers, immutability (service and database), corrections, VAT per rate,
payments and their import."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError, IntegrityError

from models import Invoice, InvoiceLine, Payment
from services import ServiceError, invoices, payments, vat
from services.audit import Actor
from services.billing_period import Period
from tests.billing_factories import billing_customer
from tests.services.test_billing import ISSUE, run_for

NOV = Period.month(2026, 11)


def charge(net: str, rate: str = "23") -> invoices.ChargeLine:
    return invoices.ChargeLine(
        "adjustment", "x", "Opłata", Decimal(1), Decimal(net), Decimal(net), Decimal(rate)
    )


def test_vat_is_computed_per_rate_on_the_total_and_lines_reconcile():
    lines = [charge("0.02"), charge("0.02"), charge("0.02"), charge("10.00", "8")]
    vat.spread_vat(lines)
    # Per line 0.02 × 23 % = 0.0046 → 0.00 each; on the total 0.06 × 23 % = 0.0138 → 0.01.
    assert [r.vat for r in vat.totals_by_rate(lines)] == [Decimal("0.80"), Decimal("0.01")]
    assert sum(li.vat for li in lines if li.vat_rate == 23) == Decimal("0.01")
    assert all(li.gross == li.net + li.vat for li in lines)
    assert vat.tax(Decimal("0.50"), Decimal("23")) == Decimal("0.12")  # 0.115 half-up


def test_numbers_are_consecutive_and_a_rollback_leaves_no_gap(db):
    numbers = []
    for _ in range(3):
        customer, _t, _l = billing_customer(db, 1)
        numbers.append(run_for(db, customer).seq)
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]
    customer, _t, _l = billing_customer(db, 1)
    savepoint = db.begin_nested()
    run_for(db, customer, Period.month(2026, 10))
    savepoint.rollback()  # the issue failed after taking a number
    customer2, _t, _l = billing_customer(db, 1)
    assert run_for(db, customer2).seq == numbers[-1] + 1


def test_an_issued_invoice_cannot_change(db):
    customer, _t, _l = billing_customer(db, 2)
    invoice = run_for(db, customer)
    with pytest.raises(ServiceError):
        invoices.add_lines(db, invoice, [charge("1.00")])
    with pytest.raises(ServiceError):
        invoices.issue(db, Actor.system(), invoice)
    # The database refuses too, whatever the code does.
    with pytest.raises(DatabaseError), db.begin_nested():
        db.execute(
            update(Invoice).where(Invoice.id == invoice.id).values(total_gross=Decimal("1.00"))
        )
    with pytest.raises(DatabaseError), db.begin_nested():
        db.execute(
            update(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).values(net=Decimal("0"))
        )
    with pytest.raises(DatabaseError), db.begin_nested():
        db.execute(update(Invoice).where(Invoice.id == invoice.id).values(number="FV/1/1"))
    # What may change: payments received, the KSeF outcome.
    db.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id)
        .values(paid_amount=Decimal("1.00"), ksef_error="x")
    )
    db.expire_all()
    assert db.get(Invoice, invoice.id).total_gross > Decimal("1.00")


def test_correction_is_a_new_document_with_the_differences(db):
    customer, _t, _l = billing_customer(db, 3, fee="100.00")
    original = run_for(db, customer)
    first = invoices.lines_of(db, original)[0]
    kor = invoices.correct(
        db,
        Actor.system(),
        original,
        "Błędna stawka",
        invoices.credit_lines(db, original, [first.id]),
        issue_date=ISSUE + timedelta(days=2),
    )
    assert kor.id != original.id and kor.corrects_id == original.id
    assert kor.number.startswith("FK/2026/")
    assert (kor.total_net, kor.total_vat, kor.total_gross) == (
        Decimal("-100.00"),
        Decimal("-23.00"),
        Decimal("-123.00"),
    )
    db.expire_all()
    assert db.get(Invoice, original.id).total_net == Decimal("300.00")  # untouched
    with pytest.raises(ServiceError):
        invoices.correct(
            db, Actor.system(), original, "  ", invoices.credit_lines(db, original, [first.id])
        )
    with pytest.raises(ServiceError):
        invoices.credit_lines(db, original, [first.id, 10**9])


def _csv(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def test_payment_import_is_all_or_nothing_with_errors_per_row(db):
    customer, _t, _l = billing_customer(db, 2, fee="50.00")
    invoice = run_for(db, customer)  # 123.00 gross
    data = _csv(
        "numer faktury;data;kwota",
        f"{invoice.number};2026-12-02;100,00",
        "FV/1999/000001;2026-12-02;10",
        f"{invoice.number};32.12.2026;10",
        f"{invoice.number};2026-12-03;abc",
        f"{invoice.number};2026-12-03;-5",
        f"{invoice.number};2026-12-03;30.00",  # 100 + 30 > 123
        "only;two",
    )
    count, errors = payments.import_payments(db, Actor.system(), data)
    assert count == 0
    assert [e.row for e in errors] == [3, 4, 5, 6, 7, 8]
    assert "FV/1999/000001" in str(errors[0].message)
    assert db.scalar(select(Payment).where(Payment.invoice_id == invoice.id)) is None
    db.refresh(invoice)
    assert invoice.paid_amount == 0


def test_payments_settle_an_invoice(db):
    customer, _t, _l = billing_customer(db, 2, fee="50.00")
    invoice = run_for(db, customer)
    assert payments.status(invoice, invoice.due_date) == payments.PaymentStatus.due
    assert (
        payments.status(invoice, invoice.due_date + timedelta(days=1))
        == payments.PaymentStatus.overdue
    )
    count, errors = payments.import_payments(
        db,
        Actor.system(),
        _csv(f"{invoice.number},2026-12-02,100.00", f"{invoice.number},03.12.2026,23"),
    )
    assert (count, errors) == (2, [])
    assert invoice.paid_amount == Decimal("123.00") and payments.balance(invoice) == 0
    assert payments.status(invoice, date(2027, 1, 1)) == payments.PaymentStatus.paid
    paid = db.scalars(
        select(Invoice.id).where(
            Invoice.customer_id == customer.id,
            payments.status_filter(payments.PaymentStatus.paid, date(2027, 1, 1)),
        )
    ).all()
    assert paid == [invoice.id]


def test_counter_rows_are_unique_per_series_and_year(db):
    invoices.next_number(db, "TS", 2030)
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            text("INSERT INTO invoice_counter (series, year, last_number) VALUES ('TS', 2030, 5)")
        )
    assert invoices.next_number(db, "TS", 2030) == 2
