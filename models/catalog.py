"""What the operator sells: tariff plans and products (handsets, accessories, add-ons)."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin

Money = Numeric(12, 2)
Rate = Numeric(10, 4)  # per minute, message or MB


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
    description: Mapped[str | None] = mapped_column(Text)
    # Rates beyond what is included (net PLN): per minute, per message, per MB.
    rate_voice_domestic: Mapped[Decimal] = mapped_column(Rate, server_default="0.29")
    rate_sms_domestic: Mapped[Decimal] = mapped_column(Rate, server_default="0.20")
    rate_mms_domestic: Mapped[Decimal] = mapped_column(Rate, server_default="0.40")
    rate_data_domestic_mb: Mapped[Decimal] = mapped_column(Rate, server_default="0.01")
    rate_voice_eu: Mapped[Decimal] = mapped_column(Rate, server_default="0.29")
    rate_data_eu_mb: Mapped[Decimal] = mapped_column(Rate, server_default="0.01")
    rate_voice_world: Mapped[Decimal] = mapped_column(Rate, server_default="6.99")
    rate_sms_world: Mapped[Decimal] = mapped_column(Rate, server_default="1.29")
    rate_data_world_mb: Mapped[Decimal] = mapped_column(Rate, server_default="15.00")
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
    # A picture in the file store (relative path), shown in the console and the shop.
    photo_path: Mapped[str | None] = mapped_column(String(300))
    valid_from: Mapped[date | None] = mapped_column()
    valid_to: Mapped[date | None] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"
