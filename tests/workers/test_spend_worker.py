"""Spend alerts with a real RQ worker: roaming switched off at 100 % of the limit goes through
provisioning (pending until the network confirms, then off); loading a usage file evaluates the
alerts after its commit. Time is given to the evaluation, not slept."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from models import (
    AuditEvent,
    Line,
    OutgoingMail,
    ProvisioningRequest,
    RequestStatus,
    Service,
    SpendAlert,
)
from services import policies, selfservice, spend_alerts
from services.audit import Actor
from services.usage import local_today
from services.usage_format import WARSAW
from tests.selfservice_factories import make_company
from tests.spend_factories import charge_days
from tests.usage_factories import submit, write_usage
from tests.workers.test_provisioning import run_worker
from workers import queues

pytestmark = pytest.mark.worker

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=WARSAW)


def test_roaming_goes_off_at_the_limit_pending_then_off(rt, committed):
    co = make_company(committed, svc_roaming=True, monthly_limit=250)
    policies.set_rules(committed, Actor.system("test"), co.root, {"spend.roaming_off": "1"})
    charge_days(committed, co.line, date(2026, 10, 28), date(2026, 11, 10), "10.00")
    committed.commit()

    outcome = spend_alerts.evaluate(committed, NOW)
    committed.commit()  # the line's provisioning job is enqueued now
    assert outcome.roaming_off == [co.line.id]
    line = committed.get(Line, co.line.id)
    [req] = committed.scalars(select(ProvisioningRequest)).all()
    assert req.status == RequestStatus.acknowledged  # pending
    assert line.svc_roaming is True  # the network has not confirmed yet
    assert selfservice.expected_service(committed, line, Service.roaming) is False
    assert committed.scalar(select(AuditEvent).where(AuditEvent.action == "spend.roaming_off"))

    run_worker(committed)
    committed.expire_all()
    assert committed.get(ProvisioningRequest, req.id).status == RequestStatus.completed
    assert committed.get(Line, co.line.id).svc_roaming is False

    # The periodic job, told the same time, tells nobody twice and requests nothing more.
    mails = len(committed.scalars(select(OutgoingMail)).all())
    rt.queue(queues.DEFAULT).enqueue("workers.spend_jobs.evaluate_spend", NOW.isoformat())
    run_worker(committed)
    committed.expire_all()
    assert len(committed.scalars(select(OutgoingMail)).all()) == mails
    assert len(committed.scalars(select(ProvisioningRequest)).all()) == 1


def test_loading_a_usage_file_evaluates_the_alerts(rt, committed, tmp_path):
    co = make_company(committed, monthly_limit=20)
    committed.commit()
    today = local_today()
    rows = []
    for n in range(1, 8):
        day = today - timedelta(days=n)
        rows.append(f"{co.line.msisdn},{day.isoformat()}T10:00:00Z,voice,out,domestic,600,5.00")
    file, _created = submit(committed, rt, write_usage(tmp_path, rows))
    file_id = file.id
    committed.commit()
    assert committed.scalars(select(SpendAlert)).all() == []
    rt.queue(queues.USAGE).enqueue(
        "workers.usage_jobs.load_usage_file", file_id, job_id=f"usage-file-{file_id}"
    )
    run_worker(committed)
    committed.expire_all()
    kinds = committed.scalars(select(SpendAlert.kind).where(SpendAlert.line_id == co.line.id))
    assert "100" in set(kinds)  # 5 PLN a day against a limit of 20
    assert committed.scalar(select(OutgoingMail).where(OutgoingMail.recipient == co.user.email))
