"""Mail leaves through a real SMTP server (aiosmtpd, in this process) sent by a real RQ worker
process: headers and Polish text arrive intact, temporary refusals are retried with back-off,
the last failure is recorded, a permanent refusal fails at once, nothing is sent twice."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from models import (
    Contact,
    ContactRole,
    MailStatus,
    OutgoingMail,
    PortalRole,
    StaffRole,
)
from services import mail as mail_service
from services.mail import queue_mail
from tests.conftest import login_console, post_form
from tests.factories import PASSWORD, make_customer, make_portal_user, make_staff
from workers import queues

pytestmark = pytest.mark.worker


class Handler:
    """Accepts mail, or refuses each recipient with ``refuse`` for the first ``times`` tries."""

    def __init__(self, refuse: str | None = None, times: int = 10**6) -> None:
        self.refuse, self.times = refuse, times
        self.tries = 0
        self.received: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.tries += 1
        if self.refuse and self.tries <= self.times:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    servers = []

    def start(handler: Handler) -> tuple[Handler, int]:
        port = _free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        return handler, port

    yield start
    for controller in servers:
        controller.stop()


def run_worker(port: int, session=None) -> subprocess.CompletedProcess:
    if session is not None:
        session.rollback()  # on SQLite an open transaction would hold the write lock
    env = {
        **os.environ,
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "MAIL_SENDER": "Opiekun Klienta <biuro@operator.example>",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "worker", "--burst", "--queues", queues.MAIL],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def release_retries(rt) -> list[str]:
    """Do what RQ's scheduler does when a retry's back-off is over: move it to its queue."""
    queue = rt.queue(queues.MAIL)
    registry = ScheduledJobRegistry(queue=queue)
    ids = registry.get_job_ids()
    for job_id in ids:
        registry.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=rt.redis))
    return ids


def _parse(raw: bytes):
    return message_from_bytes(raw, policy=email_policy.default)


def test_messages_arrive_with_headers_and_polish_text(rt, committed, smtp):
    handler, port = smtp(Handler())
    body = "Dzień dobry Pani Zofio,\n\nzażółć gęślą jaźń — ŻÓŁW i Źdźbło.\n"
    first = queue_mail(
        committed,
        "zofia@klient.example",
        "Oferta dla Spółdzielni „Łąka”",
        body,
        "<p>zażółć gęślą jaźń</p>",
    )
    second = queue_mail(committed, "jan@klient.example", "Faktura 11/2026", "Treść")
    committed.commit()
    run_worker(port, committed)

    assert len(handler.received) == 2
    by_rcpt = {rcpts[0]: (sender, _parse(raw)) for sender, rcpts, raw in handler.received}
    sender, msg = by_rcpt["zofia@klient.example"]
    assert sender == "biuro@operator.example"
    assert msg["From"] == "Opiekun Klienta <biuro@operator.example>"
    assert msg["To"] == "zofia@klient.example"
    assert msg["Subject"] == "Oferta dla Spółdzielni „Łąka”"
    assert msg["Message-ID"].startswith(f"<mail-{first.id}-")
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == body  # SMTP: CRLF
    assert "zażółć gęślą jaźń" in msg.get_body(("html",)).get_content()
    committed.expire_all()
    for mail_id in (first.id, second.id):
        row = committed.get(OutgoingMail, mail_id)
        assert row.status == MailStatus.sent and row.attempts == 1 and row.sent_at


def test_temporary_refusal_is_retried_after_a_back_off(rt, committed, smtp):
    handler, port = smtp(Handler("451 4.3.0 Try again later", times=1))
    mail = queue_mail(committed, "zofia@klient.example", "Temat", "Treść")
    committed.commit()

    run_worker(port, committed)
    committed.expire_all()
    row = committed.get(OutgoingMail, mail.id)
    assert row.status == MailStatus.queued and row.attempts == 1
    assert row.last_error == "zofia@klient.example: 451 4.3.0 Try again later"
    assert handler.received == []
    registry = ScheduledJobRegistry(queue=rt.queue(queues.MAIL))
    assert registry.get_job_ids() == [f"mail-{mail.id}"]
    # RQ's back-off: the retry is due the first interval after the failed attempt.
    due = registry.get_scheduled_time(f"mail-{mail.id}")
    wait = due - row.updated_at
    assert abs(wait - timedelta(seconds=mail_service.RETRY_INTERVALS[0])) < timedelta(seconds=2)

    release_retries(rt)
    run_worker(port, committed)
    committed.expire_all()
    row = committed.get(OutgoingMail, mail.id)
    assert row.status == MailStatus.sent and row.attempts == 2 and row.last_error is None
    assert len(handler.received) == 1


def test_refused_every_time_fails_after_the_last_attempt(rt, committed, smtp, monkeypatch):
    # No back-off in this test, so RQ runs every retry at once in one burst.
    monkeypatch.setattr(mail_service, "RETRY_INTERVALS", [0] * len(mail_service.RETRY_INTERVALS))
    handler, port = smtp(Handler("451 4.3.0 Try again later"))
    mail = queue_mail(committed, "zofia@klient.example", "Temat", "Treść")
    committed.commit()
    run_worker(port, committed)

    committed.expire_all()
    row = committed.get(OutgoingMail, mail.id)
    assert row.status == MailStatus.failed
    assert row.attempts == mail_service.MAX_ATTEMPTS == handler.tries
    assert "451 4.3.0 Try again later" in row.last_error
    assert handler.received == []
    assert Job.fetch(f"mail-{mail.id}", connection=rt.redis).get_status() == "failed"


def test_permanent_refusal_fails_at_once(rt, committed, smtp):
    _handler, port = smtp(Handler("550 5.1.1 Mailbox does not exist"))
    mail = queue_mail(committed, "nikt@klient.example", "Temat", "Treść")
    committed.commit()
    run_worker(port, committed)

    committed.expire_all()
    row = committed.get(OutgoingMail, mail.id)
    assert row.status == MailStatus.failed and row.attempts == 1
    assert row.last_error == "nikt@klient.example: 550 5.1.1 Mailbox does not exist"
    assert ScheduledJobRegistry(queue=rt.queue(queues.MAIL)).get_job_ids() == []


def test_a_job_delivered_twice_sends_once(rt, committed, smtp):
    handler, port = smtp(Handler())
    mail = queue_mail(committed, "zofia@klient.example", "Temat", "Treść")
    committed.commit()
    # RQ delivers at least once: the same job arrives a second time.
    rt.queue(queues.MAIL).enqueue("workers.mail_jobs.send_mail", mail.id, job_id="duplicate")
    run_worker(port, committed)
    run_worker(port)
    assert len(handler.received) == 1
    committed.expire_all()
    assert committed.get(OutgoingMail, mail.id).attempts == 1


def test_written_in_the_console_and_received_by_smtp(rt, app, committed, smtp):
    handler, port = smtp(Handler())
    anna = make_staff(committed, StaffRole.account_manager, full_name="Anna Opiekun")
    customer = make_customer(committed, name="Spółka Łączność", account_manager_id=anna.id)
    committed.add(
        Contact(
            customer_id=customer.id,
            full_name="Zofia Żak",
            email="zofia@lacznosc.example",
            role=ContactRole.finance,
        )
    )
    make_portal_user(
        committed, customer, PortalRole.fleet_admin, email="it@lacznosc.example", full_name="Ewa"
    )
    committed.commit()

    client = app.test_client()
    assert login_console(client, anna.email, PASSWORD).status_code == 302
    r = post_form(
        client,
        "/admin/mail/compose",
        {
            "customer": [customer.id],
            "contact_roles": ["finance"],
            "portal_roles": ["fleet_admin"],
            "subject": "Rozliczenie dla {customer_name}",
            "body": "Dzień dobry {contact_name},\npozdrawiam, {manager_name}",
            "action": "send",
        },
    )
    assert r.status_code == 302
    run_worker(port, committed)

    received = {rcpts[0]: _parse(raw) for _sender, rcpts, raw in handler.received}
    assert set(received) == {"zofia@lacznosc.example", "it@lacznosc.example"}
    msg = received["zofia@lacznosc.example"]
    assert msg["Subject"] == "Rozliczenie dla Spółka Łączność"
    assert msg.get_body(("plain",)).get_content().startswith("Dzień dobry Zofia Żak,")
    assert "pozdrawiam, Anna Opiekun" in msg.get_body(("plain",)).get_content()
    committed.expire_all()
    rows = committed.scalars(select(OutgoingMail).where(OutgoingMail.customer_id == customer.id))
    assert {(r.status, r.staff_user_id) for r in rows} == {(MailStatus.sent, anna.id)}
