"""Sending queued e-mail."""

from __future__ import annotations

from rq import get_current_job

from core import mail as mailer
from models import OutgoingMail
from services import mail
from workers.context import runtime, unit_of_work


def send_mail(mail_id: int) -> str:
    with unit_of_work() as s:
        if not mail.claim(s, mail_id):
            return "skipped"
    with unit_of_work() as s:
        row = s.get(OutgoingMail, mail_id)
        settings = runtime().settings
        msg = mailer.build_message(
            settings,
            row.recipient,
            row.subject,
            row.body_text,
            row.body_html,
            message_id=f"<mail-{row.id}-{row.created_at:%Y%m%d%H%M%S}@asystent.local>",
        )
        try:
            mailer.deliver(settings, msg, name=f"{row.created_at:%Y%m%d-%H%M%S}-{row.id}")
        except Exception as exc:
            job = get_current_job()
            final = job is None or not job.retries_left
            mail.mark_failed_attempt(s, row, f"{type(exc).__name__}: {exc}", final)
            s.commit()
            raise
        mail.mark_sent(s, row)
    return "sent"


def sweep_mail() -> int:
    """Periodic: re-enqueue mail whose job was lost."""
    with unit_of_work() as s:
        ids = mail.stale(s)
        for mail_id in ids:
            mail.enqueue_send(s, mail_id)
    return len(ids)
