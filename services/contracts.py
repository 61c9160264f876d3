"""Contracts: drafting, activating, amending and ending framework agreements.

A draft's first version is edited in place. Once the contract is active its versions are
frozen: an amendment copies the version in force into a new version (number + 1) effective
from a date, and that copy is what the account manager edits until it takes effect.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.i18n import _l
from models import (
    CONTRACT_TRANSITIONS,
    Contract,
    ContractItem,
    ContractState,
    ContractVersion,
    Customer,
)
from models.base import utcnow
from services import ServiceError, audit
from services.audit import Actor
from services.contract_terms import (
    KEEP,
    check_dates,
    remove_item,
    set_item,
    update_terms,
)
from services.contract_versions import (
    BUSINESS_TZ,
    active_contract,
    editable_version,
    items_of,
    today,
    version_in_force,
    versions,
)

__all__ = [
    "BUSINESS_TZ",
    "KEEP",
    "activate",
    "active_contract",
    "amend",
    "create_draft",
    "editable_version",
    "expire_due",
    "items_of",
    "remove_item",
    "set_item",
    "terminate",
    "today",
    "update_terms",
    "version_in_force",
    "versions",
]

NUMBER_ATTEMPTS = 5


def next_number(session: Session, on: date) -> str:
    prefix = f"UR/{on.year}/"
    last = session.scalar(
        select(func.max(Contract.number)).where(Contract.number.like(f"{prefix}%"))
    )
    n = int(last.rsplit("/", 1)[1]) + 1 if last else 1
    return f"{prefix}{n:05d}"


def create_draft(
    session: Session,
    actor: Actor,
    customer: Customer,
    *,
    valid_from: date,
    valid_to: date | None,
    staff_user_id: int | None = None,
) -> Contract:
    check_dates(valid_from, valid_to)
    for attempt in range(NUMBER_ATTEMPTS):
        contract = Contract(
            number=next_number(session, valid_from),
            customer_id=customer.id,
            state=ContractState.draft,
            valid_from=valid_from,
            valid_to=valid_to,
            created_by_id=staff_user_id,
        )
        try:
            with session.begin_nested():
                session.add(contract)
                session.flush()
            break
        except IntegrityError:  # a concurrent draft took the number: take the next one
            if attempt == NUMBER_ATTEMPTS - 1:
                raise
    version = ContractVersion(
        contract_id=contract.id, number=1, effective_from=valid_from, created_by_id=staff_user_id
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor,
        "contract.created",
        customer_id=customer.id,
        obj=contract,
        after={
            "number": contract.number,
            "valid_from": str(valid_from),
            "valid_to": str(valid_to) if valid_to else None,
        },
    )
    return contract


def _transition(contract: Contract, target: ContractState) -> None:
    if target not in CONTRACT_TRANSITIONS[contract.state]:
        raise ServiceError(_l("The contract cannot go from this state to the one requested."))


def activate(session: Session, actor: Actor, contract: Contract, on: date | None = None) -> None:
    """Draft → active. Refused while the customer has another active contract."""
    _transition(contract, ContractState.active)
    version = session.scalar(
        select(ContractVersion)
        .where(ContractVersion.contract_id == contract.id)
        .order_by(ContractVersion.number)
        .limit(1)
    )
    has_items = session.scalar(
        select(func.count()).select_from(ContractItem).where(ContractItem.version_id == version.id)
    )
    if not has_items:
        raise ServiceError(_l("Add at least one tariff or product before activating."))
    if contract.valid_to is not None and contract.valid_to < today():
        raise ServiceError(
            _l("The contract's end date has passed; change it before activating."),
            field="valid_to",
        )
    other = session.scalar(
        select(Contract.number).where(
            Contract.customer_id == contract.customer_id,
            Contract.state == ContractState.active,
            Contract.id != contract.id,
        )
    )
    if other:
        raise ServiceError(
            _l(
                "The customer already has an active contract (%(number)s); end it first.",
                number=other,
            )
        )
    contract.state = ContractState.active
    contract.signed_at = utcnow()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # another activation won the race; the index said no
        contract.state = ContractState.draft
        raise ServiceError(
            _l("The customer already has an active contract; end it first.")
        ) from exc
    audit.record(
        session,
        actor,
        "contract.activated",
        customer_id=contract.customer_id,
        obj=contract,
        after={"number": contract.number},
    )


def amend(
    session: Session,
    actor: Actor,
    contract: Contract,
    effective_from: date,
    note: str | None = None,
    staff_user_id: int | None = None,
) -> ContractVersion:
    """A new version from ``effective_from`` (tomorrow at the earliest), copying the terms."""
    if contract.state != ContractState.active:
        raise ServiceError(_l("Only an active contract can be amended."))
    if editable_version(session, contract) is not None:
        raise ServiceError(_l("An amendment is already being prepared; edit that one."))
    if effective_from is None or effective_from <= today():
        raise ServiceError(
            _l("An amendment takes effect from tomorrow at the earliest."), field="effective_from"
        )
    if contract.valid_to and effective_from > contract.valid_to:
        raise ServiceError(
            _l("The amendment would start after the contract ends."), field="effective_from"
        )
    current = session.scalar(
        select(ContractVersion)
        .where(ContractVersion.contract_id == contract.id)
        .order_by(ContractVersion.number.desc())
        .limit(1)
    )
    new = ContractVersion(
        contract_id=contract.id,
        number=current.number + 1,
        effective_from=effective_from,
        note=(note or "").strip() or None,
        subsidy_budget=current.subsidy_budget,
        approval_threshold=current.approval_threshold,
        repair_time_hours=current.repair_time_hours,
        response_time_hours=current.response_time_hours,
        tariff_discount_percent=current.tariff_discount_percent,
        handset_discount_percent=current.handset_discount_percent,
        accessory_discount_percent=current.accessory_discount_percent,
        created_by_id=staff_user_id,
    )
    session.add(new)
    session.flush()
    for item in items_of(session, current):
        session.add(
            ContractItem(
                version_id=new.id,
                tariff_id=item.tariff_id,
                product_id=item.product_id,
                price=item.price,
                discount_percent=item.discount_percent,
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "contract.amended",
        customer_id=contract.customer_id,
        obj=contract,
        after={"version": new.number, "effective_from": str(effective_from)},
    )
    return new


def terminate(session: Session, actor: Actor, contract: Contract, reason: str) -> None:
    _transition(contract, ContractState.terminated)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_l("Give the reason for ending the contract."), field="reason")
    before = contract.state.value
    contract.state = ContractState.terminated
    contract.terminated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "contract.terminated",
        customer_id=contract.customer_id,
        obj=contract,
        before={"state": before},
        after={"reason": reason[:500]},
    )


def expire_due(session: Session, today: date) -> int:
    """Periodic: active contracts past their end date become expired."""
    due = list(
        session.scalars(
            select(Contract).where(
                Contract.state == ContractState.active,
                Contract.valid_to.is_not(None),
                Contract.valid_to < today,
            )
        )
    )
    for contract in due:
        contract.state = ContractState.expired
        audit.record(
            session,
            Actor.system("contracts"),
            "contract.expired",
            customer_id=contract.customer_id,
            obj=contract,
        )
    session.flush()
    return len(due)
