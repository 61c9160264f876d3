"""Spend alerts: thresholds of the projected month-end spend, told once each; the roaming cap;
roaming switched off where the policy says so. Time is given to the evaluation."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from models import AuditEvent, OutgoingMail, ProvisioningRequest, SpendAlert, Zone
from services import policies, spend_alerts
from services.audit import Actor
from services.usage_format import WARSAW
from tests.selfservice_factories import make_company
from tests.spend_factories import charge_days

ADMIN = Actor("portal", 1, "admin@test")
# Wednesday 11 November 2026, noon in Warsaw: the window is 28 Oct – 10 Nov.
NOW = datetime(2026, 11, 11, 12, 0, tzinfo=WARSAW)


def _busy_line(db, limit: str, **kw):
    """10 PLN a day for the last two weeks: 100 PLN so far, 300 PLN projected for November."""
    co = make_company(db, **kw)
    co.line.monthly_limit = Decimal(limit)
    charge_days(db, co.line, date(2026, 10, 28), date(2026, 11, 10), "10.00")
    return co


def _mails(db):
    return list(db.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))


def test_each_threshold_is_told_once(db):
    co = _busy_line(db, "1000")
    assert spend_alerts.evaluate(db, NOW).alerts == 0  # 30 %
    recipients = {co.user.email, co.admin.email, co.sales_admin.email}
    seen = 0
    for limit, threshold in (("550", "50"), ("370", "80"), ("290", "100")):
        co.line.monthly_limit = Decimal(limit)
        spend_alerts.evaluate(db, NOW)
        spend_alerts.evaluate(db, NOW)  # a second run tells nothing more
        mails = _mails(db)[seen:]
        seen += len(mails)
        assert {m.recipient for m in mails} == recipients
        assert len(mails) == len(recipients)
        assert all(f"{threshold}%" in m.subject for m in mails)
    kinds = db.scalars(select(SpendAlert.kind).where(SpendAlert.line_id == co.line.id)).all()
    assert sorted(kinds) == ["100", "50", "80"]
    # next month starts afresh: 140 so far, 260 projected against 290 → 50 % and 80 % again
    charge_days(db, co.line, date(2026, 12, 6), date(2026, 12, 19), "10.00")
    outcome = spend_alerts.evaluate(db, datetime(2026, 12, 20, 12, tzinfo=WARSAW))
    assert outcome.alerts == 2
    december = db.scalars(select(SpendAlert.kind).where(SpendAlert.month == date(2026, 12, 1)))
    assert sorted(december) == ["50", "80"]


def test_the_projection_is_alerted_not_only_the_running_total(db):
    co = _busy_line(db, "250")  # so far 100 (40 %), projected 300 (120 %)
    outcome = spend_alerts.evaluate(db, NOW)
    assert outcome.alerts == 3
    mails = [m for m in _mails(db) if m.recipient == co.user.email]
    assert len(mails) == 1  # one mail for the jump, at the highest threshold
    assert "100%" in mails[0].subject
    assert "projection" in mails[0].body_text
    assert "300" in mails[0].body_text and "100" in mails[0].body_text


def test_a_line_under_its_projection_thresholds_is_not_alerted(db):
    co = _busy_line(db, "700")  # projected 300: 42 %
    assert spend_alerts.evaluate(db, NOW).alerts == 0
    assert db.scalars(select(SpendAlert).where(SpendAlert.line_id == co.line.id)).all() == []


def test_roaming_off_at_the_limit_only_where_the_policy_says(db):
    co = _busy_line(db, "250", svc_roaming=True)
    spend_alerts.evaluate(db, NOW)
    assert db.scalars(select(ProvisioningRequest)).all() == []  # the default: leave it on

    other = _busy_line(db, "250", svc_roaming=True)
    policies.set_rules(db, ADMIN, other.sales, {"spend.roaming_off": "1"})
    outcome = spend_alerts.evaluate(db, NOW)
    assert outcome.roaming_off == [other.line.id]
    [req] = db.scalars(select(ProvisioningRequest)).all()
    assert (req.line_id, req.action, req.params) == (
        other.line.id,
        "set_service",
        {"service": "roaming", "on": False},
    )
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "spend.roaming_off"))
    assert event.after["rule"] == "spend.roaming_off"
    assert event.after["unit_id"] == other.sales.id
    told = [m for m in _mails(db) if m.recipient == other.user.email]
    assert "switched off" in told[0].body_text
    assert co.line.svc_roaming is True


def test_roaming_cap(db):
    co = make_company(db, svc_roaming=True)
    policies.set_rules(db, ADMIN, co.root, {"roaming.spend_cap": "50", "roaming.cap_off": "1"})
    charge_days(db, co.line, date(2026, 11, 2), date(2026, 11, 5), "10.00", Zone.europe)
    assert spend_alerts.evaluate(db, NOW).alerts == 0  # 40 PLN of 50
    charge_days(db, co.line, date(2026, 11, 6), date(2026, 11, 6), "15.00", Zone.eu)
    outcome = spend_alerts.evaluate(db, NOW)
    assert outcome.roaming_off == [co.line.id]
    [alert] = db.scalars(select(SpendAlert)).all()
    assert (alert.kind, alert.amount, alert.limit) == ("roaming_cap", Decimal("55.00"), 50)
    assert alert.roaming_off_request_id is not None
    assert spend_alerts.evaluate(db, NOW).alerts == 0
    assert len(db.scalars(select(ProvisioningRequest)).all()) == 1
    mails = [m for m in _mails(db) if m.recipient == co.user.email]
    assert len(mails) == 1 and "cap" in mails[0].subject


def test_no_cap_no_alert_and_a_line_already_off_is_not_switched(db):
    co = make_company(db, svc_roaming=False)
    charge_days(db, co.line, date(2026, 11, 2), date(2026, 11, 5), "100.00", Zone.world)
    assert spend_alerts.evaluate(db, NOW).alerts == 0  # no cap set
    policies.set_rules(db, ADMIN, co.root, {"roaming.spend_cap": "50", "roaming.cap_off": "1"})
    outcome = spend_alerts.evaluate(db, NOW + timedelta(hours=1))
    assert outcome.alerts == 1 and outcome.roaming_off == []
    assert db.scalars(select(ProvisioningRequest)).all() == []


def test_policy_switch_is_inherited_with_its_source(db):
    co = make_company(db)
    policies.set_rules(db, ADMIN, co.root, {"spend.roaming_off": "1"})
    eff = policies.effective(db, co.team)["spend.roaming_off"]
    assert eff.value is True and eff.unit.id == co.root.id
    policies.set_rules(db, ADMIN, co.sales, {"spend.roaming_off": "0"})
    eff = policies.effective(db, co.team)["spend.roaming_off"]
    assert eff.value is False and eff.unit.id == co.sales.id


def test_a_threshold_recorded_meanwhile_by_another_run_is_left_out(db):
    """Two evaluations at once: the unique key lets one record a threshold; the other keeps the
    rest of its batch."""
    first = make_company(db)
    second = make_company(db)
    month = date(2026, 11, 1)
    db.add(spend_alerts._row(first.line, month, "50", Decimal("60"), Decimal("100"), True))
    db.flush()
    plans = [
        ([spend_alerts._row(ln, month, "50", Decimal("60"), Decimal("100"), True)], ln.id)
        for ln in (first.line, second.line)
    ]
    done = spend_alerts._record(db, plans)
    assert [then for _rows, then in done] == [second.line.id]
    assert db.scalars(select(SpendAlert.line_id).order_by(SpendAlert.id)).all() == [
        first.line.id,
        second.line.id,
    ]
