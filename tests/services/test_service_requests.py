"""Service requests: deadlines from the contract's service levels, states, overdue, scopes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import AuditEvent, ServiceRequestCategory, ServiceRequestState
from services import ServiceError
from services import contracts as ct
from services import service_requests as svc
from services.audit import Actor
from services.fleet import FleetScope
from tests.factories import make_customer, make_portal_user, make_unit
from tests.fleet_factories import make_line, make_tariff

ACTOR = Actor("staff", None, "opiekun@test")
WARSAW = ZoneInfo("Europe/Warsaw")


def _contract(db, customer, *, repair=None, response=None, valid_from=date(2026, 1, 1)):
    contract = ct.create_draft(db, ACTOR, customer, valid_from=valid_from, valid_to=None)
    version = ct.versions(db, contract)[0]
    ct.update_terms(
        db,
        ACTOR,
        contract,
        version,
        subsidy_budget=Decimal("0"),
        approval_threshold=None,
        repair_time_hours=repair,
        response_time_hours=response,
        tariff_discount_percent=Decimal("0"),
        handset_discount_percent=Decimal("0"),
        accessory_discount_percent=Decimal("0"),
    )
    ct.set_item(db, ACTOR, contract, version, tariff=make_tariff(db))
    ct.activate(db, ACTOR, contract, on=valid_from)
    return contract


def _open(db, customer, category="repair", now=None, line=None):
    return svc.open_request(
        db,
        ACTOR,
        customer,
        category=category,
        subject="Telefon nie ładuje",
        description="Od wczoraj telefon nie ładuje się.",
        line=line,
        now=now,
    )


def test_deadline_comes_from_the_contract_repair_or_response_time(db):
    c = make_customer(db)
    _contract(db, c, repair=8, response=4)
    opened = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
    repair = _open(db, c, "repair", now=opened)
    question = _open(db, c, "billing", now=opened)
    assert (repair.due_at, repair.sla_hours, repair.sla_source) == (
        opened + timedelta(hours=8),
        8,
        "contract",
    )
    assert question.due_at == opened + timedelta(hours=4)
    assert question.sla_source == "contract"


def test_without_terms_the_standard_terms_apply(db):
    plain = make_customer(db)
    silent = make_customer(db)
    _contract(db, silent, repair=None, response=None)
    opened = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
    for c in (plain, silent):
        r = _open(db, c, "sim_replacement", now=opened)
        assert r.sla_source == "standard"
        assert r.due_at == opened + timedelta(hours=svc.STANDARD_HOURS["response"])
        assert _open(db, c, "repair", now=opened).sla_hours == svc.STANDARD_HOURS["repair"]


def test_an_amendment_in_force_later_does_not_move_an_open_deadline(db):
    c = make_customer(db)
    _contract(db, c, repair=24, response=24)
    opened = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
    req = _open(db, c, now=opened)
    assert req.due_at == opened + timedelta(hours=24)
    # The terms are read when the request is opened; the stored instant stays.
    assert svc.deadline_for(db, c.id, ServiceRequestCategory.repair, opened).hours == 24


def test_deadline_counts_clock_hours_across_the_autumn_clock_change_in_warsaw(db):
    """25 Oct 2026: 03:00 CEST becomes 02:00 CET. 24 clock hours after Saturday 12:00 (Warsaw)
    is Sunday 11:00 on the Warsaw wall clock, and the request is overdue exactly then."""
    c = make_customer(db)
    _contract(db, c, response=24)
    opened = datetime(2026, 10, 24, 12, 0, tzinfo=WARSAW).astimezone(UTC)
    req = _open(db, c, "billing", now=opened)
    due_local = req.due_at.astimezone(WARSAW)
    assert (due_local.day, due_local.hour, due_local.utcoffset()) == (25, 11, timedelta(hours=1))
    just_before = datetime(2026, 10, 25, 10, 59, tzinfo=WARSAW)
    just_after = datetime(2026, 10, 25, 11, 1, tzinfo=WARSAW)
    assert not req.is_overdue(just_before) and req.is_overdue(just_after)
    ids = select(type(c).id).where(type(c).id == c.id)
    assert svc.overdue_counts(db, ids, just_before.astimezone(UTC)) == {}
    assert svc.overdue_counts(db, ids, just_after.astimezone(UTC)) == {c.id: 1}


def test_contract_day_is_the_warsaw_day(db):
    """Just after midnight in Warsaw it is still the day before in UTC: the amendment in force
    from that Warsaw day applies, not the original terms."""
    c = make_customer(db)
    today = ct.today()
    contract = _contract(db, c, repair=48, response=48, valid_from=today - timedelta(days=30))
    tomorrow = today + timedelta(days=1)
    amendment = ct.amend(db, ACTOR, contract, effective_from=tomorrow)
    ct.update_terms(
        db,
        ACTOR,
        contract,
        amendment,
        subsidy_budget=Decimal("0"),
        approval_threshold=None,
        repair_time_hours=6,
        response_time_hours=2,
        tariff_discount_percent=Decimal("0"),
        handset_discount_percent=Decimal("0"),
        accessory_discount_percent=Decimal("0"),
    )
    after_midnight = datetime.combine(tomorrow, time(0, 30), WARSAW).astimezone(UTC)
    before_midnight = datetime.combine(today, time(23, 30), WARSAW).astimezone(UTC)
    assert after_midnight.date() == today  # still "today" in UTC
    assert svc.deadline_for(db, c.id, ServiceRequestCategory.repair, after_midnight).hours == 6
    assert svc.deadline_for(db, c.id, ServiceRequestCategory.repair, before_midnight).hours == 48


def test_transitions_follow_the_rules_and_are_audited(db):
    c = make_customer(db)
    req = _open(db, c)
    with pytest.raises(ServiceError):
        svc.change_state(db, ACTOR, req, "closed")  # not from acknowledged
    svc.change_state(db, ACTOR, req, "inProgress", "Kurier odbierze telefon jutro.")
    svc.change_state(db, ACTOR, req, "resolved")
    assert req.resolved_at is not None and not req.is_open
    svc.change_state(db, ACTOR, req, "inProgress")  # reopened: the fix did not hold
    assert req.resolved_at is None and req.is_open
    svc.change_state(db, ACTOR, req, "cancelled")
    for target in ServiceRequestState:
        with pytest.raises(ServiceError):
            svc.change_state(db, ACTOR, req, target.value)
    with pytest.raises(ServiceError):
        svc.change_state(db, ACTOR, req, "nonsense")
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.customer_id == c.id).order_by(AuditEvent.id)
    ).all()
    assert actions == ["service_request.opened"] + ["service_request.state_changed"] * 4
    notes = svc.notes(db, req, include_internal=True)
    assert [n.state_change for n in notes] == ["inProgress", "resolved", "inProgress", "cancelled"]


@pytest.mark.parametrize(
    ("field", "values", "message"),
    [
        ("category", {"category": "gossip"}, "Choose what the request is about."),
        ("subject", {"subject": "   "}, "Enter a subject."),
        ("subject", {"subject": "x" * 201}, "at most 200 characters"),
        ("description", {"description": ""}, "Describe what happened."),
    ],
)
def test_bad_input_is_refused_with_a_message(db, field, values, message):
    c = make_customer(db)
    data = {"category": "repair", "subject": "Ekran", "description": "Pęknięty", **values}
    with pytest.raises(ServiceError) as err:
        svc.open_request(db, ACTOR, c, **data)
    assert err.value.field == field and message in err.value.text


def test_a_line_is_found_only_within_the_scope(db):
    a, b = make_customer(db), make_customer(db)
    tariff = make_tariff(db)
    root = make_unit(db, a)
    div1, div2 = make_unit(db, a, "Div 1", root), make_unit(db, a, "Div 2", root)
    in_div1 = make_line(db, a, div1, tariff)
    in_div2 = make_line(db, a, div2, tariff)
    foreign = make_line(db, b, make_unit(db, b), tariff)
    assert svc.find_line(db, FleetScope(a.id), in_div2.msisdn) == in_div2
    assert svc.find_line(db, FleetScope(a.id), "") is None
    for scope, number in (
        (FleetScope(a.id, unit_path=div1.path), in_div2.msisdn),
        (FleetScope(a.id), foreign.msisdn),
    ):
        with pytest.raises(ServiceError) as err:
            svc.find_line(db, scope, number)
        assert err.value.field == "msisdn"
    assert svc.find_line(db, FleetScope(a.id, unit_path=div1.path), in_div1.msisdn) == in_div1
    with pytest.raises(ServiceError):
        svc.find_line(db, FleetScope(a.id), "not a number")
    with pytest.raises(ServiceError):  # a line of another customer handed in directly
        _open(db, a, line=foreign)


def test_portal_scope_limited_admin_sees_its_lines_and_its_own_requests(db):
    a = make_customer(db)
    tariff = make_tariff(db)
    root = make_unit(db, a)
    div1, div2 = make_unit(db, a, "Div 1", root), make_unit(db, a, "Div 2", root)
    limited = make_portal_user(db, a, scope_unit=div1)
    company = make_portal_user(db, a)
    r_div1 = _open(db, a, line=make_line(db, a, div1, tariff))
    r_div2 = _open(db, a, line=make_line(db, a, div2, tariff))
    r_company = _open(db, a, "billing")
    own = svc.open_request(
        db,
        Actor("portal", limited.id, limited.email),
        a,
        category="billing",
        subject="Faktura",
        description="Pytanie o fakturę",
    )

    def seen(user, scope):
        return set(db.scalars(svc.for_portal_user(user, scope)))

    assert seen(company, FleetScope(a.id)) == {r_div1, r_div2, r_company, own}
    assert seen(limited, FleetScope(a.id, unit_path=div1.path)) == {r_div1, own}
