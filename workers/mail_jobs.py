"""Sending queued e-mail.

A failure the server calls temporary (4xx, a dropped connection, a timeout) is retried by RQ
with back-off (``services.mail.RETRY_INTERVALS``); after the last attempt the row is failed
with the reason. A server that refuses every recipient for good (5xx on RCPT: no such mailbox,
relaying denied) will refuse again: the row is failed at once, and staff can send it again
from the outbox after fixing the address or the server.
"""

from __future__ import annotations

import smtplib

from rq import get_current_job

from core import mail as mailer
from models import OutgoingMail
from services import mail
from workers.context import runtime, unit_of_work


def is_permanent(exc: Exception) -> bool:
    """True when trying again cannot help: every recipient refused with a 5xx code."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    return False


def describe(exc: Exception) -> str:
    """The reason shown in the outbox: the server's code and words, not a Python repr."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


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
            permanent = is_permanent(exc)
            job = get_current_job()
            final = permanent or job is None or not job.retries_left
            mail.mark_failed_attempt(s, row, describe(exc), final)
            s.commit()
            if permanent:
                return "failed"
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
