"""Monthly report subscriptions and their deliveries.

A fleet administrator subscribes to one report (the usage report in a grouping, or the SIM
configuration) in one format. On the first days of each month the periodic job delivers the
previous month once: the ``(subscription, month)`` key of ``ReportDelivery`` is what makes a
repeated run, or two schedulers at once, send nothing twice.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class ReportSubscription(TimestampMixin, Base):
    __tablename__ = "report_subscription"
    __table_args__ = (UniqueConstraint("portal_user_id", "report", "group_by", "fmt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    # The report is made within this user's scope at the time of sending.
    portal_user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id", ondelete="CASCADE"))
    report: Mapped[str] = mapped_column(String(10))  # usage | sim
    group_by: Mapped[str] = mapped_column(String(10))  # usage: line|unit|tariff|employee; sim: -
    fmt: Mapped[str] = mapped_column(String(5))  # csv | xlsx | pdf


class ReportDelivery(Base):
    __tablename__ = "report_delivery"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("report_subscription.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the month
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("background_task.id", ondelete="SET NULL")
    )
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_mail.id", ondelete="SET NULL"))
