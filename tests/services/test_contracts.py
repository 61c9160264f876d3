"""Contracts and the published offer: individual prices, versions, one active per customer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from models import Contract, ContractState, ProductKind
from models.base import utcnow
from services import ServiceError
from services import contracts as ct
from services.audit import Actor
from services.offer import offer_for
from tests.factories import make_customer
from tests.fleet_factories import make_handset, make_tariff

ACTOR = Actor("staff", 1, "opiekun@operator.example")
TODAY = utcnow().date()


@pytest.fixture
def setup(db):
    customer = make_customer(db)
    t_m = make_tariff(db, name="Biznes M", fee="49.99")
    t_l = make_tariff(db, name="Biznes L", fee="79.99")
    phone = make_handset(db, name="Galaxy", price="2000.00")
    other_phone = make_handset(db, name="iPhone", price="4000.00")
    contract = ct.create_draft(
        db,
        ACTOR,
        customer,
        valid_from=TODAY - timedelta(days=1),
        valid_to=TODAY + timedelta(days=730),
    )
    version = ct.versions(db, contract)[0]
    return locals()


def test_offer_without_contract_is_the_standard_catalogue(db, setup):
    offer = offer_for(db, setup["customer"].id, TODAY)
    assert offer.contract is None
    assert {setup["t_m"].id, setup["t_l"].id} <= offer.tariff_ids()
    assert all(i.price == i.list_price for i in offer.items)


def test_active_contract_offers_only_its_items_at_its_prices(db, setup):
    s = setup
    ct.set_item(db, ACTOR, s["contract"], s["version"], tariff=s["t_m"], price=Decimal("39.00"))
    ct.set_item(
        db, ACTOR, s["contract"], s["version"], product=s["phone"], discount_percent=Decimal("12.5")
    )
    ct.update_terms(
        db,
        ACTOR,
        s["contract"],
        s["version"],
        subsidy_budget=Decimal("10000"),
        approval_threshold=Decimal("5000"),
        repair_time_hours=48,
        response_time_hours=4,
        tariff_discount_percent=Decimal("0"),
        handset_discount_percent=Decimal("5"),
        accessory_discount_percent=Decimal("0"),
    )
    ct.activate(db, ACTOR, s["contract"])
    offer = offer_for(db, s["customer"].id, TODAY)
    assert offer.tariff_ids() == {s["t_m"].id}
    m = offer.price_of_tariff(s["t_m"].id)
    assert (m.list_price, m.price, m.source) == (
        Decimal("49.99"),
        Decimal("39.00"),
        "contract_price",
    )
    phone = offer.price_of_product(s["phone"].id)
    assert phone.price == Decimal("1750.00") and phone.source == "item_discount"
    assert offer.price_of_product(s["other_phone"].id) is None
    assert offer.products(ProductKind.handset) == [phone]


def test_activation_needs_items_and_no_other_active_contract(db, setup):
    s = setup
    with pytest.raises(ServiceError, match="at least one"):
        ct.activate(db, ACTOR, s["contract"])
    ct.set_item(db, ACTOR, s["contract"], s["version"], tariff=s["t_m"])
    ct.activate(db, ACTOR, s["contract"])
    second = ct.create_draft(db, ACTOR, s["customer"], valid_from=TODAY, valid_to=None)
    ct.set_item(db, ACTOR, second, ct.versions(db, second)[0], tariff=s["t_l"])
    with pytest.raises(ServiceError, match="already has an active contract"):
        ct.activate(db, ACTOR, second)


def test_database_allows_one_active_contract_per_customer(db, setup):
    s = setup
    s["contract"].state = ContractState.active
    db.flush()
    db.add(
        Contract(
            number="X/1", customer_id=s["customer"].id, state=ContractState.active, valid_from=TODAY
        )
    )
    with pytest.raises(IntegrityError), db.begin_nested():
        db.flush()


def test_amendment_is_a_new_version_and_old_terms_stay(db, setup):
    s = setup
    ct.set_item(db, ACTOR, s["contract"], s["version"], tariff=s["t_m"], price=Decimal("39.00"))
    ct.activate(db, ACTOR, s["contract"])
    with pytest.raises(ServiceError, match="amendment"):
        ct.set_item(db, ACTOR, s["contract"], s["version"], tariff=s["t_m"], price=Decimal("1.00"))
    with pytest.raises(ServiceError, match="tomorrow"):
        ct.amend(db, ACTOR, s["contract"], TODAY)
    v2 = ct.amend(db, ACTOR, s["contract"], TODAY + timedelta(days=10), "Nowa cena")
    ct.set_item(db, ACTOR, s["contract"], v2, tariff=s["t_m"], price=Decimal("35.00"))
    assert v2.number == 2
    assert ct.version_in_force(db, s["contract"], TODAY).number == 1
    assert ct.version_in_force(db, s["contract"], TODAY + timedelta(days=10)).number == 2
    assert offer_for(db, s["customer"].id, TODAY).price_of_tariff(s["t_m"].id).price == Decimal(
        "39.00"
    )
    assert offer_for(db, s["customer"].id, TODAY + timedelta(days=11)).price_of_tariff(
        s["t_m"].id
    ).price == Decimal("35.00")
    with pytest.raises(ServiceError, match="already being prepared"):
        ct.amend(db, ACTOR, s["contract"], TODAY + timedelta(days=20))


def test_bad_terms_are_refused(db, setup):
    s = setup
    with pytest.raises(ServiceError) as e:
        ct.set_item(
            db, ACTOR, s["contract"], s["version"], tariff=s["t_m"], discount_percent=Decimal("120")
        )
    assert e.value.field == "discount_percent"
    with pytest.raises(ServiceError):
        ct.set_item(db, ACTOR, s["contract"], s["version"], tariff=s["t_m"], price=Decimal("-1"))
    with pytest.raises(ServiceError):
        ct.create_draft(
            db, ACTOR, s["customer"], valid_from=TODAY, valid_to=TODAY - timedelta(days=1)
        )


def test_terminate_needs_reason_and_expiry_sweep(db, setup):
    s = setup
    ct.set_item(db, ACTOR, s["contract"], s["version"], tariff=s["t_m"])
    ct.activate(db, ACTOR, s["contract"])
    with pytest.raises(ServiceError):
        ct.terminate(db, ACTOR, s["contract"], " ")
    assert ct.expire_due(db, TODAY + timedelta(days=731)) == 1
    assert s["contract"].state == ContractState.expired
