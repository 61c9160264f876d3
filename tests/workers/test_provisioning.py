"""Provisioning through a real worker and the network simulator."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select, update

from integrations.network import SimulatedHLR
from models import Line, ProvisioningRequest, RequestStatus, Service
from models.base import utcnow
from services import fleet as fl
from services.audit import Actor
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_line, make_tariff
from workers import queues

pytestmark = pytest.mark.worker
ACTOR = Actor("portal", 1, "admin@test")


def run_worker(session, extra_env=None):
    session.rollback()  # end our read transaction: on SQLite it would hold the write lock
    env = {**os.environ, **(extra_env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_service_change_is_pending_until_the_network_confirms(rt, committed):
    c = make_customer(committed)
    unit = make_unit(committed, c)
    line = make_line(committed, c, unit, make_tariff(committed), svc_roaming=False)
    fl.request_service_change(
        committed, ACTOR, fl.FleetScope(c.id), [line.id], Service.roaming, True
    )
    committed.commit()
    committed.refresh(line)
    assert line.svc_roaming is False  # not before the network said so
    assert rt.queue(queues.PROVISIONING).count == 1
    proc = run_worker(committed)
    committed.expire_all()
    assert committed.get(Line, line.id).svc_roaming is True, proc.stderr[-3000:]
    req = committed.scalar(
        select(ProvisioningRequest).where(ProvisioningRequest.line_id == line.id)
    )
    assert req.status == RequestStatus.completed and req.network_ref


def test_flaky_network_ends_with_every_request_confirmed_or_failed_once(rt, committed):
    c = make_customer(committed)
    unit = make_unit(committed, c)
    tariffs = [make_tariff(committed) for _ in range(3)]
    lines = [make_line(committed, c, unit, tariffs[0]) for _ in range(15)]
    scope = fl.FleetScope(c.id)
    ids = [ln.id for ln in lines]
    # Conflicting requests for the same lines: they must be carried out in order.
    fl.request_service_change(committed, ACTOR, scope, ids, Service.roaming, True)
    fl.request_tariff_change(committed, ACTOR, scope, ids, tariffs[1], {t.id for t in tariffs})
    committed.commit()
    fl.request_tariff_change(committed, ACTOR, scope, ids, tariffs[2], {t.id for t in tariffs})
    committed.commit()

    flaky = {"NETWORK_SIM_FAILURE_RATE": "0.3"}
    for _round in range(12):
        run_worker(committed, flaky)
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
            break
        # Let the back-off time pass (instead of sleeping), then the sweep re-enqueues.
        committed.execute(update(ProvisioningRequest).values(not_before=utcnow()))
        committed.commit()
        rt.queue(queues.PROVISIONING).enqueue("workers.provisioning_jobs.sweep_provisioning")
    committed.expire_all()
    reqs = list(committed.scalars(select(ProvisioningRequest).order_by(ProvisioningRequest.id)))
    assert len(reqs) == 45
    assert {r.status for r in reqs} <= {RequestStatus.completed, RequestStatus.failed}
    sim = SimulatedHLR(rt.redis)
    for r in reqs:
        assert sim.applied_count(f"req-{r.id}") == (1 if r.status == RequestStatus.completed else 0)
        if r.status == RequestStatus.failed:
            assert "network unavailable" in r.last_error
    for line in lines:
        line = committed.get(Line, line.id)
        done = [r for r in reqs if r.line_id == line.id and r.status == RequestStatus.completed]
        tariff_done = [r for r in done if r.action == "change_tariff"]
        expected_tariff = tariff_done[-1].params["tariff_id"] if tariff_done else tariffs[0].id
        assert line.tariff_id == expected_tariff
        assert line.svc_roaming == any(r.action == "set_service" for r in done)
