"""Mail templates account managers start from, and the placeholders they may contain.

A placeholder is one of a fixed list of names in braces, ``{customer_name}``; ``{{`` and ``}}``
stand for a literal brace. Anything else in braces — an unknown name, an attribute, an index,
a format spec — is refused with a message for the form, never an exception: the text is never
handed to ``str.format``. Values are plain text; the HTML part of a message is made from the
text by escaping it.
"""

from __future__ import annotations

import html
import re
import string
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.i18n import _l
from models import MailTemplate
from services import ServiceError, audit
from services.audit import Actor

NAME_MAX = 120
SUBJECT_MAX = 300
BODY_MAX = 20_000

# The names a template may use, each with what it becomes (shown on the template pages).
PLACEHOLDERS = {
    "customer_name": _l("The customer's company name"),
    "customer_number": _l("The customer's number at the operator"),
    "contact_name": _l("The recipient's full name (contact person or portal user)"),
    "manager_name": _l("The customer's account manager (or the sender, if it has none)"),
    "manager_email": _l("The account manager's e-mail address"),
    "portal_url": _l("The address of the self-service portal"),
}

_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Piece:
    literal: str
    name: str | None  # None: no placeholder after the literal


def parse(text: str, field: str) -> list[Piece]:
    """Split ``text`` into literal text and placeholders; ServiceError on anything else."""
    try:
        parts = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise ServiceError(
            _l(
                "A brace is not closed or stands alone. Write placeholders as {customer_name}; "
                "for a brace itself write {{ or }}."
            ),
            field=field,
        ) from exc
    pieces = []
    for literal, name, spec, conversion in parts:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            shown = "{" + name + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise ServiceError(
                _l(
                    "Unknown placeholder %(placeholder)s. You can use: %(known)s.",
                    placeholder=shown,
                    known=", ".join("{" + p + "}" for p in PLACEHOLDERS),
                ),
                field=field,
                placeholder=shown,
            )
        pieces.append(Piece(literal, name))
    return pieces


def check(subject: str, body: str) -> None:
    """Refuse an empty or too long subject or body, or one with a bad placeholder."""
    if not (subject or "").strip():
        raise ServiceError(_l("Enter the subject."), field="subject")
    if len(subject) > SUBJECT_MAX:
        raise ServiceError(
            _l("The subject may have at most %(n)d characters.", n=SUBJECT_MAX), field="subject"
        )
    if "\n" in subject or "\r" in subject:
        raise ServiceError(_l("The subject must be a single line."), field="subject")
    if not (body or "").strip():
        raise ServiceError(_l("Enter the text of the message."), field="body")
    if len(body) > BODY_MAX:
        raise ServiceError(
            _l("The message may have at most %(n)d characters.", n=BODY_MAX), field="body"
        )
    parse(subject, "subject")
    parse(body, "body")


def render(text: str, values: dict[str, str], field: str = "body") -> str:
    """Fill the placeholders of ``text`` with plain-text ``values``."""
    return "".join(
        piece.literal + (values.get(piece.name) or "" if piece.name else "")
        for piece in parse(text, field)
    )


def render_subject(subject: str, values: dict[str, str]) -> str:
    """A subject is one line, whatever the values hold."""
    return " ".join(render(subject, values, "subject").split())


_PARAGRAPHS = re.compile(r"\n\s*\n")


def text_to_html(text: str) -> str:
    """The HTML alternative of a plain-text message: escaped, paragraphs and line breaks kept."""
    paragraphs = [p.strip("\n") for p in _PARAGRAPHS.split(text.replace("\r\n", "\n"))]
    body = "\n".join(
        "<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>" for p in paragraphs if p.strip()
    )
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"></head>\n'
        '<body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; '
        'line-height: 1.5; color: #1f2328;">\n' + body + "\n</body></html>\n"
    )


# --- templates ------------------------------------------------------------------------------


def active_templates(session: Session) -> list[MailTemplate]:
    return list(
        session.scalars(
            select(MailTemplate)
            .where(MailTemplate.is_active.is_(True))
            .order_by(func.lower(MailTemplate.name))
        )
    )


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError(_l("Enter the template's name."), field="name")
    if len(name) > NAME_MAX:
        raise ServiceError(
            _l("The name may have at most %(n)d characters.", n=NAME_MAX), field="name"
        )
    return name


def _check_name_free(session: Session, name: str, template_id: int | None) -> None:
    query = select(MailTemplate.id).where(func.lower(MailTemplate.name) == name.lower())
    if template_id is not None:
        query = query.where(MailTemplate.id != template_id)
    if session.scalar(query) is not None:
        raise ServiceError(_l("A template with this name already exists."), field="name")


def _flush_unique(session: Session) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # the same name saved at the same moment by someone else
        raise ServiceError(_l("A template with this name already exists."), field="name") from exc


def create_template(
    session: Session, actor: Actor, name: str, subject: str, body: str
) -> MailTemplate:
    name = _clean_name(name)
    subject = (subject or "").strip()
    body = (body or "").rstrip()
    check(subject, body)
    _check_name_free(session, name, None)
    template = MailTemplate(name=name, subject=subject, body=body, is_active=True)
    session.add(template)
    _flush_unique(session)
    audit.record(
        session,
        actor,
        "mail_template.created",
        obj=template,
        after={"name": name, "subject": subject},
    )
    session.flush()
    return template


def update_template(
    session: Session, actor: Actor, template: MailTemplate, name: str, subject: str, body: str
) -> MailTemplate:
    name = _clean_name(name)
    subject = (subject or "").strip()
    body = (body or "").rstrip()
    check(subject, body)
    _check_name_free(session, name, template.id)
    before = {"name": template.name, "subject": template.subject, "body": template.body}
    after = {"name": name, "subject": subject, "body": body}
    if before == after:
        return template
    template.name, template.subject, template.body = name, subject, body
    _flush_unique(session)
    changed = [k for k in after if before[k] != after[k]]
    audit.record(
        session,
        actor,
        "mail_template.updated",
        obj=template,
        before={k: before[k] for k in changed if k != "body"},
        after={k: after[k] for k in changed if k != "body"} | {"changed": changed},
    )
    session.flush()
    return template


def set_active(session: Session, actor: Actor, template: MailTemplate, active: bool) -> None:
    if template.is_active == active:
        return
    template.is_active = active
    audit.record(
        session,
        actor,
        "mail_template.activated" if active else "mail_template.deactivated",
        obj=template,
        after={"name": template.name},
    )
    session.flush()
