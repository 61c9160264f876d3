"""Signing in: password check, throttling per account and per address, TOTP second factor.

Throttling: after ``ACCOUNT_FREE_FAILURES`` failed attempts for one e-mail (typed, whether an
account exists or not, so locks tell nothing about who has an account), or
``ADDRESS_FREE_FAILURES`` from one address, further attempts are refused for a lock time that
doubles with every failure, capped at ``MAX_LOCK``. A success clears the account's counter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import LoginThrottle, PortalUser, StaffUser
from models.base import utcnow
from services import audit, passwords
from services.audit import Actor

ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20
FIRST_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(minutes=30)
FORGET_AFTER = timedelta(hours=24)


class LoginLocked(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__(until)
        self.until = until

    @property
    def minutes(self) -> int:
        return max(1, math.ceil((self.until - utcnow()).total_seconds() / 60))


@dataclass
class LoginResult:
    user: PortalUser | StaffUser | None
    needs_totp: bool = False
    needs_totp_setup: bool = False


def _throttle(session: Session, realm: str, kind: str, key: str) -> LoginThrottle:
    row = session.scalar(
        select(LoginThrottle).where(
            LoginThrottle.realm == realm, LoginThrottle.kind == kind, LoginThrottle.key == key
        )
    )
    if row is None:
        row = LoginThrottle(realm=realm, kind=kind, key=key, failures=0)
        session.add(row)
    elif row.last_failure_at and utcnow() - row.last_failure_at > FORGET_AFTER:
        row.failures, row.locked_until = 0, None
    return row


def _check_lock(row: LoginThrottle) -> None:
    if row.locked_until and row.locked_until > utcnow():
        raise LoginLocked(row.locked_until)


def _fail(row: LoginThrottle, free: int) -> None:
    now = utcnow()
    row.failures += 1
    row.last_failure_at = now
    over = row.failures - free
    if over >= 0:
        lock = min(FIRST_LOCK * (2**over), MAX_LOCK)
        row.locked_until = now + lock


def authenticate(
    session: Session, realm: str, email: str, password: str, address: str | None
) -> LoginResult:
    """Check e-mail and password. Raises ``LoginLocked``; returns user None when wrong.

    The caller commits in both cases: failed attempts must be counted.
    """
    model = PortalUser if realm == "portal" else StaffUser
    email = (email or "").strip().lower()
    by_account = _throttle(session, realm, "account", email)
    by_address = _throttle(session, realm, "address", address or "-")
    _check_lock(by_account)
    _check_lock(by_address)

    user = session.scalar(select(model).where(model.email == email))
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        _fail(by_account, ACCOUNT_FREE_FAILURES)
        _fail(by_address, ADDRESS_FREE_FAILURES)
        if user is not None:
            audit.record(
                session,
                Actor("system", None, email, address),
                f"{realm}.login_failed",
                customer_id=getattr(user, "customer_id", None),
                obj=user,
            )
        session.flush()
        return LoginResult(None)

    by_account.failures, by_account.locked_until = 0, None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if isinstance(user, StaffUser) and user.requires_totp:
        return LoginResult(
            user, needs_totp=user.totp_enabled, needs_totp_setup=not user.totp_enabled
        )
    return LoginResult(user)


def complete_login(session: Session, user: PortalUser | StaffUser, address: str | None) -> None:
    user.last_login_at = utcnow()
    realm = "portal" if isinstance(user, PortalUser) else "console"
    audit.record(
        session,
        Actor("portal" if realm == "portal" else "staff", user.id, user.email, address),
        f"{realm}.login",
        customer_id=getattr(user, "customer_id", None),
        obj=user,
    )
    session.flush()


def verify_totp(session: Session, user: StaffUser, code: str, address: str | None) -> bool:
    """Check a 6-digit code; a code is accepted once (no replay within its window)."""
    code = (code or "").replace(" ", "")
    row = _throttle(session, "console", "totp", user.email)
    _check_lock(row)
    totp = pyotp.TOTP(user.totp_secret or "")
    now = utcnow()
    counter = totp.timecode(now)
    for offset in (0, -1, 1):
        c = counter + offset
        if (
            user.totp_secret
            and code.isdigit()
            and pyotp.utils.strings_equal(totp.generate_otp(c), code)
            and (user.totp_last_counter is None or c > user.totp_last_counter)
        ):
            user.totp_last_counter = c
            row.failures, row.locked_until = 0, None
            session.flush()
            return True
    _fail(row, ACCOUNT_FREE_FAILURES)
    session.flush()
    return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: StaffUser, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Asystent")


def enable_totp(
    session: Session, user: StaffUser, secret: str, code: str, address: str | None
) -> bool:
    """Confirm enrolment: the code must match the new secret."""
    code = (code or "").replace(" ", "")
    totp = pyotp.TOTP(secret)
    if not (code.isdigit() and totp.verify(code, valid_window=1)):
        return False
    user.totp_secret = secret
    user.totp_enabled = True
    user.totp_last_counter = totp.timecode(utcnow())
    audit.record(
        session, Actor("staff", user.id, user.email, address), "console.totp_enabled", obj=user
    )
    session.flush()
    return True
