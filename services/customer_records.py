"""A customer's addresses (correspondence, invoice, delivery), contacts and notes. Every change
is audited with the customer's id, so it shows on the customer's timeline."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.i18n import _l
from models import AddressKind, Contact, ContactRole, Customer, CustomerAddress, CustomerNote
from services import ServiceError, audit
from services.audit import Actor
from services.customers import (
    clean_text,
    normalise_email,
    normalise_phone,
    normalise_postal_code,
    optional_text,
)

NOTE_KINDS = ("note", "call", "meeting", "visit")
NOTE_MAX = 5000


# --- addresses ------------------------------------------------------------------------------------


@dataclass
class AddressData:
    kind: str
    street: str
    postal_code: str
    city: str
    label: str | None = None


def _clean_address(data: AddressData) -> dict:
    if data.kind not in AddressKind.__members__:
        raise ServiceError(_l("Choose what the address is for."), field="kind")
    return {
        "kind": AddressKind(data.kind),
        "label": optional_text(data.label, "label", 120),
        "street": clean_text(data.street, "street", _l("Enter the street and number."), 200),
        "postal_code": normalise_postal_code(data.postal_code),
        "city": clean_text(data.city, "city", _l("Enter the town or city."), 100),
    }


def _address_audit(address: CustomerAddress) -> dict:
    return {
        "kind": str(address.kind),
        "label": address.label,
        "address": f"{address.street}, {address.postal_code} {address.city}",
    }


def add_address(
    session: Session, actor: Actor, customer: Customer, data: AddressData
) -> CustomerAddress:
    address = CustomerAddress(customer_id=customer.id, **_clean_address(data))
    session.add(address)
    session.flush()
    audit.record(
        session,
        actor,
        "customer_address.added",
        customer_id=customer.id,
        obj=address,
        after=_address_audit(address),
    )
    return address


def update_address(
    session: Session, actor: Actor, address: CustomerAddress, data: AddressData
) -> None:
    before = _address_audit(address)
    for key, value in _clean_address(data).items():
        setattr(address, key, value)
    session.flush()
    after = _address_audit(address)
    if after != before:
        audit.record(
            session,
            actor,
            "customer_address.updated",
            customer_id=address.customer_id,
            obj=address,
            before=before,
            after=after,
        )


def delete_address(session: Session, actor: Actor, address: CustomerAddress) -> None:
    audit.record(
        session,
        actor,
        "customer_address.deleted",
        customer_id=address.customer_id,
        obj=address,
        before=_address_audit(address),
    )
    session.delete(address)
    session.flush()


# --- contacts -------------------------------------------------------------------------------------


@dataclass
class ContactData:
    full_name: str
    role: str
    email: str | None = None
    phone: str | None = None
    position: str | None = None
    notes: str | None = None


def _clean_contact(data: ContactData) -> dict:
    if data.role not in ContactRole.__members__:
        raise ServiceError(_l("Choose the contact's role."), field="role")
    clean = {
        "full_name": clean_text(data.full_name, "full_name", _l("Enter the name."), 200),
        "role": ContactRole(data.role),
        "email": normalise_email(data.email),
        "phone": normalise_phone(data.phone),
        "position": optional_text(data.position, "position", 120),
        "notes": (data.notes or "").strip()[:2000] or None,
    }
    if not clean["email"] and not clean["phone"]:
        raise ServiceError(
            _l("Give an e-mail address or a phone number, so the contact can be reached."),
            field="email",
        )
    return clean


def _contact_audit(contact: Contact) -> dict:
    return {
        "name": contact.full_name,
        "role": str(contact.role),
        "email": contact.email,
        "phone": contact.phone,
        "position": contact.position,
    }


def add_contact(session: Session, actor: Actor, customer: Customer, data: ContactData) -> Contact:
    contact = Contact(customer_id=customer.id, **_clean_contact(data))
    session.add(contact)
    session.flush()
    audit.record(
        session,
        actor,
        "contact.added",
        customer_id=customer.id,
        obj=contact,
        after=_contact_audit(contact),
    )
    return contact


def update_contact(session: Session, actor: Actor, contact: Contact, data: ContactData) -> None:
    before = _contact_audit(contact)
    old_notes = contact.notes
    for key, value in _clean_contact(data).items():
        setattr(contact, key, value)
    session.flush()
    after = _contact_audit(contact)
    if after != before or contact.notes != old_notes:
        audit.record(
            session,
            actor,
            "contact.updated",
            customer_id=contact.customer_id,
            obj=contact,
            before=before,
            after=after,
        )


def delete_contact(session: Session, actor: Actor, contact: Contact) -> None:
    audit.record(
        session,
        actor,
        "contact.deleted",
        customer_id=contact.customer_id,
        obj=contact,
        before=_contact_audit(contact),
    )
    session.delete(contact)
    session.flush()


# --- notes ----------------------------------------------------------------------------------------


def add_note(
    session: Session, actor: Actor, customer: Customer, kind: str, body: str
) -> CustomerNote:
    """A note on the timeline (a call, a meeting…). Notes are kept as written: no edits."""
    if kind not in NOTE_KINDS:
        raise ServiceError(_l("Choose what kind of note this is."), field="kind")
    body = (body or "").strip()
    if not body:
        raise ServiceError(_l("Write the note."), field="body")
    if len(body) > NOTE_MAX:
        raise ServiceError(_l("At most %(n)d characters.", n=NOTE_MAX), field="body")
    note = CustomerNote(
        customer_id=customer.id,
        staff_user_id=actor.id if actor.kind == "staff" else None,
        kind=kind,
        body=body,
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        actor,
        "customer_note.added",
        customer_id=customer.id,
        obj=note,
        after={"kind": kind},
    )
    return note
