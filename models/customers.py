"""Business customers and their department trees."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, PathString, TimestampMixin, UTCDateTime, utcnow


class Customer(TimestampMixin, Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    nip: Mapped[str] = mapped_column(String(10), unique=True)
    regon: Mapped[str | None] = mapped_column(String(14))
    krs: Mapped[str | None] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    street: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(6))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="PL")
    account_manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), index=True
    )

    account_manager = relationship("StaffUser", lazy="raise")

    def __repr__(self) -> str:
        return f"<Customer {self.number} {self.name!r}>"


class OrgUnit(TimestampMixin, Base):
    """A department. ``path`` is the chain of ids from the root, e.g. ``/12/45/``.

    The subtree of a unit is ``path >= p AND path < p[:-1] + '0'`` (``'/' < '0'``), one range
    scan of ``ix_org_unit_customer_id_path``.
    """

    __tablename__ = "org_unit"
    __table_args__ = (
        Index("ix_org_unit_customer_id_path", "customer_id", "path", unique=True),
        UniqueConstraint("parent_id", "name", name="uq_org_unit_parent_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    cost_centre: Mapped[str | None] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(PathString)
    depth: Mapped[int] = mapped_column(default=0)

    customer = relationship(Customer, lazy="raise")

    @staticmethod
    def upper_bound(path: str) -> str:
        return path[:-1] + "0"

    def __repr__(self) -> str:
        return f"<OrgUnit {self.id} {self.path} {self.name!r}>"


class AddressKind(enum.StrEnum):
    correspondence = "correspondence"
    invoice = "invoice"
    delivery = "delivery"


class CustomerAddress(TimestampMixin, Base):
    """Addresses beside the registered one (which lives on Customer)."""

    __tablename__ = "customer_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AddressKind] = mapped_column(
        Enum(AddressKind, name="address_kind", native_enum=False, create_constraint=True, length=20)
    )
    label: Mapped[str | None] = mapped_column(String(120))
    street: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(6))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="PL")


class ContactRole(enum.StrEnum):
    decision_maker = "decision_maker"
    fleet_admin = "fleet_admin"
    finance = "finance"
    technical = "technical"
    other = "other"


class Contact(TimestampMixin, Base):
    """A person at the customer the operator talks to."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[ContactRole] = mapped_column(
        Enum(ContactRole, name="contact_role", native_enum=False, create_constraint=True, length=20)
    )
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    position: Mapped[str | None] = mapped_column(String(120))
    notes: Mapped[str | None] = mapped_column(Text)


class CustomerNote(Base):
    """A note an account manager keeps on the customer's timeline (a call, a meeting…)."""

    __tablename__ = "customer_note"
    __table_args__ = (
        Index("ix_customer_note_customer_id_created_at", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(20), default="note")  # note, call, meeting, visit
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
