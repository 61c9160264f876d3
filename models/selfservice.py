"""Employee self-service: the rules a fleet administrator sets per unit (inherited down the
tree), what employees ask for within or beyond them, and changes scheduled for later (the end
of a roaming period)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin, UTCDateTime


def _enum(cls, name: str):
    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=20)


class PolicyRule(TimestampMixin, Base):
    """One rule a unit sets for itself and everything under it (the top unit's rules are the
    company-wide default). A rule absent here is inherited; ``value`` is JSON whose shape the
    rule's definition in ``services.policies`` gives (amounts as decimal strings)."""

    __tablename__ = "policy_rule"
    __table_args__ = (UniqueConstraint("unit_id", "rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(40))
    value: Mapped[object] = mapped_column(JSON, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(254))


class RequestKind(enum.StrEnum):
    service = "service"  # a service on or off
    roaming = "roaming"  # roaming on for a period, in a zone
    exchange = "exchange"  # a new handset


class SelfServiceState(enum.StrEnum):
    """What became of an employee's request. ``pending``: waiting for a fleet admin."""

    pending = "pending"
    approved = "approved"  # approved and carried on (provisioning, schedule or order)
    rejected = "rejected"
    done = "done"  # within the policy: carried on at once
    refused = "refused"  # outside the policy, not allowed at all (kept for the admin's view)
    cancelled = "cancelled"


SELFSERVICE_TRANSITIONS: dict[SelfServiceState, set[SelfServiceState]] = {
    SelfServiceState.pending: {
        SelfServiceState.approved,
        SelfServiceState.rejected,
        SelfServiceState.cancelled,
    },
    SelfServiceState.approved: set(),
    SelfServiceState.rejected: set(),
    SelfServiceState.done: set(),
    SelfServiceState.refused: set(),
    SelfServiceState.cancelled: set(),
}


class SelfServiceRequest(TimestampMixin, Base):
    """What an employee asked for on a line. ``params``: service + on; zone + start + end
    (Warsaw dates, end inclusive); product_id + price + employee_pays."""

    __tablename__ = "selfservice_request"
    __table_args__ = (
        Index("ix_selfservice_request_customer_id_state", "customer_id", "state"),
        Index("ix_selfservice_request_line_id_id", "line_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id", ondelete="CASCADE"))
    # Denormalised from the line when asked, so an admin's subtree is one range.
    unit_path: Mapped[str] = mapped_column(String(400))
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_user.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[RequestKind] = mapped_column(_enum(RequestKind, "selfservice_kind"))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[SelfServiceState] = mapped_column(
        _enum(SelfServiceState, "selfservice_state"), default=SelfServiceState.pending
    )
    reason: Mapped[str | None] = mapped_column(String(500))  # refusal rule or rejection reason
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_user.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    start_date: Mapped[date | None] = mapped_column(Date())  # roaming
    end_date: Mapped[date | None] = mapped_column(Date())  # roaming, inclusive
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_order.id", ondelete="SET NULL")
    )


class ScheduleState(enum.StrEnum):
    scheduled = "scheduled"
    fired = "fired"  # its provisioning request exists
    cancelled = "cancelled"


class ScheduledChange(TimestampMixin, Base):
    """A network change to request at ``due_at`` (UTC). Kept in the database, so it survives
    worker and Redis restarts; the periodic sweep turns due ones into provisioning requests,
    once each (a conditional update claims the row)."""

    __tablename__ = "scheduled_change"
    __table_args__ = (Index("ix_scheduled_change_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id", ondelete="CASCADE"), index=True)
    selfservice_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("selfservice_request.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(30))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[ScheduleState] = mapped_column(
        _enum(ScheduleState, "schedule_state"), default=ScheduleState.scheduled
    )
    provisioning_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("provisioning_request.id", ondelete="SET NULL")
    )
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requested_by: Mapped[str] = mapped_column(String(254))
