"""E-mail waiting to leave, and what happened to it. The row is the truth; the job only sends."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin, UTCDateTime


class MailStatus(enum.StrEnum):
    queued = "queued"
    sent = "sent"
    failed = "failed"


class OutgoingMail(TimestampMixin, Base):
    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL"), index=True
    )
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_template.id", ondelete="SET NULL")
    )
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[MailStatus] = mapped_column(
        Enum(MailStatus, name="mail_status", native_enum=False, create_constraint=True, length=10),
        default=MailStatus.queued,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A sender holds the row until this time; another sender waits, so a mail leaves once
    # unless a sender dies between handing it to SMTP and recording it.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MailTemplate(TimestampMixin, Base):
    """A message account managers start from; placeholders like ``{customer_name}``."""

    __tablename__ = "mail_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
