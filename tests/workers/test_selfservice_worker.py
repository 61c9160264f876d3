"""Self-service changes through a real RQ worker and the network simulator, with the time of the
scheduled changes given to the sweep (not slept)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from integrations.network import SimulatedHLR
from models import (
    Line,
    ProvisioningRequest,
    RequestStatus,
    ScheduledChange,
    ScheduleState,
)
from models.base import utcnow
from services import selfservice
from services.audit import Actor
from tests.selfservice_factories import make_company
from tests.workers.test_provisioning import run_worker
from workers import queues

pytestmark = pytest.mark.worker


def _fire(rt, when):
    rt.queue(queues.PROVISIONING).enqueue(
        "workers.selfservice_jobs.fire_scheduled", when.isoformat()
    )


def test_roaming_period_ends_and_switches_off_by_itself(rt, committed):
    co = make_company(committed)
    actor = Actor("portal", co.user.id, co.user.email)
    today = selfservice.warsaw_today()
    req = selfservice.ask_roaming(
        committed, actor, co.user, co.line, "eu", today, today + timedelta(days=2)
    )
    committed.commit()
    run_worker(committed)
    committed.expire_all()
    assert committed.get(Line, co.line.id).svc_roaming is True  # confirmed by the network

    # Redis forgets everything (a restart): the end of the period is in the database.
    rt.redis.flushdb()
    end = selfservice.day_start(req.end_date + timedelta(days=1))
    _fire(rt, end - timedelta(minutes=1))  # not yet
    run_worker(committed)
    committed.expire_all()
    assert committed.get(Line, co.line.id).svc_roaming is True
    _fire(rt, end + timedelta(minutes=1))
    _fire(rt, end + timedelta(minutes=2))  # a second sweep does nothing more
    run_worker(committed)
    committed.expire_all()
    assert committed.get(Line, co.line.id).svc_roaming is False
    [change] = committed.scalars(select(ScheduledChange)).all()
    assert change.state == ScheduleState.fired
    reqs = list(committed.scalars(select(ProvisioningRequest).order_by(ProvisioningRequest.id)))
    assert [(r.params["on"], r.status) for r in reqs] == [
        (True, RequestStatus.completed),
        (False, RequestStatus.completed),
    ]
    assert reqs[1].id == change.provisioning_request_id


def _drain(rt, committed, env):
    for _round in range(15):
        run_worker(committed, env)
        open_ = committed.scalar(
            select(ProvisioningRequest.id)
            .where(
                ProvisioningRequest.status.in_(
                    [RequestStatus.acknowledged, RequestStatus.inProgress]
                )
            )
            .limit(1)
        )
        if open_ is None:
            return
        # the back-off passes (instead of sleeping); the sweep re-enqueues
        committed.execute(update(ProvisioningRequest).values(not_before=utcnow()))
        committed.commit()
        rt.queue(queues.PROVISIONING).enqueue("workers.provisioning_jobs.sweep_provisioning")
    raise AssertionError("requests still open after 15 rounds")


def test_flaky_network_ends_every_scheduled_period_confirmed_or_visibly_failed(rt, committed):
    companies = [make_company(committed) for _ in range(8)]
    tomorrow = selfservice.warsaw_today() + timedelta(days=1)
    for co in companies:
        actor = Actor("portal", co.user.id, co.user.email)
        selfservice.ask_roaming(
            committed, actor, co.user, co.line, "eu", tomorrow, tomorrow + timedelta(days=1)
        )
    committed.commit()
    flaky = {"NETWORK_SIM_FAILURE_RATE": "0.3"}
    start = selfservice.day_start(tomorrow)
    _fire(rt, start + timedelta(minutes=1))
    _drain(rt, committed, flaky)
    _fire(rt, start + timedelta(days=2, minutes=1))
    _fire(rt, start + timedelta(days=2, minutes=1))
    _drain(rt, committed, flaky)

    committed.expire_all()
    changes = list(committed.scalars(select(ScheduledChange)))
    assert len(changes) == 16 and {c.state for c in changes} == {ScheduleState.fired}
    reqs = list(committed.scalars(select(ProvisioningRequest).order_by(ProvisioningRequest.id)))
    assert len(reqs) == 16  # one per scheduled change: none lost, none doubled
    assert {r.status for r in reqs} <= {RequestStatus.completed, RequestStatus.failed}
    sim = SimulatedHLR(rt.redis)
    for r in reqs:
        assert sim.applied_count(f"req-{r.id}") == (1 if r.status == RequestStatus.completed else 0)
        if r.status == RequestStatus.failed:
            assert "network unavailable" in r.last_error  # visible, with the reason
    for co in companies:
        line = committed.get(Line, co.line.id)
        done = [r for r in reqs if r.line_id == line.id and r.status == RequestStatus.completed]
        assert line.svc_roaming == (done[-1].params["on"] if done else False)
