"""The fleet: employees, lines (number + SIM + tariff + handset + services), and the requests
that carry changes to the network."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Enum, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto import EncryptedText
from models.base import Base, TimestampMixin, UTCDateTime


class LineStatus(enum.StrEnum):
    """TM Forum product states for a line."""

    pendingActive = "pendingActive"
    active = "active"
    suspended = "suspended"
    pendingTerminate = "pendingTerminate"
    terminated = "terminated"


LINE_TRANSITIONS: dict[LineStatus, set[LineStatus]] = {
    LineStatus.pendingActive: {LineStatus.active, LineStatus.terminated},
    LineStatus.active: {LineStatus.suspended, LineStatus.pendingTerminate},
    LineStatus.suspended: {LineStatus.active, LineStatus.pendingTerminate},
    LineStatus.pendingTerminate: {LineStatus.terminated, LineStatus.active},
    LineStatus.terminated: set(),
}


class Service(enum.StrEnum):
    """Network services a line can have on or off. Column on Line: ``svc_<name>``."""

    roaming = "roaming"
    data = "data"
    intl_calls = "intl_calls"
    premium_barring = "premium_barring"
    location = "location"


class Employee(TimestampMixin, Base):
    """A person of the customer's company who uses lines; appears in the phone book."""

    __tablename__ = "employee"
    __table_args__ = (
        Index("ix_employee_customer_id_full_name", "customer_id", "full_name"),
        Index("ix_employee_customer_id_email", "customer_id", "email", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    position: Mapped[str | None] = mapped_column(String(120))
    phonebook_hidden: Mapped[bool] = mapped_column(default=False)

    unit = relationship("OrgUnit", lazy="raise")


class Line(TimestampMixin, Base):
    __tablename__ = "line"
    __table_args__ = (
        Index("ix_line_customer_id_id", "customer_id", "id"),
        Index("ix_line_customer_id_msisdn", "customer_id", "msisdn"),
        Index("ix_line_unit_id_id", "unit_id", "id"),
        # Counting the fleet, a subtree of it, and sorting a subtree by number from the index
        # alone (0006).
        Index("ix_line_customer_id_status", "customer_id", "status"),
        Index(
            "ix_line_customer_id_unit_path_status",
            "customer_id",
            "unit_path",
            "status",
            "msisdn",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    # Denormalised from the unit, so a subtree filter is one range on the line table.
    unit_path: Mapped[str] = mapped_column(String(400))
    msisdn: Mapped[str] = mapped_column(String(16), unique=True)  # E.164, e.g. +48601234567
    status: Mapped[LineStatus] = mapped_column(
        Enum(LineStatus, name="line_status", native_enum=False, create_constraint=True, length=20),
        default=LineStatus.active,
    )
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariff_plan.id"), index=True)
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id", ondelete="SET NULL"), index=True
    )
    iccid: Mapped[str] = mapped_column(String(22), unique=True)
    imsi: Mapped[str] = mapped_column(String(15), unique=True)
    pin1: Mapped[str | None] = mapped_column(EncryptedText())
    puk1: Mapped[str | None] = mapped_column(EncryptedText())
    pin2: Mapped[str | None] = mapped_column(EncryptedText())
    puk2: Mapped[str | None] = mapped_column(EncryptedText())
    handset_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    imei: Mapped[str | None] = mapped_column(String(15), index=True)
    monthly_limit: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Confirmed by the network. A requested change waits in ProvisioningRequest.
    svc_roaming: Mapped[bool] = mapped_column(default=False)
    svc_data: Mapped[bool] = mapped_column(default=True)
    svc_intl_calls: Mapped[bool] = mapped_column(default=False)
    svc_premium_barring: Mapped[bool] = mapped_column(default=True)
    svc_location: Mapped[bool] = mapped_column(default=False)

    tariff = relationship("TariffPlan", lazy="raise")
    employee = relationship("Employee", lazy="raise")
    unit = relationship("OrgUnit", lazy="raise")
    handset = relationship("Product", lazy="raise")

    def service_on(self, service: Service) -> bool:
        return getattr(self, f"svc_{service.value}")


class RequestStatus(enum.StrEnum):
    acknowledged = "acknowledged"
    inProgress = "inProgress"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


class ProvisioningRequest(TimestampMixin, Base):
    """A change the network must carry out. The line's state changes only on confirmation."""

    __tablename__ = "provisioning_request"
    __table_args__ = (
        Index("ix_provisioning_request_line_id_status", "line_id", "status"),
        Index("ix_provisioning_request_status_not_before", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(30))  # set_service, change_tariff, suspend, …
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[RequestStatus] = mapped_column(
        Enum(
            RequestStatus,
            name="request_status",
            native_enum=False,
            create_constraint=True,
            length=20,
        ),
        default=RequestStatus.acknowledged,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requested_by: Mapped[str] = mapped_column(String(254))
    network_ref: Mapped[str | None] = mapped_column(String(64))
