"""Spend alerts: which thresholds of a line's monthly limit (or of its roaming spend cap) have
been announced this month. One row per line, month and threshold — the unique key makes the
evaluation idempotent across runs, workers and restarts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin

# Thresholds in percent of the line's monthly limit, and the roaming cap.
LIMIT_THRESHOLDS = (50, 80, 100)
ROAMING_CAP = "roaming_cap"


class SpendAlert(TimestampMixin, Base):
    """``kind``: "50", "80", "100" (projected month-end spend against the line's limit) or
    "roaming_cap" (the month's roaming charges against the policy's cap). ``mailed``: this row
    is what was told (a jump over several thresholds at once is told once, for the highest).
    ``roaming_off_request_id``: the provisioning request that switched roaming off, if any."""

    __tablename__ = "spend_alert"
    __table_args__ = (
        UniqueConstraint("line_id", "month", "kind"),
        Index("ix_spend_alert_customer_id_created_at", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id", ondelete="CASCADE"))
    # Denormalised from the line, so an admin's subtree is one range.
    unit_path: Mapped[str] = mapped_column(String(400))
    month: Mapped[date] = mapped_column(Date())  # the 1st of the month, Europe/Warsaw
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # projected spend, or roaming charges
    limit: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # the line's limit, or the cap
    mailed: Mapped[bool] = mapped_column(default=True)
    roaming_off_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("provisioning_request.id", ondelete="SET NULL")
    )
