"""Billing on real RQ workers: several processes bill many customers at once, the numbers of
the series stay gapless and unique, every invoice gets its KSeF number, and a repeated run
issues nothing twice."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from integrations.ksef import is_valid_number
from models import BillingRun, Invoice, KsefStatus, RunStatus
from services import billing
from services.billing_period import Period
from tests.billing_factories import billing_customer

pytestmark = pytest.mark.worker

NOV = Period.month(2026, 11)


def start_workers(n: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "core.cli", "worker", "--burst", "--queues", "billing"],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]


def wait_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]


def test_parallel_workers_number_gapless_and_send_to_ksef(rt, committed):
    customers = [billing_customer(committed, 2)[0] for _ in range(16)]
    committed.commit()
    for customer in customers:
        billing.request_run(committed, customer, NOV, "test")
    committed.commit()  # enqueues 16 run jobs

    wait_all(start_workers(4))

    committed.expire_all()
    runs = committed.scalars(select(BillingRun)).all()
    assert [r.status for r in runs] == [RunStatus.done] * 16, [r.error for r in runs]
    seqs = sorted(committed.scalars(select(Invoice.seq).where(Invoice.series == "FV")))
    assert seqs == list(range(1, 17))  # gapless, unique
    issued = committed.scalars(select(Invoice)).all()
    assert all(
        i.ksef_status == KsefStatus.accepted and is_valid_number(i.ksef_number) for i in issued
    )

    # The monthly sweep and a repeated request change nothing.
    rt.queue("billing").enqueue("workers.billing_jobs.monthly_billing")
    billing.request_run(committed, customers[0], NOV, "again")
    committed.commit()
    wait_all(start_workers(2))
    committed.expire_all()
    assert committed.scalar(select(func.count()).select_from(Invoice)) == 16
