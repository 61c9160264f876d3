"""What the operator sells: tariff plans and products (handsets, accessories, add-ons)."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin

Money = Numeric(12, 2)


class TariffPlan(TimestampMixin, Base):
    __tablename__ = "tariff_plan"
    __table_args__ = (CheckConstraint("monthly_fee >= 0", name="fee_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    monthly_fee: Mapped[Decimal] = mapped_column(Money)
    # None means unlimited.
    included_minutes: Mapped[int | None] = mapped_column()
    included_sms: Mapped[int | None] = mapped_column()
    included_data_mb: Mapped[int | None] = mapped_column()
    valid_from: Mapped[date | None] = mapped_column()
    valid_to: Mapped[date | None] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<TariffPlan {self.code}>"


class ProductKind(enum.StrEnum):
    handset = "handset"
    accessory = "accessory"
    addon = "addon"


class Product(TimestampMixin, Base):
    __tablename__ = "product"
    __table_args__ = (CheckConstraint("list_price >= 0", name="price_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[ProductKind] = mapped_column(
        Enum(ProductKind, name="product_kind", native_enum=False, create_constraint=True, length=20)
    )
    manufacturer: Mapped[str | None] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(160))
    list_price: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[date | None] = mapped_column()
    valid_to: Mapped[date | None] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"
