"""Reading contracts: versions, their items, which version is in force or still editable.

Contract dates are calendar days in Poland: "today" is the day in Warsaw, not in UTC.
Re-exported by services.contracts, where callers usually find them.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import Contract, ContractItem, ContractState, ContractVersion

BUSINESS_TZ = ZoneInfo("Europe/Warsaw")


def today() -> date:
    return datetime.now(BUSINESS_TZ).date()


def versions(session: Session, contract: Contract) -> list[ContractVersion]:
    return list(
        session.scalars(
            select(ContractVersion)
            .where(ContractVersion.contract_id == contract.id)
            .options(selectinload(ContractVersion.items))
            .order_by(ContractVersion.number)
        )
    )


def items_of(session: Session, version: ContractVersion) -> list[ContractItem]:
    """The version's items, read from the database (never a stale loaded collection)."""
    return list(
        session.scalars(
            select(ContractItem)
            .where(ContractItem.version_id == version.id)
            .order_by(ContractItem.id)
        )
    )


def version_in_force(session: Session, contract: Contract, on: date) -> ContractVersion | None:
    """The latest version effective on ``on`` (what invoices and orders of that day use)."""
    return session.scalar(
        select(ContractVersion)
        .where(ContractVersion.contract_id == contract.id, ContractVersion.effective_from <= on)
        .order_by(ContractVersion.number.desc())
        .limit(1)
    )


def editable_version(session: Session, contract: Contract) -> ContractVersion | None:
    """The version that may still change: a draft's only version, or a future amendment."""
    latest = session.scalar(
        select(ContractVersion)
        .where(ContractVersion.contract_id == contract.id)
        .order_by(ContractVersion.number.desc())
        .limit(1)
    )
    if latest is None:
        return None
    if contract.state == ContractState.draft:
        return latest
    if (
        contract.state == ContractState.active
        and latest.number > 1
        and latest.effective_from > today()
    ):
        return latest
    return None


def active_contract(session: Session, customer_id: int) -> Contract | None:
    return session.scalar(
        select(Contract).where(
            Contract.customer_id == customer_id, Contract.state == ContractState.active
        )
    )
