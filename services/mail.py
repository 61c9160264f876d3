"""Queueing e-mail: a row now, the sending after the commit, by a worker."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core import aftercommit
from core.i18n import _l
from models import MailStatus, OutgoingMail
from models.base import utcnow
from services import ServiceError, audit
from services.audit import Actor
from workers import queues

MAX_ATTEMPTS = 6
RETRY_INTERVALS = [10, 30, 60, 300, 900]
CLAIM = timedelta(minutes=2)


def queue_mail(
    session: Session,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    customer_id: int | None = None,
    *,
    staff_user_id: int | None = None,
    template_id: int | None = None,
) -> OutgoingMail:
    mail = OutgoingMail(
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        customer_id=customer_id,
        staff_user_id=staff_user_id,
        template_id=template_id,
        status=MailStatus.queued,
    )
    return queue_many(session, [mail])[0]


def queue_many(session: Session, mails: list[OutgoingMail]) -> list[OutgoingMail]:
    """Queue new rows in one flush; each is sent by its own job after the commit (the jobs
    go to Redis in one round trip)."""
    for mail in mails:
        mail.status = MailStatus.queued
    session.add_all(mails)
    session.flush()
    if len(mails) == 1:
        enqueue_send(session, mails[0].id)
    elif mails:
        aftercommit.add(session, _enqueue_sends, session.info["runtime"], [m.id for m in mails])
    return mails


def _enqueue_sends(runtime, mail_ids: list[int]) -> None:
    from rq import Queue, Retry

    runtime.queue(queues.MAIL).enqueue_many(
        [
            Queue.prepare_data(
                "workers.mail_jobs.send_mail",
                (mail_id,),
                job_id=f"mail-{mail_id}",
                timeout=120,
                retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            )
            for mail_id in mail_ids
        ]
    )


def enqueue_send(session: Session, mail_id: int) -> None:
    from rq import Retry

    aftercommit.enqueue(
        session,
        queues.MAIL,
        "workers.mail_jobs.send_mail",
        mail_id,
        job_id=f"mail-{mail_id}",
        job_timeout=120,
        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
    )


def claim(session: Session, mail_id: int) -> bool:
    """Take the right to send this mail now. False: sent, failed, or another sender has it."""
    now = utcnow()
    result = session.execute(
        update(OutgoingMail)
        .where(
            OutgoingMail.id == mail_id,
            OutgoingMail.status == MailStatus.queued,
            or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now),
        )
        .values(claimed_until=now + CLAIM, attempts=OutgoingMail.attempts + 1)
    )
    return result.rowcount == 1


def mark_sent(session: Session, mail: OutgoingMail) -> None:
    mail.status = MailStatus.sent
    mail.sent_at = utcnow()
    mail.claimed_until = None
    mail.last_error = None
    session.flush()


def mark_failed_attempt(session: Session, mail: OutgoingMail, error: str, final: bool) -> None:
    mail.last_error = error[:500]
    mail.claimed_until = None
    if final or mail.attempts >= MAX_ATTEMPTS:
        mail.status = MailStatus.failed
    session.flush()


def retry_failed(session: Session, actor: Actor, mails: list[OutgoingMail]) -> int:
    """Send failed mails again, with a fresh round of attempts. Others are left alone."""
    failed = [m for m in mails if m.status == MailStatus.failed]
    if not failed:
        raise ServiceError(_l("Only a message that failed can be sent again."))
    by_customer: dict[int | None, list[OutgoingMail]] = {}
    for mail in failed:
        mail.status = MailStatus.queued
        mail.attempts = 0
        mail.claimed_until = None
        by_customer.setdefault(mail.customer_id, []).append(mail)
    session.flush()
    for customer_id, group in by_customer.items():
        audit.record(
            session,
            actor,
            "mail.retried",
            customer_id=customer_id,
            obj=group[0] if len(group) == 1 else None,
            object_type="outgoing_mail",
            after={
                "count": len(group),
                "recipients": sorted({m.recipient for m in group})[:50],
            },
        )
    for mail in failed:
        enqueue_send(session, mail.id)
    session.flush()
    return len(failed)


def stale(session: Session, older_than: timedelta = timedelta(minutes=5)) -> list[int]:
    """Queued mails whose job seems lost (worker killed, Redis restarted)."""
    now = utcnow()
    return list(
        session.scalars(
            select(OutgoingMail.id).where(
                OutgoingMail.status == MailStatus.queued,
                OutgoingMail.updated_at < now - older_than,
                or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now),
            )
        )
    )
