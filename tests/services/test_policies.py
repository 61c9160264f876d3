from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event

from services import ServiceError, policies
from services.audit import Actor
from tests.selfservice_factories import make_company

ACTOR = Actor("portal", 1, "admin@test")


def test_defaults_when_nobody_set_a_rule(db):
    co = make_company(db)
    policy = policies.effective_for_line(db, co.line)
    assert policy.mode("roaming") == policies.SELF
    assert policy["roaming.zone"].value == "eu" and policy["roaming.zone"].is_default
    assert policy.value("roaming.spend_cap") is None


def test_rules_are_inherited_and_overridden_with_their_source(db):
    co = make_company(db)
    policies.set_rules(
        db,
        ACTOR,
        co.root,
        {"service.roaming": "approval", "roaming.zone": "europe", "roaming.spend_cap": "300"},
    )
    policies.set_rules(db, ACTOR, co.sales, {"roaming.zone": "world", "roaming.max_days": "5"})
    policies.set_rules(db, ACTOR, co.team, {"service.roaming": "self"})

    policy = policies.effective_for_line(db, co.line)
    assert (policy.mode("roaming"), policy["service.roaming"].unit) == ("self", co.team)
    assert (policy.value("roaming.zone"), policy["roaming.zone"].unit) == ("world", co.sales)
    assert policy.value("roaming.max_days") == 5
    cap = policy["roaming.spend_cap"]
    assert (cap.value, cap.unit) == (Decimal("300.00"), co.root)
    assert policy["exchange.months"].is_default

    elsewhere = policies.effective(db, co.other)  # a sibling branch: only the company default
    assert elsewhere.mode("roaming") == "approval" and elsewhere["roaming.zone"].unit == co.root
    assert elsewhere.value("roaming.zone") == "europe"


def test_effective_policy_is_one_query_whatever_the_depth(db, rt):
    co = make_company(db)
    policies.set_rules(db, ACTOR, co.root, {"roaming.zone": "europe"})
    policies.set_rules(db, ACTOR, co.team, {"roaming.max_days": "3"})
    db.flush()
    statements = []

    def count(*_args):
        statements.append(1)

    conn = db.connection()
    event.listen(conn, "before_cursor_execute", count)
    try:
        policies.effective_for_line(db, co.line)
    finally:
        event.remove(conn, "before_cursor_execute", count)
    assert len(statements) == 1


def test_bad_values_are_refused_and_nothing_is_half_applied(db):
    co = make_company(db)
    policies.set_rules(db, ACTOR, co.sales, {"roaming.zone": "europe"})
    with pytest.raises(ServiceError) as err:
        policies.set_rules(db, ACTOR, co.sales, {"roaming.zone": "world", "roaming.max_days": "0"})
    assert err.value.field == "roaming.max_days"
    assert policies.own_rules(db, co.sales) == {"roaming.zone": "europe"}
    with pytest.raises(ServiceError):
        policies.set_rules(db, ACTOR, co.sales, {"roaming.spend_cap": "-5"})
    with pytest.raises(ServiceError):
        policies.set_rules(db, ACTOR, co.sales, {"service.data": "maybe"})
    with pytest.raises(ServiceError):
        policies.set_rules(db, ACTOR, co.sales, {"exchange.models": [999999]})


def test_clearing_a_rule_inherits_again(db):
    co = make_company(db)
    policies.set_rules(db, ACTOR, co.root, {"roaming.zone": "europe"})
    policies.set_rules(db, ACTOR, co.team, {"roaming.zone": "world"})
    policies.set_rules(db, ACTOR, co.team, {})
    assert policies.effective_for_line(db, co.line)["roaming.zone"].unit == co.root
