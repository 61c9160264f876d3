"""Customer records: company data with validated identifiers (NIP, REGON, KRS, postal code,
e-mail, phone; the checks the forms run too), and which account manager looks after the
customer. Addresses, contacts and notes: services/customer_records.py."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum.pl import nip as stdnip
from stdnum.pl import regon as stdregon

from core.i18n import _l
from models import Customer, StaffRole, StaffUser
from services import ServiceError, audit
from services.audit import Actor

POSTAL_CODE = re.compile(r"^\d{2}-\d{3}$")


# --- validation: each returns the value as stored, or raises ServiceError on its field ---------


def clean_text(value: str | None, field: str, message, max_length: int) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise ServiceError(message, field=field)
    if len(value) > max_length:
        raise ServiceError(_l("At most %(n)d characters.", n=max_length), field=field)
    return value


def optional_text(value: str | None, field: str, max_length: int) -> str | None:
    value = " ".join((value or "").split())
    if len(value) > max_length:
        raise ServiceError(_l("At most %(n)d characters.", n=max_length), field=field)
    return value or None


def normalise_nip(value: str) -> str:
    compact = stdnip.compact(value or "")
    if not stdnip.is_valid(compact):
        raise ServiceError(
            _l("This NIP is not valid (10 digits with a correct check digit)."), field="nip"
        )
    return compact


def normalise_regon(value: str | None) -> str | None:
    if not (value or "").strip():
        return None
    compact = stdregon.compact(value)
    if not stdregon.is_valid(compact):
        raise ServiceError(
            _l("This REGON is not valid (9 or 14 digits with a correct check digit)."),
            field="regon",
        )
    return compact


def normalise_krs(value: str | None) -> str | None:
    # python-stdnum has no module for the KRS (National Court Register) number: it has no check
    # digit, only a fixed form of 10 digits (leading zeros included), so the form is what we check.
    compact = re.sub(r"[\s-]", "", value or "")
    if not compact:
        return None
    if not (len(compact) == 10 and compact.isascii() and compact.isdigit()):
        raise ServiceError(
            _l("The KRS number has exactly 10 digits, e.g. 0000123456."), field="krs"
        )
    return compact


def normalise_postal_code(value: str | None, field: str = "postal_code") -> str:
    value = (value or "").strip()
    if not POSTAL_CODE.match(value):
        raise ServiceError(_l("The postal code has the form 00-000."), field=field)
    return value


def normalise_email(value: str | None, field: str = "email", required: bool = False) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ServiceError(_l("Enter an e-mail address."), field=field)
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ServiceError(
            _l("This is not a valid e-mail address (e.g. anna.nowak@firma.pl)."), field=field
        ) from None


def normalise_phone(value: str | None, field: str = "phone") -> str | None:
    """A phone number as E.164 (+48601234567); Polish numbers may be typed without +48."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, "PL")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ServiceError(
            _l("This is not a valid phone number (e.g. 601 234 567 or +49 30 1234567)."),
            field=field,
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str | None) -> str:
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# --- company data --------------------------------------------------------------------------------


@dataclass
class CompanyData:
    name: str
    nip: str
    street: str
    postal_code: str
    city: str
    regon: str | None = None
    krs: str | None = None
    email: str | None = None
    phone: str | None = None


def clean_company(session: Session, data: CompanyData, customer_id: int | None = None):
    clean = CompanyData(
        name=clean_text(data.name, "name", _l("Enter the company name."), 200),
        nip=normalise_nip(data.nip),
        regon=normalise_regon(data.regon),
        krs=normalise_krs(data.krs),
        street=clean_text(data.street, "street", _l("Enter the street and number."), 200),
        postal_code=normalise_postal_code(data.postal_code),
        city=clean_text(data.city, "city", _l("Enter the town or city."), 100),
        email=normalise_email(data.email),
        phone=normalise_phone(data.phone),
    )
    if session.scalar(
        select(Customer.id).where(Customer.nip == clean.nip, Customer.id != (customer_id or -1))
    ):
        raise ServiceError(_l("A customer with this NIP already exists."), field="nip")
    return clean


def next_customer_number(session: Session) -> str:
    last = session.scalar(select(func.max(Customer.number)).where(Customer.number.like("K%")))
    n = int(last[1:]) + 1 if last else 100001
    return f"K{n:07d}"


def _save_unique(session: Session, nip: str, change) -> None:
    """Apply ``change`` and flush inside a savepoint: a NIP taken by a concurrent request
    (the unique index) is the same clear refusal, and the session stays usable. The change is
    made inside the savepoint because opening one flushes whatever is pending first."""
    try:
        with session.begin_nested():
            change()
            session.flush()
    except IntegrityError:
        if session.scalar(select(Customer.id).where(Customer.nip == nip)):
            raise ServiceError(
                _l("A customer with this NIP already exists."), field="nip"
            ) from None
        raise ServiceError(
            _l("Another customer was being saved at the same moment. Please try again.")
        ) from None


def create_customer(
    session: Session,
    actor: Actor,
    *,
    name: str,
    nip: str,
    street: str,
    postal_code: str,
    city: str,
    regon: str | None = None,
    krs: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    account_manager_id: int | None = None,
) -> Customer:
    data = clean_company(
        session, CompanyData(name, nip, street, postal_code, city, regon, krs, email, phone)
    )
    if account_manager_id is not None:
        _manager(session, account_manager_id)
    customer = Customer(
        number=next_customer_number(session), account_manager_id=account_manager_id, **asdict(data)
    )
    _save_unique(session, data.nip, lambda: session.add(customer))
    audit.record(
        session,
        actor,
        "customer.created",
        customer_id=customer.id,
        obj=customer,
        after={"name": data.name, "nip": data.nip, "number": customer.number},
    )
    return customer


def update_customer(
    session: Session, actor: Actor, customer: Customer, data: CompanyData
) -> list[str]:
    """Change the company data; returns the names of the fields that changed."""
    clean = asdict(clean_company(session, data, customer.id))
    before = {k: getattr(customer, k) for k, v in clean.items() if getattr(customer, k) != v}
    if not before:
        return []

    def change():
        for key in before:
            setattr(customer, key, clean[key])

    _save_unique(session, clean["nip"], change)
    audit.record(
        session,
        actor,
        "customer.updated",
        customer_id=customer.id,
        obj=customer,
        before=before,
        after={k: clean[k] for k in before},
    )
    return list(before)


# --- account manager ------------------------------------------------------------------------------


def _manager(session: Session, staff_id: int) -> StaffUser:
    manager = session.get(StaffUser, staff_id)
    if manager is None or manager.role != StaffRole.account_manager or not manager.is_active:
        raise ServiceError(_l("Choose an active account manager."), field="account_manager_id")
    return manager


def assign_manager(
    session: Session, actor: Actor, customers: list[Customer], manager_id: int | None
) -> int:
    """Give the customers to an account manager (None: to nobody). Returns how many changed."""
    manager = _manager(session, manager_id) if manager_id is not None else None
    old_ids = {c.account_manager_id for c in customers} - {None}
    names = {
        s.id: s.full_name
        for s in session.scalars(select(StaffUser).where(StaffUser.id.in_(old_ids)))
    }
    changed = 0
    for customer in customers:
        if customer.account_manager_id == manager_id:
            continue
        before = {
            "manager_id": customer.account_manager_id,
            "manager": names.get(customer.account_manager_id),
        }
        customer.account_manager_id = manager_id
        audit.record(
            session,
            actor,
            "customer.manager_changed",
            customer_id=customer.id,
            obj=customer,
            before=before,
            after={"manager_id": manager_id, "manager": manager.full_name if manager else None},
        )
        changed += 1
    session.flush()
    return changed
