"""Framework agreements with individual terms, versioned by amendment.

``Contract`` is the agreement (number, customer, state); its terms live in ``ContractVersion``
rows: the first version and one per amendment, each effective from a date. Earlier versions stay
as they were; invoices and orders refer to the version in force. At most one contract per
customer is active at a time: a partial unique index enforces it on both databases.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
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

from models.base import Base, TimestampMixin, UTCDateTime
from models.catalog import ProductKind

Money = Numeric(12, 2)


class ContractState(enum.StrEnum):
    draft = "draft"
    active = "active"
    expired = "expired"
    terminated = "terminated"


CONTRACT_TRANSITIONS: dict[ContractState, set[ContractState]] = {
    ContractState.draft: {ContractState.active, ContractState.terminated},
    ContractState.active: {ContractState.expired, ContractState.terminated},
    ContractState.expired: set(),
    ContractState.terminated: set(),
}


class Contract(TimestampMixin, Base):
    __tablename__ = "contract"
    __table_args__ = (
        Index(
            "uq_contract_one_active_per_customer",
            "customer_id",
            unique=True,
            postgresql_where=text("state = 'active'"),
            sqlite_where=text("state = 'active'"),
        ),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[ContractState] = mapped_column(
        Enum(
            ContractState,
            name="contract_state",
            native_enum=False,
            create_constraint=True,
            length=20,
        ),
        default=ContractState.draft,
    )
    valid_from: Mapped[date] = mapped_column()
    valid_to: Mapped[date | None] = mapped_column()
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )

    customer = relationship("Customer", lazy="raise")
    versions = relationship(
        "ContractVersion",
        lazy="raise",
        order_by="ContractVersion.number",
        back_populates="contract",
    )


class ContractVersion(TimestampMixin, Base):
    """The terms of a contract from ``effective_from`` until the next version takes over."""

    __tablename__ = "contract_version"
    __table_args__ = (
        UniqueConstraint("contract_id", "number"),
        CheckConstraint(
            "approval_threshold IS NULL OR approval_threshold >= 0", name="threshold_not_negative"
        ),
        CheckConstraint("subsidy_budget >= 0", name="subsidy_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()  # 1 = the original, 2… = amendments
    effective_from: Mapped[date] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)  # what the amendment changed, in words
    # Handset subsidy budget for the whole contract period (net PLN).
    subsidy_budget: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # Orders above this net value wait for the customer's approver; None: no approval needed.
    approval_threshold: Mapped[Decimal | None] = mapped_column(Money)
    repair_time_hours: Mapped[int | None] = mapped_column()
    response_time_hours: Mapped[int | None] = mapped_column()
    # A discount on everything of a kind not priced individually (percent).
    tariff_discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    handset_discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    accessory_discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )

    contract = relationship(Contract, lazy="raise", back_populates="versions")
    items = relationship(
        "ContractItem", lazy="raise", order_by="ContractItem.id", cascade="all, delete-orphan"
    )


class ContractItem(Base):
    """One thing the customer may order under a version, with its individual price or discount.

    Exactly one of ``tariff_id`` / ``product_id`` is set. No price and no discount: the list
    price less the version's discount for that kind.
    """

    __tablename__ = "contract_item"
    __table_args__ = (
        CheckConstraint("(tariff_id IS NULL) <> (product_id IS NULL)", name="one_target"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
        CheckConstraint(
            "discount_percent IS NULL OR (discount_percent >= 0 AND discount_percent <= 100)",
            name="discount_range",
        ),
        UniqueConstraint("version_id", "tariff_id"),
        UniqueConstraint("version_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("contract_version.id", ondelete="CASCADE"), index=True
    )
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariff_plan.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    price: Mapped[Decimal | None] = mapped_column(Money)
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))

    tariff = relationship("TariffPlan", lazy="raise")
    product = relationship("Product", lazy="raise")


# Re-exported for callers that group items by kind.
__all__ = [
    "CONTRACT_TRANSITIONS",
    "Contract",
    "ContractItem",
    "ContractState",
    "ContractVersion",
    "ProductKind",
]
