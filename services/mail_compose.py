"""E-mail from an account manager to chosen customers: who receives it, what each one reads,
and queueing it.

Recipients are the customers' contacts of the chosen roles and/or their active portal users of
the chosen roles, each address once per customer (a contact who is also a portal user gets one
message). Every message is personalised with the placeholders of ``services.mail_templates``.
Sending queues one ``OutgoingMail`` per recipient and records one ``mail.sent`` audit event per
customer, so the mail appears on that customer's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import _l, _ln
from models import Contact, ContactRole, Customer, OutgoingMail, PortalRole, PortalUser, StaffUser
from services import ServiceError, audit, mail, mail_templates
from services.audit import Actor

MAX_CUSTOMERS = 500
MAX_RECIPIENTS = 5000


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    source: str  # "contact" or "portal"
    role: str


@dataclass
class CustomerRecipients:
    customer: Customer
    recipients: list[Recipient] = field(default_factory=list)
    # Addresses left out, with the reason: (name, address or "", reason)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Message:
    customer: Customer
    recipient: Recipient
    subject: str
    body: str


@dataclass
class Plan:
    groups: list[CustomerRecipients]
    messages: list[Message]

    @property
    def customers_reached(self) -> list[CustomerRecipients]:
        return [g for g in self.groups if g.recipients]

    @property
    def customers_without_recipients(self) -> list[CustomerRecipients]:
        return [g for g in self.groups if not g.recipients]


def _normal_email(address: str | None) -> str | None:
    if not address or not address.strip():
        return None
    try:
        return validate_email(
            address.strip(), check_deliverability=False, allow_smtputf8=False
        ).normalized
    except EmailNotValidError:
        return None


def recipients_for(
    session: Session,
    customers: list[Customer],
    contact_roles: set[ContactRole],
    portal_roles: set[PortalRole],
) -> list[CustomerRecipients]:
    """The recipients of each customer, in two queries whatever the number of customers."""
    groups = {c.id: CustomerRecipients(c) for c in customers}
    seen: dict[int, set[str]] = {c.id: set() for c in customers}

    def add(customer_id: int, name: str, address: str | None, source: str, role: str) -> None:
        group = groups[customer_id]
        email = _normal_email(address)
        if email is None:
            reason = "no_email" if not (address or "").strip() else "invalid_email"
            group.skipped.append((name, address or "", reason))
            return
        key = email.lower()
        if key in seen[customer_id]:
            return
        seen[customer_id].add(key)
        group.recipients.append(Recipient(email, name, source, role))

    ids = list(groups)
    if contact_roles and ids:
        rows = session.execute(
            select(Contact.customer_id, Contact.full_name, Contact.email, Contact.role)
            .where(Contact.customer_id.in_(ids), Contact.role.in_(list(contact_roles)))
            .order_by(Contact.customer_id, Contact.role, Contact.full_name, Contact.id)
        )
        for customer_id, name, email, role in rows:
            add(customer_id, name, email, "contact", role.value)
    if portal_roles and ids:
        rows = session.execute(
            select(PortalUser.customer_id, PortalUser.full_name, PortalUser.email, PortalUser.role)
            .where(
                PortalUser.customer_id.in_(ids),
                PortalUser.role.in_(list(portal_roles)),
                PortalUser.is_active.is_(True),
            )
            .order_by(PortalUser.customer_id, PortalUser.role, PortalUser.full_name, PortalUser.id)
        )
        for customer_id, name, email, role in rows:
            add(customer_id, name, email, "portal", role.value)
    return [groups[c.id] for c in customers]


def _managers(session: Session, customers: list[Customer]) -> dict[int, StaffUser]:
    ids = {c.account_manager_id for c in customers if c.account_manager_id}
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))}


def placeholder_values(
    customer: Customer, contact_name: str, manager: StaffUser, portal_url: str
) -> dict[str, str]:
    return {
        "customer_name": customer.name,
        "customer_number": customer.number,
        "contact_name": contact_name,
        "manager_name": manager.full_name,
        "manager_email": manager.email,
        "portal_url": portal_url,
    }


def prepare(
    session: Session,
    customers: list[Customer],
    *,
    contact_roles: set[ContactRole],
    portal_roles: set[PortalRole],
    subject: str,
    body: str,
    sender: StaffUser,
    portal_url: str,
) -> Plan:
    """Check the request and personalise every message; ServiceError when it cannot be sent."""
    if not customers:
        raise ServiceError(_l("Choose at least one customer."), field="customers")
    if len(customers) > MAX_CUSTOMERS:
        raise ServiceError(
            _l("Choose at most %(n)d customers at a time.", n=MAX_CUSTOMERS), field="customers"
        )
    if not contact_roles and not portal_roles:
        raise ServiceError(
            _l("Choose who receives the message: contacts, portal users or both."),
            field="recipients",
        )
    subject = (subject or "").strip()
    body = (body or "").rstrip()
    mail_templates.check(subject, body)

    groups = recipients_for(session, customers, contact_roles, portal_roles)
    total = sum(len(g.recipients) for g in groups)
    if total == 0:
        raise ServiceError(
            _l(
                "None of the chosen customers has a recipient of the chosen kinds with an "
                "e-mail address."
            ),
            field="recipients",
        )
    if total > MAX_RECIPIENTS:
        raise ServiceError(
            _ln(
                "This would send %(num)d message; at most %(max)d can be sent at a time.",
                "This would send %(num)d messages; at most %(max)d can be sent at a time.",
                total,
                max=MAX_RECIPIENTS,
            ),
            field="recipients",
        )
    managers = _managers(session, customers)
    messages = []
    for group in groups:
        manager = managers.get(group.customer.account_manager_id) or sender
        for recipient in group.recipients:
            values = placeholder_values(group.customer, recipient.name, manager, portal_url)
            text = mail_templates.render(body, values)
            line = mail_templates.render_subject(subject, values)
            if len(line) > mail_templates.SUBJECT_MAX:
                raise ServiceError(
                    _l(
                        "For %(customer)s the subject would be longer than %(n)d characters "
                        "once the placeholders are filled in. Shorten it.",
                        customer=group.customer.name,
                        n=mail_templates.SUBJECT_MAX,
                    ),
                    field="subject",
                )
            messages.append(Message(group.customer, recipient, line, text))
    return Plan(groups, messages)


def send_to_customers(
    session: Session,
    actor: Actor,
    customers: list[Customer],
    *,
    contact_roles: set[ContactRole],
    portal_roles: set[PortalRole],
    subject: str,
    body: str,
    sender: StaffUser,
    portal_url: str,
    template_id: int | None = None,
) -> Plan:
    """Queue one message per recipient and put one event on each customer's timeline."""
    plan = prepare(
        session,
        customers,
        contact_roles=contact_roles,
        portal_roles=portal_roles,
        subject=subject,
        body=body,
        sender=sender,
        portal_url=portal_url,
    )
    rows = [
        OutgoingMail(
            customer_id=m.customer.id,
            staff_user_id=sender.id,
            template_id=template_id,
            recipient=m.recipient.email,
            subject=m.subject,
            body_text=m.body,
            body_html=mail_templates.text_to_html(m.body),
        )
        for m in plan.messages
    ]
    mail.queue_many(session, rows)
    by_customer: dict[int, list[OutgoingMail]] = {}
    for row in rows:
        by_customer.setdefault(row.customer_id, []).append(row)
    for group in plan.customers_reached:
        sent = by_customer[group.customer.id]
        audit.record(
            session,
            actor,
            "mail.sent",
            customer_id=group.customer.id,
            object_type="outgoing_mail",
            object_id=sent[0].id if len(sent) == 1 else None,
            after={
                "subject": sent[0].subject,
                "count": len(sent),
                "recipients": [r.recipient for r in sent[:50]],
                "mail_ids": [r.id for r in sent[:50]],
                "template_id": template_id,
            },
        )
    session.flush()
    return plan
