"""Small factories for test data. Each takes a session and returns a flushed entity."""

from __future__ import annotations

import itertools
from functools import lru_cache

from stdnum.pl import nip as stdnip

from models import Customer, OrgUnit, PortalRole, PortalUser, StaffRole, StaffUser
from services import passwords
from services.orgtree import add_unit

PASSWORD = "Test-pass-2026"
_seq = itertools.count(1)


@lru_cache(maxsize=1)
def password_hash() -> str:
    return passwords.hash_password(PASSWORD)


def valid_nip(n: int) -> str:
    for base in itertools.count(100000000 + n * 37):
        digits = str(base)[:9]
        for d in "0123456789":
            if stdnip.is_valid(digits + d):
                return digits + d
    raise AssertionError  # pragma: no cover


def make_staff(session, role=StaffRole.account_manager, **kw) -> StaffUser:
    n = next(_seq)
    user = StaffUser(
        email=kw.pop("email", f"staff{n}@operator.example"),
        full_name=kw.pop("full_name", f"Staff {n}"),
        role=role,
        password_hash=kw.pop("password_hash", password_hash()),
        **kw,
    )
    session.add(user)
    session.flush()
    return user


def make_customer(session, **kw) -> Customer:
    n = next(_seq)
    customer = Customer(
        number=kw.pop("number", f"T{n:07d}"),
        name=kw.pop("name", f"Firma {n} Sp. z o.o."),
        nip=kw.pop("nip", valid_nip(n)),
        street=kw.pop("street", "ul. Testowa 1"),
        postal_code=kw.pop("postal_code", "00-001"),
        city=kw.pop("city", "Warszawa"),
        **kw,
    )
    session.add(customer)
    session.flush()
    return customer


def make_unit(
    session, customer: Customer, name: str | None = None, parent: OrgUnit | None = None
) -> OrgUnit:
    return add_unit(session, customer.id, name or f"Dział {next(_seq)}", parent)


def make_portal_user(
    session,
    customer: Customer,
    role=PortalRole.fleet_admin,
    scope_unit: OrgUnit | None = None,
    **kw,
) -> PortalUser:
    n = next(_seq)
    user = PortalUser(
        customer_id=customer.id,
        email=kw.pop("email", f"user{n}@customer.example"),
        full_name=kw.pop("full_name", f"User {n}"),
        role=role,
        password_hash=kw.pop("password_hash", password_hash()),
        scope_unit_id=scope_unit.id if scope_unit else None,
        **kw,
    )
    session.add(user)
    session.flush()
    return user
