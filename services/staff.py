"""The operator's staff, as operator administrators manage them: new accounts (invited by an
e-mail link to set a password), roles, deactivation, and a reset of two-step sign-in.

Rules: nobody changes their own role or deactivates themselves; at least one active operator
administrator always remains; an account manager who still looks after customers keeps the
role and stays active until the customers are handed over.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.i18n import _l, _ln
from models import Customer, StaffRole, StaffUser
from services import ServiceError, audit, mail
from services.account_links import INVITE, LIFETIME, Links
from services.audit import Actor
from services.customers import clean_text, normalise_email


def _email(session: Session, value: str) -> str:
    email = normalise_email(value, required=True).lower()
    if session.scalar(select(StaffUser.id).where(func.lower(StaffUser.email) == email)):
        raise ServiceError(
            _l("A staff member with this e-mail address already exists."), field="email"
        )
    return email


def _role(value: str) -> StaffRole:
    if value not in StaffRole.__members__:
        raise ServiceError(_l("Choose a role."), field="role")
    return StaffRole(value)


def customer_count(session: Session, staff_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Customer).where(Customer.account_manager_id == staff_id)
    )


def _not_yourself(actor: Actor, user: StaffUser, message) -> None:
    if actor.kind == "staff" and actor.id == user.id:
        raise ServiceError(message)


def _keep_an_operator_admin(session: Session, user: StaffUser) -> None:
    """Refuse when ``user`` is the last active operator admin. The rows are locked (PostgreSQL;
    SQLite serialises writers), so two admins cannot remove each other at the same moment."""
    if user.role != StaffRole.operator_admin or not user.is_active:
        return
    admins = session.scalars(
        select(StaffUser.id)
        .where(StaffUser.role == StaffRole.operator_admin, StaffUser.is_active.is_(True))
        .with_for_update()
    ).all()
    if len([i for i in admins if i != user.id]) == 0:
        raise ServiceError(_l("At least one active operator administrator must remain."))


def _no_customers_left(session: Session, user: StaffUser) -> None:
    n = customer_count(session, user.id)
    if n:
        raise ServiceError(
            _ln(
                "%(num)d customer is still assigned to this account manager. "
                "Hand it over to another manager first.",
                "%(num)d customers are still assigned to this account manager. "
                "Hand them over to another manager first.",
                n,
            ),
            customers=n,
        )


def _send_invitation(session: Session, actor: Actor, user: StaffUser, links: Links) -> None:
    body = _l(
        "Hello %(name)s,\n\n"
        "an account has been created for you in the Asystent operator console.\n\n"
        "To set your password, open this link (it is valid for %(hours)d hours and can be "
        "used once):\n%(link)s\n\n"
        "Your sign-in is your e-mail address: %(email)s\n\n"
        "If you did not expect this message, tell your administrator.",
        name=user.full_name,
        hours=int(LIFETIME[INVITE].total_seconds() // 3600),
        link=links.link(user, INVITE),
        email=user.email,
    )
    row = mail.queue_mail(session, user.email, str(_l("Your account in Asystent")), str(body))
    if actor.kind == "staff":
        row.staff_user_id = actor.id
        session.flush()


def create(
    session: Session, actor: Actor, links: Links, *, email: str, full_name: str, role: str
) -> StaffUser:
    full_name = clean_text(full_name, "full_name", _l("Enter the name."), 200)
    email = _email(session, email)
    user = StaffUser(
        email=email, full_name=full_name, role=_role(role), password_hash=None, is_active=True
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "staff.created",
        obj=user,
        after={"email": email, "name": full_name, "role": str(user.role)},
    )
    _send_invitation(session, actor, user, links)
    return user


def resend_invitation(session: Session, actor: Actor, user: StaffUser, links: Links) -> None:
    if not user.is_active:
        raise ServiceError(_l("The account is deactivated. Reactivate it first."))
    if user.password_hash:
        raise ServiceError(_l("This person has already set a password."))
    audit.record(session, actor, "staff.invitation_resent", obj=user, after={"email": user.email})
    _send_invitation(session, actor, user, links)


def change_role(session: Session, actor: Actor, user: StaffUser, role: str) -> bool:
    new = _role(role)
    if new == user.role:
        return False
    _not_yourself(
        actor, user, _l("You cannot change your own role. Ask another operator administrator.")
    )
    _keep_an_operator_admin(session, user)
    if user.role == StaffRole.account_manager:
        _no_customers_left(session, user)
    before = {"role": str(user.role)}
    user.role = new
    audit.record(
        session, actor, "staff.role_changed", obj=user, before=before, after={"role": str(new)}
    )
    session.flush()
    return True


def set_active(session: Session, actor: Actor, user: StaffUser, active: bool) -> bool:
    """Deactivate (cannot sign in; an open session ends at its next request) or reactivate."""
    if user.is_active == active:
        return False
    if not active:
        _not_yourself(actor, user, _l("You cannot deactivate your own account."))
        _keep_an_operator_admin(session, user)
        if user.role == StaffRole.account_manager:
            _no_customers_left(session, user)
    user.is_active = active
    if not active:
        user.end_sessions()
    audit.record(
        session,
        actor,
        "staff.reactivated" if active else "staff.deactivated",
        obj=user,
        after={"email": user.email},
    )
    session.flush()
    return True


def reset_totp(session: Session, actor: Actor, user: StaffUser) -> bool:
    """Forget the authenticator: the person sets it up again at the next sign-in (operator
    admins must; others may)."""
    if not user.totp_enabled and not user.totp_secret:
        return False
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_counter = None
    audit.record(session, actor, "staff.totp_reset", obj=user, after={"email": user.email})
    session.flush()
    return True
