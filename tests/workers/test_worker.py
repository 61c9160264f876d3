"""A job runs on a real RQ worker process against the real database and Redis."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from models import MailStatus, OutgoingMail
from services.mail import queue_mail
from workers import queues

pytestmark = pytest.mark.worker


def run_worker_burst(*extra: str, session=None) -> subprocess.CompletedProcess:
    if session is not None:
        session.rollback()  # on SQLite an open transaction would hold the write lock
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "worker", "--burst", *extra],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_mail_is_sent_by_a_real_worker(rt, committed):
    mail = queue_mail(
        committed, "finanse@klient.example", "Faktura 11/2026", "Treść wiadomości", customer_id=None
    )
    committed.commit()
    proc = run_worker_burst()
    assert proc.returncode == 0, proc.stderr[-2000:]
    committed.expire_all()
    row = committed.get(OutgoingMail, mail.id)
    assert row.status == MailStatus.sent and row.attempts == 1
    files = list((rt.settings.instance_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    body = files[0].read_text()
    assert "finanse@klient.example" in body and "Faktura 11/2026" in body


def test_sweep_resends_mail_whose_job_was_lost_and_never_twice(rt, committed):
    from datetime import timedelta

    from models.base import utcnow
    from workers import queues

    mail = queue_mail(committed, "x@klient.example", "Lost", "Body")
    committed.commit()
    rt.redis.flushdb()  # Redis lost the job
    committed.get(OutgoingMail, mail.id).updated_at = utcnow() - timedelta(minutes=10)
    committed.commit()
    rt.queue(queues.MAIL).enqueue("workers.mail_jobs.sweep_mail")
    assert run_worker_burst().returncode == 0
    # A second delivery of the same job finds the mail sent and does nothing.
    rt.queue(queues.MAIL).enqueue("workers.mail_jobs.send_mail", mail.id)
    assert run_worker_burst().returncode == 0
    committed.expire_all()
    assert committed.get(OutgoingMail, mail.id).status == MailStatus.sent
    assert len(list((rt.settings.instance_path / "outbox").glob("*.eml"))) == 1


def test_every_periodic_job_is_registered_with_a_valid_schedule(rt):
    """A sweep given a cron expression, or a cron job given seconds, stops the scheduler."""
    from croniter import croniter

    from workers import periodic

    for func, queue, interval in periodic.SWEEPS:
        assert isinstance(interval, int) and interval > 0, func.__name__
        assert queue in queues.ALL, func.__name__
    for func, queue, cron in periodic.CRON:
        assert isinstance(cron, str) and croniter.is_valid(cron), func.__name__
        assert queue in queues.ALL, func.__name__
    jobs = periodic.build_scheduler(rt).get_jobs()
    assert len(jobs) == len(periodic.SWEEPS) + len(periodic.CRON)
