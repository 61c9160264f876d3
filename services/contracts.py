"""Contracts: drafting, activating, amending and ending framework agreements.

A draft's first version is edited in place. Once the contract is active its versions are
frozen: an amendment copies the version in force into a new version (number + 1) effective
from a date, and that copy is what the account manager edits until it takes effect.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core.i18n import _l
from models import (
    CONTRACT_TRANSITIONS,
    Contract,
    ContractItem,
    ContractState,
    ContractVersion,
    Customer,
    Product,
    TariffPlan,
)
from models.base import utcnow
from services import ServiceError, audit
from services.audit import Actor

PERCENT_MAX = Decimal("100")


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
    _check_dates(valid_from, valid_to)
    contract = Contract(
        number=next_number(session, valid_from),
        customer_id=customer.id,
        state=ContractState.draft,
        valid_from=valid_from,
        valid_to=valid_to,
        created_by_id=staff_user_id,
    )
    session.add(contract)
    session.flush()
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


def _check_dates(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from is None:
        raise ServiceError(_l("Enter the date the contract starts."), field="valid_from")
    if valid_to is not None and valid_to < valid_from:
        raise ServiceError(_l("The end date is before the start date."), field="valid_to")


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
        and (latest.effective_from > utcnow().date())
    ):
        return latest
    return None


def _require_editable(session: Session, contract: Contract, version: ContractVersion) -> None:
    editable = editable_version(session, contract)
    if editable is None or editable.id != version.id:
        raise ServiceError(
            _l("This version is in force or past and cannot change; create an amendment.")
        )


def _percent(value: Decimal | None, field: str) -> Decimal:
    value = Decimal(value or 0)
    if value < 0 or value > PERCENT_MAX:
        raise ServiceError(_l("A discount is between 0 and 100 %."), field=field)
    return value


def update_terms(
    session: Session,
    actor: Actor,
    contract: Contract,
    version: ContractVersion,
    *,
    subsidy_budget: Decimal,
    approval_threshold: Decimal | None,
    repair_time_hours: int | None,
    response_time_hours: int | None,
    tariff_discount_percent: Decimal,
    handset_discount_percent: Decimal,
    accessory_discount_percent: Decimal,
    note: str | None = None,
    valid_to: date | None = None,
) -> ContractVersion:
    _require_editable(session, contract, version)
    if subsidy_budget is None or subsidy_budget < 0:
        raise ServiceError(_l("The subsidy budget cannot be negative."), field="subsidy_budget")
    if approval_threshold is not None and approval_threshold < 0:
        raise ServiceError(
            _l("The approval threshold cannot be negative."), field="approval_threshold"
        )
    for name, hours in (
        ("repair_time_hours", repair_time_hours),
        ("response_time_hours", response_time_hours),
    ):
        if hours is not None and not (0 < hours <= 24 * 60):
            raise ServiceError(_l("Enter a number of hours between 1 and 1440."), field=name)
    before = _terms(version)
    version.subsidy_budget = Decimal(subsidy_budget)
    version.approval_threshold = approval_threshold
    version.repair_time_hours = repair_time_hours
    version.response_time_hours = response_time_hours
    version.tariff_discount_percent = _percent(tariff_discount_percent, "tariff_discount_percent")
    version.handset_discount_percent = _percent(
        handset_discount_percent, "handset_discount_percent"
    )
    version.accessory_discount_percent = _percent(
        accessory_discount_percent, "accessory_discount_percent"
    )
    version.note = (note or "").strip() or None
    if contract.state == ContractState.draft:
        _check_dates(contract.valid_from, valid_to)
        contract.valid_to = valid_to
    session.flush()
    audit.record(
        session,
        actor,
        "contract.terms_changed",
        customer_id=contract.customer_id,
        obj=contract,
        before=before,
        after=_terms(version),
    )
    return version


def _terms(v: ContractVersion) -> dict:
    return {
        "version": v.number,
        "subsidy_budget": str(v.subsidy_budget),
        "approval_threshold": str(v.approval_threshold)
        if v.approval_threshold is not None
        else None,
        "repair_time_hours": v.repair_time_hours,
        "response_time_hours": v.response_time_hours,
        "discounts": [
            str(v.tariff_discount_percent),
            str(v.handset_discount_percent),
            str(v.accessory_discount_percent),
        ],
    }


def set_item(
    session: Session,
    actor: Actor,
    contract: Contract,
    version: ContractVersion,
    *,
    tariff: TariffPlan | None = None,
    product: Product | None = None,
    price: Decimal | None = None,
    discount_percent: Decimal | None = None,
) -> ContractItem:
    """Allow a tariff or product under this version, with an individual price or discount."""
    _require_editable(session, contract, version)
    if (tariff is None) == (product is None):
        raise ServiceError(_l("Choose a tariff or a product."), field="item")
    if price is not None and discount_percent is not None:
        raise ServiceError(
            _l("Give either an individual price or a discount, not both."), field="price"
        )
    if price is not None and price < 0:
        raise ServiceError(_l("The price cannot be negative."), field="price")
    if discount_percent is not None:
        discount_percent = _percent(discount_percent, "discount_percent")
    target = {"tariff_id": tariff.id} if tariff else {"product_id": product.id}
    item = session.scalar(select(ContractItem).filter_by(version_id=version.id, **target))
    if item is None:
        item = ContractItem(version_id=version.id, **target)
        session.add(item)
    item.price = price
    item.discount_percent = discount_percent
    session.flush()
    audit.record(
        session,
        actor,
        "contract.item_set",
        customer_id=contract.customer_id,
        obj=contract,
        after={
            **target,
            "price": str(price) if price is not None else None,
            "discount_percent": str(discount_percent) if discount_percent is not None else None,
            "version": version.number,
        },
    )
    return item


def remove_item(
    session: Session, actor: Actor, contract: Contract, version: ContractVersion, item: ContractItem
) -> None:
    _require_editable(session, contract, version)
    if item.version_id != version.id:
        raise ServiceError(_l("This item is not part of the version."))
    audit.record(
        session,
        actor,
        "contract.item_removed",
        customer_id=contract.customer_id,
        obj=contract,
        before={
            "tariff_id": item.tariff_id,
            "product_id": item.product_id,
            "version": version.number,
        },
    )
    session.delete(item)
    session.flush()


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
    today = utcnow().date()
    if effective_from is None or effective_from <= today:
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


def active_contract(session: Session, customer_id: int) -> Contract | None:
    return session.scalar(
        select(Contract).where(
            Contract.customer_id == customer_id, Contract.state == ContractState.active
        )
    )
