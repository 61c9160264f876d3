"""Links that let a person set a password: invitations and password resets, portal and staff.

A link carries a token signed with itsdangerous under the installation's ``SECRET_KEY`` (the
key both Flask apps derive their own from), salted per realm and purpose. The token holds the
account id and a fingerprint of the account's current password hash, e-mail and state: setting
a password changes the hash, so a link works once; changing the e-mail kills the links sent
before, and a locked account's links do not work. Invitations are good for 72 hours, resets
for one hour.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from core.i18n import _l
from models import PortalUser, StaffUser
from models.base import utcnow
from services import ServiceError, audit, passwords
from services.audit import Actor

INVITE = "invite"
RESET = "reset"
LIFETIME = {INVITE: timedelta(hours=72), RESET: timedelta(hours=1)}

# Where the pages that read the tokens live (portal/auth/views.py and admin_console/staff/views.py
# register their routes from these, so a link in a mail and the route cannot drift apart).
PORTAL_PATHS = {INVITE: "/welcome/", RESET: "/password/reset/"}
CONSOLE_PATHS = {INVITE: "/staff/welcome/"}

Account = PortalUser | StaffUser


@dataclass(frozen=True)
class Links:
    """What a service needs to put a working link into a mail: the signing key and where the
    two apps are reached from outside (the web layer knows; services do not)."""

    secret: str
    portal_base: str  # e.g. https://asystent.example/
    console_base: str  # e.g. https://asystent.example/admin/

    def url(self, account: Account, purpose: str, token: str) -> str:
        if isinstance(account, PortalUser):
            return self.portal_base.rstrip("/") + PORTAL_PATHS[purpose] + token
        return self.console_base.rstrip("/") + CONSOLE_PATHS[purpose] + token

    def link(self, account: Account, purpose: str) -> str:
        return self.url(account, purpose, make_token(self.secret, account, purpose))


def _realm(account_or_model) -> str:
    is_portal = account_or_model is PortalUser or isinstance(account_or_model, PortalUser)
    return "portal" if is_portal else "staff"


def _serializer(secret: str, realm: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"asystent.{realm}.{purpose}")


def fingerprint(account: Account) -> str:
    raw = f"{account.password_hash or ''}|{account.email}|{int(bool(account.is_active))}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def make_token(secret: str, account: Account, purpose: str) -> str:
    return _serializer(secret, _realm(account), purpose).dumps(
        {"id": account.id, "fp": fingerprint(account)}
    )


def read_token(
    session: Session,
    secret: str,
    model: type[PortalUser] | type[StaffUser],
    purpose: str,
    token: str,
    now: datetime | None = None,
) -> Account:
    """The account a token was made for, if the link is still good; else ``ServiceError``."""
    try:
        data, signed_at = _serializer(secret, _realm(model), purpose).loads(
            token, return_timestamp=True
        )
        account_id, fp = int(data["id"]), str(data["fp"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise ServiceError(_l("This link is not valid. Check that you copied all of it.")) from None
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    if (now or utcnow()) - signed_at > LIFETIME[purpose]:
        raise ServiceError(_l("This link has expired. Ask for a new one."), reason="expired")
    account = session.get(model, account_id)
    if account is None or not account.is_active or fingerprint(account) != fp:
        raise ServiceError(
            _l("This link has already been used or is no longer valid. Ask for a new one."),
            reason="used",
        )
    return account


def check_password(password: str, email: str) -> None:
    password = password or ""
    if len(password) < passwords.MIN_LENGTH:
        raise ServiceError(
            _l("The password needs at least %(n)d characters.", n=passwords.MIN_LENGTH),
            field="password",
        )
    if len(password) > 200:
        raise ServiceError(_l("The password can have at most 200 characters."), field="password")
    low = password.strip().lower()
    email = (email or "").lower()
    if low in (email, email.split("@", 1)[0]):
        raise ServiceError(
            _l("The password cannot be your e-mail address. Choose something else."),
            field="password",
        )


def set_password(
    session: Session, account: Account, password: str, purpose: str, address: str | None
) -> None:
    """Set the password from a link (which then stops working). Audited as the account itself."""
    check_password(password, account.email)
    account.password_hash = passwords.hash_password(password)
    account.end_sessions()  # whoever was signed in with the old password is signed out
    realm = _realm(account)
    audit.record(
        session,
        Actor("portal" if realm == "portal" else "staff", account.id, account.email, address),
        "portal_user.password_set" if realm == "portal" else "staff.password_set",
        customer_id=getattr(account, "customer_id", None),
        obj=account,
        after={"via": purpose},
    )
    session.flush()
