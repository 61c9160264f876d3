"""Placing orders from the customer's offer: prices, approval, activation, cancellation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from integrations.network import SimulatedHLR
from models import (
    Line,
    LineStatus,
    NumberStatus,
    OrderLineState,
    OrderState,
    PoolNumber,
    PortalRole,
    ProvisioningRequest,
)
from models.base import utcnow
from services import ServiceError, orders, provisioning
from services import contracts as ct
from services.audit import Actor
from services.fleet import FleetScope
from tests.factories import make_customer, make_portal_user, make_staff, make_unit
from tests.fleet_factories import make_handset, make_line, make_tariff

STAFF = Actor("staff", 1, "opiekun@operator.example")


@pytest.fixture
def shop(db):
    customer = make_customer(db)
    unit = make_unit(db, customer, "Centrala")
    tariff = make_tariff(db, fee="49.99")
    phone = make_handset(db, price="3000.00")
    other = make_handset(db, price="100.00")
    contract = ct.create_draft(
        db, STAFF, customer, valid_from=utcnow().date() - timedelta(1), valid_to=None
    )
    version = ct.versions(db, contract)[0]
    ct.set_item(db, STAFF, contract, version, tariff=tariff, price=Decimal("40.00"))
    ct.set_item(db, STAFF, contract, version, product=phone, price=Decimal("2500.00"))
    ct.update_terms(
        db,
        STAFF,
        contract,
        version,
        subsidy_budget=Decimal("0"),
        approval_threshold=Decimal("6000"),
        repair_time_hours=None,
        response_time_hours=None,
        tariff_discount_percent=Decimal("0"),
        handset_discount_percent=Decimal("0"),
        accessory_discount_percent=Decimal("0"),
    )
    ct.activate(db, STAFF, contract)
    buyer = make_portal_user(db, customer)
    approver = make_portal_user(db, customer, can_approve_orders=True)
    db.add(PoolNumber(msisdn="+48512000111", status=NumberStatus.free))
    db.flush()
    make_staff(db)
    return {
        "customer": customer,
        "unit": unit,
        "tariff": tariff,
        "phone": phone,
        "other": other,
        "buyer": buyer,
        "approver": approver,
        "scope": FleetScope(customer.id),
    }


def _place(db, s, items, user=None):
    user = user or s["buyer"]
    return orders.place_order(
        db, Actor("portal", user.id, user.email), s["customer"], s["scope"], items, placed_by=user
    )


def test_order_uses_contract_prices_and_joins_the_queue(db, shop):
    order = _place(db, shop, [orders.CartItem("handset", 2, product_id=shop["phone"].id)])
    assert order.total_net == Decimal("5000.00")
    assert order.state == OrderState.inProgress
    [line] = orders._lines(db, order)
    assert line.unit_price == Decimal("2500.00") and line.list_price == Decimal("3000.00")
    assert line.state == OrderLineState.waiting and line.queued_at is not None


def test_products_outside_the_offer_are_refused(db, shop):
    with pytest.raises(ServiceError, match="not in your offer"):
        _place(db, shop, [orders.CartItem("handset", 1, product_id=shop["other"].id)])
    with pytest.raises(ServiceError, match="quantity"):
        _place(db, shop, [orders.CartItem("handset", 0, product_id=shop["phone"].id)])
    with pytest.raises(ServiceError, match="empty"):
        _place(db, shop, [])


def test_order_above_threshold_waits_for_another_approver(db, shop):
    order = _place(db, shop, [orders.CartItem("handset", 3, product_id=shop["phone"].id)])
    assert order.state == OrderState.pending and order.requires_approval
    assert orders._lines(db, order)[0].state == OrderLineState.acknowledged
    with pytest.raises(ServiceError, match="may not approve"):
        orders.approve(db, STAFF, order, shop["buyer"])
    orders.approve(db, STAFF, order, shop["approver"])
    assert order.state == OrderState.inProgress
    assert orders._lines(db, order)[0].state == OrderLineState.waiting


def test_activation_takes_a_number_and_waits_for_the_network(db, shop):
    order = _place(
        db,
        shop,
        [
            orders.CartItem(
                "activation",
                tariff_id=shop["tariff"].id,
                params={
                    "unit_id": shop["unit"].id,
                    "employee_name": "Ola Nowak",
                    "employee_email": "ola.nowak@firma.example",
                },
            )
        ],
    )
    [line] = orders._lines(db, order)
    assert line.state == OrderLineState.inProgress
    new = db.get(Line, line.line_id)
    assert new.status == LineStatus.pendingActive and new.msisdn == "+48512000111"
    req = db.scalar(select(ProvisioningRequest).where(ProvisioningRequest.line_id == new.id))
    assert req.action == "activate"
    orders.cancel_line(db, STAFF, line)
    assert (
        db.scalar(select(PoolNumber.status).where(PoolNumber.msisdn == "+48512000111"))
        == NumberStatus.free
    )
    assert order.state == OrderState.cancelled


def test_exchange_needs_an_active_line_in_scope(db, shop):
    other_unit = make_unit(db, shop["customer"], "Oddział")
    line = make_line(db, shop["customer"], other_unit, shop["tariff"])
    scoped = make_portal_user(db, shop["customer"], PortalRole.fleet_admin, scope_unit=shop["unit"])
    with pytest.raises(ServiceError, match="active line"):
        orders.place_order(
            db,
            STAFF,
            shop["customer"],
            FleetScope(shop["customer"].id, unit_path=shop["unit"].path),
            [orders.CartItem("exchange", product_id=shop["phone"].id, line_id=line.id)],
            placed_by=scoped,
        )
    order = _place(
        db, shop, [orders.CartItem("exchange", product_id=shop["phone"].id, line_id=line.id)]
    )
    assert orders._lines(db, order)[0].line_id == line.id


def test_activation_refused_by_the_network_fails_the_position_and_the_order(rt, db, shop):
    order = _place(
        db,
        shop,
        [
            orders.CartItem(
                "activation",
                tariff_id=shop["tariff"].id,
                params={"unit_id": shop["unit"].id, "employee_name": "Jan Kos"},
            )
        ],
    )
    [line] = orders._lines(db, order)
    new = db.get(Line, line.line_id)
    new.imsi = "UNKNOWN"  # the simulator refuses an unknown subscriber for good
    db.flush()
    req = provisioning.claim_next(db, new.id)
    assert provisioning.carry_out(db, req, SimulatedHLR(rt.redis)) == "failed"
    db.refresh(line)
    assert line.state == OrderLineState.failed and "refused" in line.failure_reason
    assert order.state == OrderState.failed
    assert new.status == LineStatus.terminated
    assert (
        db.scalar(select(PoolNumber.status).where(PoolNumber.msisdn == "+48512000111"))
        == NumberStatus.free
    )


def test_a_withdrawn_activations_number_is_not_given_to_the_next_new_line(db, shop):
    def new_line():
        item = orders.CartItem(
            "activation",
            tariff_id=shop["tariff"].id,
            params={"unit_id": shop["unit"].id, "employee_name": "Ewa Lis"},
        )
        [line] = orders._lines(db, _place(db, shop, [item]))
        return line

    first = new_line()
    held = db.get(Line, first.line_id).msisdn
    orders.cancel_line(db, STAFF, first)  # the ended line keeps the number
    with pytest.raises(ServiceError, match="No number is available"):
        new_line()  # the only pool number is held by the ended line: refused, not a crash
    db.add(PoolNumber(msisdn="+48512000222", status=NumberStatus.free))
    db.flush()
    second = new_line()
    assert db.get(Line, second.line_id).msisdn == "+48512000222" != held


def test_no_order_is_ever_held(db, shop):
    """TM Forum's "held" is not one of our states: what needs a decision waits as pending."""
    assert "held" not in {s.value for s in OrderState}
    order = _place(db, shop, [orders.CartItem("handset", 1, product_id=shop["phone"].id)])
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            text("UPDATE customer_order SET state = 'held' WHERE id = :id"), {"id": order.id}
        )
