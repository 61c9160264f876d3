from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import LineKind, OrderLine, OrderLineState, SelfServiceState
from models.base import utcnow
from services import ServiceError, approvals, exchange, policies
from services.audit import Actor
from tests.fleet_factories import make_handset
from tests.selfservice_factories import make_company

ADMIN = Actor("portal", 1, "admin@test")


def _employee(co):
    return Actor("portal", co.user.id, co.user.email)


def test_too_soon_since_the_last_handset_is_refused_with_the_rule(db):
    co = make_company(db, activated_at=utcnow() - timedelta(days=200))
    phone = make_handset(db, price="999.00")
    policies.set_rules(db, ADMIN, co.sales, {"exchange.months": "12"})
    req = exchange.ask(db, _employee(co), co.user, co.line, phone.id)
    assert req.state == SelfServiceState.refused
    assert req.params["refusal"]["rule"] == "exchange.months"
    assert req.params["refusal"]["unit"] == "Sprzedaż"
    assert db.scalars(select(OrderLine)).all() == []


def test_above_the_budget_the_employee_pays_the_difference_and_the_order_queues(db):
    co = make_company(db, activated_at=utcnow() - timedelta(days=800))
    phone = make_handset(db, price="1500.00")
    policies.set_rules(
        db, ADMIN, co.root, {"exchange.budget": "1000", "exchange.over_budget": "pay"}
    )
    req = exchange.ask(db, _employee(co), co.user, co.line, phone.id)
    assert req.state == SelfServiceState.done
    assert Decimal(req.params["employee_pays"]) == Decimal("500.00")
    line = db.scalar(select(OrderLine).where(OrderLine.order_id == req.order_id))
    assert (line.kind, line.line_id, line.product_id) == (LineKind.exchange, co.line.id, phone.id)
    assert line.state == OrderLineState.waiting and line.queued_at is not None  # back-order queue
    with pytest.raises(ServiceError):  # the line already has an exchange on order
        exchange.ask(db, _employee(co), co.user, co.line, phone.id)


def test_above_the_budget_with_approval_the_order_waits_for_the_admin(db):
    co = make_company(db)
    cheap = make_handset(db, price="500.00")
    dear = make_handset(db, price="4000.00")
    policies.set_rules(db, ADMIN, co.root, {"exchange.budget": "1000"})  # default: approval
    req = exchange.ask(db, _employee(co), co.user, co.line, dear.id)
    assert req.state == SelfServiceState.pending and req.order_id is None
    approvals.approve(db, ADMIN, req, co.admin)
    assert req.state == SelfServiceState.approved and req.order_id
    assert cheap.id  # within the budget it would have been ordered at once


def test_only_allowed_models(db):
    co = make_company(db)
    allowed = make_handset(db)
    other = make_handset(db)
    policies.set_rules(db, ADMIN, co.root, {"exchange.models": [str(allowed.id)]})
    options, refusal = exchange.choices(db, co.line)
    assert [c.item.product.id for c in options] == [allowed.id] and refusal is None
    with pytest.raises(ServiceError):
        exchange.ask(db, _employee(co), co.user, co.line, other.id)
