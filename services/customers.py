"""Customer records: creation with validated identifiers."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.pl import nip as stdnip
from stdnum.pl import regon as stdregon

from core.i18n import _l
from models import Customer
from services import ServiceError, audit
from services.audit import Actor

POSTAL_CODE = re.compile(r"^\d{2}-\d{3}$")


def normalise_nip(value: str) -> str:
    compact = stdnip.compact(value or "")
    if not stdnip.is_valid(compact):
        raise ServiceError(
            _l("This NIP is not valid (10 digits with a correct check digit)."), field="nip"
        )
    return compact


def normalise_regon(value: str | None) -> str | None:
    if not value:
        return None
    compact = stdregon.compact(value)
    if not stdregon.is_valid(compact):
        raise ServiceError(
            _l("This REGON is not valid (9 or 14 digits with a correct check digit)."),
            field="regon",
        )
    return compact


def next_customer_number(session: Session) -> str:
    last = session.scalar(select(func.max(Customer.number)))
    n = int(last[1:]) + 1 if last else 100001
    return f"K{n:07d}"


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
    account_manager_id: int | None = None,
) -> Customer:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_l("Enter the company name."), field="name")
    nip = normalise_nip(nip)
    regon = normalise_regon(regon)
    if not POSTAL_CODE.match((postal_code or "").strip()):
        raise ServiceError(_l("The postal code has the form 00-000."), field="postal_code")
    if session.scalar(select(Customer.id).where(Customer.nip == nip)):
        raise ServiceError(_l("A customer with this NIP already exists."), field="nip")
    customer = Customer(
        number=next_customer_number(session),
        name=name,
        nip=nip,
        regon=regon,
        street=street.strip(),
        postal_code=postal_code.strip(),
        city=city.strip(),
        account_manager_id=account_manager_id,
    )
    session.add(customer)
    session.flush()
    audit.record(
        session,
        actor,
        "customer.created",
        customer_id=customer.id,
        obj=customer,
        after={"name": name, "nip": nip, "number": customer.number},
    )
    return customer
