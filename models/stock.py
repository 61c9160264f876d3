"""Warehouse stock: levels per product and warehouse, receipts, and expected deliveries.

``on_hand`` counts units in the warehouse; ``reserved`` the units allocated to order lines and
not yet shipped. The database holds the invariant ``0 <= reserved <= on_hand``: stock can never
go negative and never be allocated twice, whatever the number of workers. A receipt carries
the warehouse document's number and the line of that document; ``(reference, line_no)`` is
unique whatever the channel (console form, file, the ERP's push), so the same delivery reported
three times, or through two channels, adds stock once, while a delivery note with the same
product on two lines adds both.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, UTCDateTime, utcnow


class Warehouse(TimestampMixin, Base):
    __tablename__ = "warehouse"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # Allocation takes stock from warehouses in this order.
    priority: Mapped[int] = mapped_column(default=100)
    is_active: Mapped[bool] = mapped_column(default=True)


class StockLevel(Base):
    __tablename__ = "stock_level"
    __table_args__ = (
        UniqueConstraint("product_id", "warehouse_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    warehouse = relationship(Warehouse, lazy="joined")

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockReceipt(Base):
    __tablename__ = "stock_receipt"
    __table_args__ = (
        UniqueConstraint("reference", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("line_no > 0", name="line_no_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    quantity: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(20))  # the channel that reported it first
    reference: Mapped[str] = mapped_column(String(80))  # delivery note / ERP document number
    line_no: Mapped[int] = mapped_column(default=1, server_default="1")  # line of the document
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    received_by: Mapped[str] = mapped_column(String(254))
    # Set when the drain that serves the back-order queue has run after this receipt.
    drained_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StockExpectation(TimestampMixin, Base):
    """A delivery the warehouse expects: shown to customers waiting for the product."""

    __tablename__ = "stock_expectation"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    quantity: Mapped[int] = mapped_column()
    expected_on: Mapped[date] = mapped_column()
    reference: Mapped[str | None] = mapped_column(String(80))
    is_open: Mapped[bool] = mapped_column(default=True)
