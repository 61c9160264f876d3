"""Service requests ("zgłoszenia serwisowe"): a repair, a SIM replacement, a billing question…
that a customer raises with the operator, optionally about one line, with notes on the way.

States follow the TM Forum trouble-ticket vocabulary (TMF621). The allowed transitions:

    acknowledged ──► inProgress ──► resolved ──► closed
         │               │  ▲           │
         │               ▼  │           ▼
         └──────────► cancelled     inProgress (reopened: the fix did not hold)

- acknowledged: received, nobody works on it yet (the "new" request);
- inProgress: the operator works on it;
- resolved: the operator says it is done; the customer may still reopen it through staff;
- closed: done for good; cancelled: withdrawn or not to be done. Both are final.

``acknowledged`` may go straight to ``resolved`` (a question answered at once). A request is
open while acknowledged or in progress; it is overdue when open past ``due_at``, which is fixed
when it is opened from the service-level terms of the customer's contract (see
services/service_requests.py).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, UTCDateTime, utcnow


class ServiceRequestCategory(enum.StrEnum):
    repair = "repair"
    sim_replacement = "sim_replacement"
    billing = "billing"
    other = "other"


class ServiceRequestState(enum.StrEnum):
    acknowledged = "acknowledged"
    inProgress = "inProgress"
    resolved = "resolved"
    closed = "closed"
    cancelled = "cancelled"


SERVICE_REQUEST_TRANSITIONS: dict[ServiceRequestState, set[ServiceRequestState]] = {
    ServiceRequestState.acknowledged: {
        ServiceRequestState.inProgress,
        ServiceRequestState.resolved,
        ServiceRequestState.cancelled,
    },
    ServiceRequestState.inProgress: {ServiceRequestState.resolved, ServiceRequestState.cancelled},
    ServiceRequestState.resolved: {ServiceRequestState.closed, ServiceRequestState.inProgress},
    ServiceRequestState.closed: set(),
    ServiceRequestState.cancelled: set(),
}
OPEN_STATES = (ServiceRequestState.acknowledged, ServiceRequestState.inProgress)


class ServiceRequest(TimestampMixin, Base):
    __tablename__ = "service_request"
    __table_args__ = (
        Index("ix_service_request_customer_id_state", "customer_id", "state"),
        Index("ix_service_request_state_due_at", "state", "due_at"),
        CheckConstraint("due_at >= opened_at", name="due_after_opened"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("line.id", ondelete="SET NULL"), index=True
    )
    category: Mapped[ServiceRequestCategory] = mapped_column(
        Enum(
            ServiceRequestCategory,
            name="service_request_category",
            native_enum=False,
            create_constraint=True,
            length=20,
        )
    )
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[ServiceRequestState] = mapped_column(
        Enum(
            ServiceRequestState,
            name="service_request_state",
            native_enum=False,
            create_constraint=True,
            length=20,
        ),
        default=ServiceRequestState.acknowledged,
    )
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The service-level hours due_at was computed from, and where they came from.
    sla_hours: Mapped[int] = mapped_column()
    sla_source: Mapped[str] = mapped_column(String(20))  # contract | standard
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_by_label: Mapped[str] = mapped_column(String(254))
    opened_by_portal_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_user.id", ondelete="SET NULL")
    )
    opened_by_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )

    customer = relationship("Customer", lazy="raise")
    line = relationship("Line", lazy="raise")

    @property
    def number(self) -> str:
        return f"ZS-{self.id:06d}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at < now


class ServiceRequestNote(Base):
    """A note on a request: staff's (``internal`` ones are never shown in the portal) or the
    customer's."""

    __tablename__ = "service_request_note"
    __table_args__ = (Index("ix_service_request_note_request_id_id", "request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id", ondelete="CASCADE"))
    author_kind: Mapped[str] = mapped_column(String(10))  # staff | portal | system
    author_label: Mapped[str] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    # The state change this note came with, if any ("inProgress", "resolved"…).
    state_change: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
