"""Invoices: numbered documents per customer and month, their lines, corrections, payments,
and the billing runs that produce them.

- ``InvoiceCounter`` holds the last number given in a series and year. Issuing takes the row
  with a guarded ``UPDATE … RETURNING`` (a row lock on PostgreSQL; SQLite's ``BEGIN
  IMMEDIATE`` serialises writers), so numbers are gapless: a rolled-back issue rolls the
  counter back with it. ``UNIQUE(series, year, seq)`` and ``UNIQUE(number)`` back it up.
- An issued invoice never changes: the service refuses, and database triggers (migration
  0011) refuse updates of its amounts, parties and number and any change of its lines.
  Payments, the KSeF fields and the paid amount stay writable.
- A correction ("faktura korygująca") is a new invoice (kind ``correction``) pointing to the
  original; its lines carry the differences (negative to credit).
- One regular invoice per customer and month (a partial unique index), and one billing run
  per customer and month: running the billing twice issues nothing twice.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, UTCDateTime, utcnow

Money = Numeric(12, 2)


def _enum(cls, name: str):
    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=20)


class InvoiceState(enum.StrEnum):
    draft = "draft"
    issued = "issued"


INVOICE_TRANSITIONS: dict[InvoiceState, set[InvoiceState]] = {
    InvoiceState.draft: {InvoiceState.issued},
    InvoiceState.issued: set(),
}


class InvoiceKind(enum.StrEnum):
    invoice = "invoice"
    correction = "correction"


class KsefStatus(enum.StrEnum):
    not_sent = "not_sent"
    accepted = "accepted"
    rejected = "rejected"


class InvoiceCounter(Base):
    __tablename__ = "invoice_counter"
    __table_args__ = (
        UniqueConstraint("series", "year"),
        CheckConstraint("last_number >= 0", name="last_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column()
    last_number: Mapped[int] = mapped_column(default=0)


class Invoice(TimestampMixin, Base):
    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("series", "year", "seq"),
        Index("ix_invoice_customer_id_issue_date", "customer_id", "issue_date"),
        Index(
            "uq_invoice_one_per_customer_period",
            "customer_id",
            "period_start",
            unique=True,
            postgresql_where=text("kind = 'invoice'"),
            sqlite_where=text("kind = 'invoice'"),
        ),
        CheckConstraint(
            "state = 'draft' OR (number IS NOT NULL AND seq IS NOT NULL)", name="issued_numbered"
        ),
        CheckConstraint("kind = 'invoice' OR corrects_id IS NOT NULL", name="correction_refers"),
        CheckConstraint("period_end >= period_start", name="period_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[InvoiceKind] = mapped_column(
        _enum(InvoiceKind, "invoice_kind"), default=InvoiceKind.invoice
    )
    state: Mapped[InvoiceState] = mapped_column(
        _enum(InvoiceState, "invoice_state"), default=InvoiceState.draft
    )
    series: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column()
    seq: Mapped[int | None] = mapped_column()
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    correction_reason: Mapped[str | None] = mapped_column(String(500))
    contract_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_version.id", ondelete="SET NULL")
    )
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    issue_date: Mapped[date | None] = mapped_column()
    sale_date: Mapped[date | None] = mapped_column()
    due_date: Mapped[date | None] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    seller: Mapped[dict] = mapped_column(JSON, default=dict)
    buyer: Mapped[dict] = mapped_column(JSON, default=dict)
    total_net: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total_vat: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total_gross: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # Sum of the payments received (kept with them; see services.payments).
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ksef_status: Mapped[KsefStatus] = mapped_column(
        _enum(KsefStatus, "ksef_status"), default=KsefStatus.not_sent
    )
    ksef_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    ksef_error: Mapped[str | None] = mapped_column(String(500))
    ksef_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # SHA-256 (base64url) of the FA(3) document as sent: the verification QR code names it.
    ksef_hash: Mapped[str | None] = mapped_column(String(64))

    lines = relationship(
        "InvoiceLine", lazy="raise", order_by="InvoiceLine.position", back_populates="invoice"
    )
    corrects = relationship("Invoice", lazy="raise", remote_side=[id])


class InvoiceLine(Base):
    """One charge: a line's monthly fee for some days, an order item, usage, an adjustment."""

    __tablename__ = "invoice_line"
    __table_args__ = (
        UniqueConstraint("invoice_id", "position"),
        CheckConstraint("vat_rate >= 0 AND vat_rate <= 100", name="vat_rate_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    category: Mapped[str] = mapped_column(String(20))  # fee, one_off, usage, adjustment
    group_key: Mapped[str] = mapped_column(String(80))  # summary line: tariff / product code
    description: Mapped[str] = mapped_column(String(300))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id", ondelete="SET NULL"))
    unit_name: Mapped[str | None] = mapped_column(String(200))
    cost_centre: Mapped[str | None] = mapped_column(String(40))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("line.id", ondelete="SET NULL"))
    msisdn: Mapped[str | None] = mapped_column(String(16))
    # The number's employee when the charge was billed (NULL: billed before migration 0020).
    employee_name: Mapped[str | None] = mapped_column(String(200))
    measure: Mapped[str] = mapped_column(String(10), default="szt.")  # unit of measure
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    net: Mapped[Decimal] = mapped_column(Money)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    vat: Mapped[Decimal] = mapped_column(Money)
    gross: Mapped[Decimal] = mapped_column(Money)
    period_from: Mapped[date | None] = mapped_column()
    period_to: Mapped[date | None] = mapped_column()
    source: Mapped[str | None] = mapped_column(String(60))  # e.g. order_line:17

    invoice = relationship(Invoice, lazy="raise", back_populates="lines")


class Payment(Base):
    __tablename__ = "payment"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), index=True
    )
    paid_on: Mapped[date] = mapped_column()
    amount: Mapped[Decimal] = mapped_column(Money)
    reference: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RunStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class BillingRun(TimestampMixin, Base):
    """Billing of one customer for one month: at most one, whoever starts it and how often."""

    __tablename__ = "billing_run"
    __table_args__ = (
        UniqueConstraint("customer_id", "period_start"),
        Index("ix_billing_run_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column()
    status: Mapped[RunStatus] = mapped_column(
        _enum(RunStatus, "billing_run_status"), default=RunStatus.queued
    )
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requested_by: Mapped[str] = mapped_column(String(254), default="system")

    customer = relationship("Customer", lazy="raise")
    invoice = relationship(Invoice, lazy="raise")
