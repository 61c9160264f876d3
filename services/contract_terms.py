"""Editing a contract version: its terms (subsidy, approval threshold, service levels,
discounts per kind) and its items (what the customer may order, at which price).

Only the editable version changes: a draft's only version, or an amendment not yet in force.
Re-exported by services.contracts, where callers usually find these.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import Contract, ContractItem, ContractState, ContractVersion, Product, TariffPlan
from services import ServiceError, audit
from services.audit import Actor
from services.catalog import MONEY_MAX, FieldChecks, decimal_places
from services.contract_versions import editable_version, today

PERCENT_MAX = Decimal("100")


class _Keep:
    """Marks an argument left out: keep the current value."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


def check_dates(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from is None:
        raise ServiceError(_l("Enter the date the contract starts."), field="valid_from")
    if valid_to is not None and valid_to < valid_from:
        raise ServiceError(_l("The end date is before the start date."), field="valid_to")


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
    if decimal_places(value.normalize()) > 2:
        raise ServiceError(_l("Use at most %(places)d decimal places.", places=2), field=field)
    return value


def _money(value: Decimal, field: str, negative_message) -> Decimal:
    if value < 0:
        raise ServiceError(negative_message, field=field)
    if value > MONEY_MAX:
        raise ServiceError(_l("The amount is too large."), field=field)
    if decimal_places(value.normalize()) > 2:
        raise ServiceError(_l("Use at most %(places)d decimal places.", places=2), field=field)
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
    valid_from: date | _Keep = KEEP,
    valid_to: date | _Keep | None = KEEP,
) -> ContractVersion:
    """Change the editable version's terms; a draft's validity dates may change with them.
    Every value is checked before anything changes; the refusal lists all that failed."""
    _require_editable(session, contract, version)
    if contract.state != ContractState.draft and (valid_from is not KEEP or valid_to is not KEEP):
        raise ServiceError(_l("The dates of a signed contract cannot be changed."))
    checks = FieldChecks()
    if subsidy_budget is None:
        checks.refuse(_l("Enter the subsidy budget (0 if none)."), "subsidy_budget")
    else:
        subsidy_budget = checks.run(
            _money,
            Decimal(subsidy_budget),
            "subsidy_budget",
            _l("The subsidy budget cannot be negative."),
        )
    if approval_threshold is not None:
        approval_threshold = checks.run(
            _money,
            Decimal(approval_threshold),
            "approval_threshold",
            _l("The approval threshold cannot be negative."),
        )
    for name, hours in (
        ("repair_time_hours", repair_time_hours),
        ("response_time_hours", response_time_hours),
    ):
        if hours is not None and not (0 < hours <= 24 * 60):
            checks.refuse(_l("Enter a number of hours between 1 and 1440."), name)
    discounts = {
        name: checks.run(_percent, value, name)
        for name, value in (
            ("tariff_discount_percent", tariff_discount_percent),
            ("handset_discount_percent", handset_discount_percent),
            ("accessory_discount_percent", accessory_discount_percent),
        )
    }
    new_from = contract.valid_from if valid_from is KEEP else valid_from
    new_to = contract.valid_to if valid_to is KEEP else valid_to
    checks.run(check_dates, new_from, new_to)
    checks.done()

    before = _terms(version)
    version.subsidy_budget = subsidy_budget
    version.approval_threshold = approval_threshold
    version.repair_time_hours = repair_time_hours
    version.response_time_hours = response_time_hours
    for name, value in discounts.items():
        setattr(version, name, value)
    version.note = (note or "").strip() or None
    if contract.state == ContractState.draft:
        contract.valid_from = new_from
        contract.valid_to = new_to
        version.effective_from = new_from  # a draft has one version, in force from the start
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
    if price is not None:
        price = _money(Decimal(price), "price", _l("The price cannot be negative."))
    if discount_percent is not None:
        discount_percent = _percent(discount_percent, "discount_percent")
    thing = tariff or product
    if not thing.is_active or (thing.valid_to is not None and thing.valid_to < today()):
        raise ServiceError(
            _l("%(name)s is no longer sold and cannot be offered.", name=thing.name), field="item"
        )
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
