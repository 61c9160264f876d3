from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from models import (
    OutgoingMail,
    ProvisioningRequest,
    RequestStatus,
    ScheduledChange,
    ScheduleState,
    SelfServiceState,
    Service,
)
from services import ServiceError, approvals, policies, provisioning, scheduled_changes, selfservice
from services.audit import Actor
from tests.selfservice_factories import make_company

ADMIN = Actor("portal", 1, "admin@test")
NOW = datetime(2026, 5, 2, 10, 0, tzinfo=UTC)  # Saturday 2 May, noon in Warsaw


def _employee(co):
    return Actor("portal", co.user.id, co.user.email)


def _requests(db, line):
    return list(
        db.scalars(
            select(ProvisioningRequest)
            .where(ProvisioningRequest.line_id == line.id)
            .order_by(ProvisioningRequest.id)
        )
    )


def test_service_within_policy_goes_to_the_network_and_stays_pending(db):
    co = make_company(db, svc_data=False)
    req = selfservice.ask_service(db, _employee(co), co.user, co.line, Service.data, True)
    assert req.state == SelfServiceState.done
    [prov] = _requests(db, co.line)
    assert prov.params == {"service": "data", "on": True}
    assert prov.status == RequestStatus.acknowledged
    assert co.line.svc_data is False  # not before the network confirms


def test_refusal_names_the_rule_its_unit_and_the_admin(db):
    co = make_company(db)
    policies.set_rules(db, ADMIN, co.sales, {"service.intl_calls": "never"})
    req = selfservice.ask_service(db, _employee(co), co.user, co.line, Service.intl_calls, True)
    assert req.state == SelfServiceState.refused
    text = str(selfservice.refusal_text(req.params["refusal"]))
    assert "International calls" in text and "Sprzedaż" in text
    # the nearest admin is the one limited to sales, not the company-wide one
    assert "Sebastian Sprzedaż" in text and co.sales_admin.email in text
    assert _requests(db, co.line) == []


def test_switching_off_a_costly_service_is_always_allowed(db):
    co = make_company(db, svc_roaming=True)
    policies.set_rules(db, ADMIN, co.root, {"service.roaming": "never"})
    req = selfservice.ask_service(db, _employee(co), co.user, co.line, Service.roaming, False)
    assert req.state == SelfServiceState.done


def test_roaming_zone_beyond_the_policy_is_refused(db):
    co = make_company(db)
    policies.set_rules(db, ADMIN, co.root, {"roaming.zone": "europe"})
    req = selfservice.ask_roaming(
        db, _employee(co), co.user, co.line, "world", date(2026, 5, 3), date(2026, 5, 10), NOW
    )
    assert req.state == SelfServiceState.refused
    assert req.params["refusal"]["rule"] == "roaming.zone"
    assert req.params["refusal"]["unit"] == "Firma"
    assert db.scalars(select(ScheduledChange)).all() == []


def test_roaming_period_is_scheduled_in_warsaw_time_and_fires_once(db):
    co = make_company(db)
    policies.set_rules(db, ADMIN, co.root, {"roaming.zone": "europe"})
    req = selfservice.ask_roaming(
        db, _employee(co), co.user, co.line, "europe", date(2026, 5, 3), date(2026, 5, 10), NOW
    )
    assert req.state == SelfServiceState.done
    changes = list(db.scalars(select(ScheduledChange).order_by(ScheduledChange.due_at)))
    # 00:00 Warsaw (UTC+2 in May) on the 3rd, and after the 10th
    assert [c.due_at for c in changes] == [
        datetime(2026, 5, 2, 22, 0, tzinfo=UTC),
        datetime(2026, 5, 10, 22, 0, tzinfo=UTC),
    ]
    assert [c.params["on"] for c in changes] == [True, False]
    assert scheduled_changes.fire_due(db, NOW) == 0
    assert scheduled_changes.fire_due(db, datetime(2026, 5, 3, 8, 0, tzinfo=UTC)) == 1
    assert scheduled_changes.fire_due(db, datetime(2026, 5, 3, 9, 0, tzinfo=UTC)) == 0  # once
    [on] = _requests(db, co.line)
    assert on.params == {"service": "roaming", "on": True, "zone": "europe"}
    assert scheduled_changes.fire_due(db, datetime(2026, 5, 11, tzinfo=UTC)) == 1
    assert [r.params["on"] for r in _requests(db, co.line)] == [True, False]
    assert {c.state for c in changes} == {ScheduleState.fired}


def test_roaming_starting_today_is_requested_now(db):
    co = make_company(db)
    today = selfservice.warsaw_today()
    selfservice.ask_roaming(
        db, _employee(co), co.user, co.line, "eu", today, today + timedelta(days=2)
    )
    [on] = _requests(db, co.line)
    assert on.params["on"] is True
    [off] = db.scalars(select(ScheduledChange)).all()
    assert off.params == {"service": "roaming", "on": False}


def test_bad_periods_are_refused(db):
    co = make_company(db)
    ask = lambda zone, a, b: selfservice.ask_roaming(  # noqa: E731
        db, _employee(co), co.user, co.line, zone, a, b, NOW
    )
    with pytest.raises(ServiceError):
        ask("eu", date(2026, 5, 10), date(2026, 5, 3))
    with pytest.raises(ServiceError):
        ask("eu", date(2026, 4, 30), date(2026, 5, 3))
    with pytest.raises(ServiceError):
        ask("mars", date(2026, 5, 3), date(2026, 5, 4))
    ask("eu", date(2026, 5, 3), date(2026, 5, 4))
    with pytest.raises(ServiceError):  # overlaps the one just asked for
        ask("eu", date(2026, 5, 4), date(2026, 5, 6))


def test_longer_than_the_self_service_limit_needs_approval_and_mails_both_sides(db):
    co = make_company(db)
    policies.set_rules(db, ADMIN, co.root, {"roaming.max_days": "3"})
    start = selfservice.warsaw_today() + timedelta(days=5)
    req = selfservice.ask_roaming(
        db, _employee(co), co.user, co.line, "eu", start, start + timedelta(days=7)
    )
    assert req.state == SelfServiceState.pending
    to_admins = {m.recipient for m in db.scalars(select(OutgoingMail))}
    assert to_admins == {co.admin.email, co.sales_admin.email}
    scope = selfservice_scope(co.sales_admin)
    assert [r.id for r in approvals.pending(db, scope)] == [req.id]
    assert approvals.pending(db, selfservice_scope(co.admin, co.other)) == []

    approvals.approve(db, ADMIN, req, co.sales_admin)
    assert req.state == SelfServiceState.approved
    assert len(db.scalars(select(ScheduledChange)).all()) == 2
    mails = list(db.scalars(select(OutgoingMail).where(OutgoingMail.recipient == co.user.email)))
    assert len(mails) == 1 and "approved" in mails[0].body_text
    with pytest.raises(ServiceError):
        approvals.approve(db, ADMIN, req, co.sales_admin)  # decided already


def test_rejection_needs_a_reason_and_tells_the_employee(db):
    co = make_company(db, svc_intl_calls=False)
    req = selfservice.ask_service(db, _employee(co), co.user, co.line, Service.intl_calls, True)
    assert req.state == SelfServiceState.pending  # the default: approval
    with pytest.raises(ServiceError):
        approvals.reject(db, ADMIN, req, co.admin, "  ")
    approvals.reject(db, ADMIN, req, co.admin, "Nie w tym kwartale")
    assert req.state == SelfServiceState.rejected
    mail = db.scalar(select(OutgoingMail).where(OutgoingMail.recipient == co.user.email))
    assert "Nie w tym kwartale" in mail.body_text
    assert provisioning.open_requests(db, [co.line.id]) == {}


def selfservice_scope(user, unit=None):
    from services.fleet import FleetScope

    path = unit.path if unit else (user.scope_unit.path if user.scope_unit else None)
    return FleetScope(user.customer_id, unit_path=path)


def test_ending_a_trip_early_switches_roaming_off_and_cancels_the_schedule(db):
    co = make_company(db)
    today = selfservice.warsaw_today()
    trip = selfservice.ask_roaming(
        db, _employee(co), co.user, co.line, "eu", today, today + timedelta(days=3)
    )
    later = selfservice.ask_roaming(
        db,
        _employee(co),
        co.user,
        co.line,
        "eu",
        today + timedelta(days=10),
        today + timedelta(days=11),
    )
    selfservice.cancel(db, _employee(co), later)  # not started: only the schedule goes
    assert [r.params["on"] for r in _requests(db, co.line)] == [True]
    selfservice.cancel(db, _employee(co), trip)  # started: roaming off now
    assert [r.params["on"] for r in _requests(db, co.line)] == [True, False]
    states = {c.state for c in db.scalars(select(ScheduledChange))}
    assert states == {ScheduleState.cancelled}
    with pytest.raises(ServiceError):
        selfservice.cancel(db, _employee(co), trip)


def test_two_admins_deciding_at_once_one_wins(db):
    from sqlalchemy import update

    from models import SelfServiceRequest

    co = make_company(db, svc_intl_calls=False)
    req = selfservice.ask_service(db, _employee(co), co.user, co.line, Service.intl_calls, True)
    # the other admin's decision lands first; this admin's page still shows it pending
    db.execute(
        update(SelfServiceRequest)
        .where(SelfServiceRequest.id == req.id)
        .values(state=SelfServiceState.rejected)
        .execution_options(synchronize_session=False)
    )
    assert req.state == SelfServiceState.pending
    with pytest.raises(ServiceError):
        approvals.approve(db, ADMIN, req, co.admin)
    assert provisioning.open_requests(db, [co.line.id]) == {}
