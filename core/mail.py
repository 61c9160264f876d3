"""Handing a message to the mail system: SMTP in production, an outbox folder by default.

The outbox backend writes each message as an ``.eml`` file to ``instance/outbox/`` (open it
with any mail program); nothing leaves the machine.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from core.settings import Settings


def build_message(
    settings: Settings,
    recipient: str,
    subject: str,
    text: str,
    html: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="asystent.local")
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def deliver(settings: Settings, msg: EmailMessage, name: str) -> None:
    if settings.mail_backend == "smtp":
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(msg)
        return
    outbox = settings.instance_path / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    tmp = outbox / f".{name}.eml.tmp"
    tmp.write_bytes(msg.as_bytes())
    tmp.rename(outbox / f"{name}.eml")
