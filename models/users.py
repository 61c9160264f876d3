"""People who sign in: portal users (customer side) and staff users (operator side)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto import EncryptedText
from models.base import Base, TimestampMixin, UTCDateTime


class PortalRole(enum.StrEnum):
    fleet_admin = "fleet_admin"
    employee = "employee"
    viewer = "viewer"


class StaffRole(enum.StrEnum):
    account_manager = "account_manager"
    sales_admin = "sales_admin"
    operator_admin = "operator_admin"


def _enum(cls, name: str):
    return Enum(
        cls, name=name, native_enum=False, create_constraint=True, validate_strings=True, length=30
    )


class _Account(TimestampMixin):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Part of the session's user id: raising it ends every open session of the account
    # (a password set from a link, a lock or a deactivation).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    def end_sessions(self) -> None:
        self.session_version = (self.session_version or 0) + 1

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False


class PortalUser(_Account, Base):
    __tablename__ = "portal_user"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[PortalRole] = mapped_column(_enum(PortalRole, "portal_role"))
    # A fleet admin limited to one subtree of the department tree; None = the whole company.
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # May approve the customer's orders above the contract's approval threshold.
    can_approve_orders: Mapped[bool] = mapped_column(default=False, server_default=false())
    # For role employee: the person in the company's employee register whose lines they see.
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id", ondelete="SET NULL"), index=True
    )

    customer = relationship("Customer", lazy="joined", innerjoin=True)
    scope_unit = relationship("OrgUnit", lazy="joined")

    def get_id(self) -> str:
        return f"p{self.id}.{self.session_version or 0}"


class StaffUser(_Account, Base):
    __tablename__ = "staff_user"

    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole, "staff_role"))
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText())
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    totp_last_counter: Mapped[int | None] = mapped_column()

    @property
    def requires_totp(self) -> bool:
        return self.role == StaffRole.operator_admin or self.totp_enabled

    def get_id(self) -> str:
        return f"s{self.id}.{self.session_version or 0}"


class LoginThrottle(Base):
    """Failed sign-ins per account (e-mail as typed) and per client address, per app."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("realm", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    realm: Mapped[str] = mapped_column(String(10))  # portal | console
    kind: Mapped[str] = mapped_column(String(10))  # account | address
    key: Mapped[str] = mapped_column(String(254))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
