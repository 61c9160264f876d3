"""Business customers and their department trees."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, PathString, TimestampMixin


class Customer(TimestampMixin, Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    nip: Mapped[str] = mapped_column(String(10), unique=True)
    regon: Mapped[str | None] = mapped_column(String(14))
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
