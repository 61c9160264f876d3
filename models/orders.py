"""Orders, their lines, allocations of stock to lines, and the pool of numbers to activate.

Order states follow TM Forum ProductOrder: acknowledged → (pending approval) → inProgress →
partial / completed, or cancelled, failed. TM Forum's ``held`` is not used: nothing here stops
an order that has gone ahead and waits for someone to let it go on — an order that needs a
decision waits *before* it goes ahead (``pending``, for the customer's approver), a rejected
one is cancelled, and a position short of stock waits in its queue while the order is
``inProgress``. A line that needs stock joins the back-order
queue of its product when the order is released; ``queued_at, id`` is its place (strict FIFO).
``allocated_qty`` may grow in parts; the database keeps it within ``quantity``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, UTCDateTime, utcnow

Money = Numeric(12, 2)


def _enum(cls, name: str):
    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=20)


class OrderState(enum.StrEnum):
    acknowledged = "acknowledged"
    pending = "pending"  # waiting for the customer's approver
    inProgress = "inProgress"
    partial = "partial"
    completed = "completed"
    cancelled = "cancelled"
    failed = "failed"


ORDER_TRANSITIONS: dict[OrderState, set[OrderState]] = {
    OrderState.acknowledged: {
        OrderState.pending,
        OrderState.inProgress,
        OrderState.cancelled,
        OrderState.failed,
    },
    OrderState.pending: {OrderState.inProgress, OrderState.cancelled},
    OrderState.inProgress: {
        OrderState.partial,
        OrderState.completed,
        OrderState.cancelled,
        OrderState.failed,
    },
    OrderState.partial: {OrderState.completed, OrderState.cancelled, OrderState.failed},
    OrderState.completed: set(),
    OrderState.cancelled: set(),
    OrderState.failed: set(),
}


class LineKind(enum.StrEnum):
    activation = "activation"  # a new line: tariff, unit, employee, number
    handset = "handset"
    accessory = "accessory"
    exchange = "exchange"  # a new handset for an existing line


class OrderLineState(enum.StrEnum):
    acknowledged = "acknowledged"  # placed, order not yet released (e.g. awaiting approval)
    waiting = "waiting"  # in the back-order queue of its product
    allocated = "allocated"  # all units reserved
    inProgress = "inProgress"  # activation being provisioned
    completed = "completed"  # shipped / activated
    cancelled = "cancelled"
    failed = "failed"


class Order(TimestampMixin, Base):
    __tablename__ = "customer_order"
    __table_args__ = (
        Index("ix_customer_order_customer_id_created_at", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    state: Mapped[OrderState] = mapped_column(
        _enum(OrderState, "order_state"), default=OrderState.acknowledged
    )
    placed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_user.id", ondelete="SET NULL"), index=True
    )
    placed_by_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(10), default="portal")  # portal | console
    contract_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_version.id", ondelete="SET NULL")
    )
    total_net: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    requires_approval: Mapped[bool] = mapped_column(default=False)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_user.id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    delivery_address: Mapped[dict | None] = mapped_column(JSON)

    lines = relationship("OrderLine", lazy="raise", order_by="OrderLine.id", back_populates="order")


class OrderLine(TimestampMixin, Base):
    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "allocated_qty >= 0 AND allocated_qty <= quantity", name="allocated_within_quantity"
        ),
        CheckConstraint(
            "shipped_qty >= 0 AND shipped_qty <= allocated_qty", name="shipped_within_allocated"
        ),
        # The back-order queue of a product, oldest first.
        Index("ix_order_line_queue", "product_id", "state", "queued_at", "id"),
        Index("ix_order_line_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[LineKind] = mapped_column(_enum(LineKind, "order_line_kind"))
    state: Mapped[OrderLineState] = mapped_column(
        _enum(OrderLineState, "order_line_state"), default=OrderLineState.acknowledged
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariff_plan.id"))
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("line.id", ondelete="SET NULL"), index=True
    )
    quantity: Mapped[int] = mapped_column(default=1)
    allocated_qty: Mapped[int] = mapped_column(default=0)
    shipped_qty: Mapped[int] = mapped_column(default=0)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    list_price: Mapped[Decimal] = mapped_column(Money)
    # Activation details: unit_id, employee (name, email, position), msisdn or port_from…
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_reason: Mapped[str | None] = mapped_column(String(500))

    order = relationship(Order, lazy="raise", back_populates="lines")

    @property
    def waiting_qty(self) -> int:
        return self.quantity - self.allocated_qty


class Allocation(Base):
    """Units of one stock level reserved for one order line by one drain or placement."""

    __tablename__ = "allocation"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # The few allocations whose order has not been told yet (see ``notified_at``).
        Index(
            "ix_allocation_unnotified",
            "order_line_id",
            postgresql_where=text("notified_at IS NULL"),
            sqlite_where=text("notified_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(
        ForeignKey("order_line.id", ondelete="CASCADE"), index=True
    )
    stock_level_id: Mapped[int] = mapped_column(ForeignKey("stock_level.id"), index=True)
    quantity: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # cancelled: returned
    # Set when the order has recorded the allocation and whoever ordered has been e-mailed;
    # drains do that in batches after their commits, the back-order sweep after a killed drain.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NumberStatus(enum.StrEnum):
    free = "free"
    reserved = "reserved"
    assigned = "assigned"


class PoolNumber(Base):
    """A number the operator can give to a new line."""

    __tablename__ = "pool_number"
    __table_args__ = (Index("ix_pool_number_status_msisdn", "status", "msisdn"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[NumberStatus] = mapped_column(
        _enum(NumberStatus, "number_status"), default=NumberStatus.free
    )
    order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_line.id", ondelete="SET NULL")
    )
    is_golden: Mapped[bool] = mapped_column(default=False)  # easy to remember
