"""Portal users of a customer, as the operator's staff manage them: invitation by e-mail link,
password reset, lock and unlock, role and department scope.

Mail texts are lazy translations turned into text when queued: the caller chooses the
recipient's language (the web layer wraps the call in Flask-Babel's ``force_locale``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import AuditEvent, Customer, Employee, OrgUnit, PortalRole, PortalUser
from models.base import utcnow
from services import ServiceError, audit, mail
from services.account_links import INVITE, LIFETIME, RESET, Links
from services.audit import Actor
from services.customers import clean_text, normalise_email

# A second reset mail for the same account within this time is not sent (the form cannot be
# used to flood someone's mailbox).
RESET_MAIL_INTERVAL = timedelta(minutes=5)


def _email(session: Session, value: str, user_id: int | None = None) -> str:
    email = normalise_email(value, required=True).lower()
    taken = session.scalar(
        select(PortalUser.id).where(
            func.lower(PortalUser.email) == email, PortalUser.id != (user_id or -1)
        )
    )
    if taken:
        raise ServiceError(
            _l("A portal user with this e-mail address already exists."), field="email"
        )
    return email


def _access(
    session: Session,
    customer: Customer,
    email: str,
    role: str,
    scope_unit_id: int | None,
    can_approve_orders: bool,
) -> dict:
    """Role, scope unit, order approval and (for employees) the person in the register."""
    if role not in PortalRole.__members__:
        raise ServiceError(_l("Choose a role."), field="role")
    role = PortalRole(role)
    if can_approve_orders and role == PortalRole.employee:
        raise ServiceError(
            _l("Only fleet administrators and viewers can approve orders."),
            field="can_approve_orders",
        )
    unit = None
    if scope_unit_id and role != PortalRole.employee:
        unit = session.get(OrgUnit, scope_unit_id)
        if unit is None or unit.customer_id != customer.id:
            raise ServiceError(_l("Choose a unit of this customer."), field="scope_unit_id")
    employee_id = None
    if role == PortalRole.employee:
        employee_id = session.scalar(
            select(Employee.id).where(
                Employee.customer_id == customer.id, func.lower(Employee.email) == email
            )
        )
        if employee_id is None:
            raise ServiceError(
                _l(
                    "An employee account shows that person's own lines: there is no employee "
                    "with this e-mail address in the company's register. Add the employee in "
                    "the portal first, or choose another role."
                ),
                field="role",
            )
    return {
        "role": role,
        "scope_unit_id": unit.id if unit else None,
        "can_approve_orders": bool(can_approve_orders),
        "employee_id": employee_id,
    }


def _access_audit(user: PortalUser) -> dict:
    return {
        "role": str(user.role),
        "scope_unit_id": user.scope_unit_id,
        "can_approve_orders": bool(user.can_approve_orders),
    }


def _hours(purpose: str) -> int:
    return int(LIFETIME[purpose].total_seconds() // 3600)


def _queue(session: Session, actor: Actor, user: PortalUser, subject, body) -> None:
    row = mail.queue_mail(
        session, user.email, str(subject), str(body), customer_id=user.customer_id
    )
    if actor.kind == "staff":
        row.staff_user_id = actor.id
        session.flush()


def _send_invitation(
    session: Session, actor: Actor, user: PortalUser, customer: Customer, links: Links
) -> None:
    body = _l(
        "Hello %(name)s,\n\n"
        "you have been given access to Asystent, the self-service portal in which "
        "%(company)s manages its phones and lines.\n\n"
        "To set your password and sign in, open this link (it is valid for %(hours)d hours "
        "and can be used once):\n%(link)s\n\n"
        "Your sign-in is your e-mail address: %(email)s\n\n"
        "If you did not expect this message, ignore it.",
        name=user.full_name,
        company=customer.name,
        hours=_hours(INVITE),
        link=links.link(user, INVITE),
        email=user.email,
    )
    _queue(session, actor, user, _l("Your access to Asystent"), body)


def invite(
    session: Session,
    actor: Actor,
    customer: Customer,
    links: Links,
    *,
    email: str,
    full_name: str,
    role: str,
    scope_unit_id: int | None = None,
    can_approve_orders: bool = False,
) -> PortalUser:
    full_name = clean_text(full_name, "full_name", _l("Enter the name."), 200)
    email = _email(session, email)
    user = PortalUser(
        customer_id=customer.id,
        email=email,
        full_name=full_name,
        password_hash=None,
        is_active=True,
        **_access(session, customer, email, role, scope_unit_id, can_approve_orders),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "portal_user.invited",
        customer_id=customer.id,
        obj=user,
        after={"email": email, "name": full_name, **_access_audit(user)},
    )
    _send_invitation(session, actor, user, customer, links)
    return user


def resend_invitation(
    session: Session, actor: Actor, user: PortalUser, customer: Customer, links: Links
) -> None:
    if not user.is_active:
        raise ServiceError(_l("The account is locked. Unlock it first."))
    if user.password_hash:
        raise ServiceError(
            _l("This user has already set a password. Send a password reset instead.")
        )
    audit.record(
        session,
        actor,
        "portal_user.invitation_resent",
        customer_id=customer.id,
        obj=user,
        after={"email": user.email},
    )
    _send_invitation(session, actor, user, customer, links)


def _send_reset(session: Session, actor: Actor, user: PortalUser, links: Links) -> None:
    audit.record(
        session,
        actor,
        "portal_user.reset_sent",
        customer_id=user.customer_id,
        obj=user,
        after={"email": user.email},
    )
    body = _l(
        "Hello %(name)s,\n\n"
        "to set a new password for Asystent, open this link (it is valid for %(hours)d hour "
        "and can be used once):\n%(link)s\n\n"
        "If you did not ask for this, ignore this message: your password stays as it is.",
        name=user.full_name,
        hours=_hours(RESET),
        link=links.link(user, RESET),
    )
    _queue(session, actor, user, _l("Setting a new password for Asystent"), body)


def send_reset(session: Session, actor: Actor, user: PortalUser, links: Links) -> None:
    """Staff send a password reset link."""
    if not user.is_active:
        raise ServiceError(_l("The account is locked. Unlock it first."))
    if not user.password_hash:
        raise ServiceError(
            _l("This user has not set a password yet. Send the invitation again instead.")
        )
    _send_reset(session, actor, user, links)


def request_reset(session: Session, email: str, links: Links, address: str | None) -> bool:
    """The "forgot password" form. Answers nothing about whether the account exists; returns
    whether a mail was queued (for tests and logs, never for the page)."""
    email = (email or "").strip().lower()
    user = session.scalar(select(PortalUser).where(PortalUser.email == email))
    if user is None or not user.is_active:
        return False
    recent = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.object_type == PortalUser.__tablename__,
            AuditEvent.object_id == user.id,
            AuditEvent.action == "portal_user.reset_sent",
            AuditEvent.created_at > utcnow() - RESET_MAIL_INTERVAL,
        )
    )
    if recent:
        return False
    _send_reset(session, Actor("system", None, email, address), user, links)
    return True


def set_access(
    session: Session,
    actor: Actor,
    user: PortalUser,
    customer: Customer,
    *,
    full_name: str,
    role: str,
    scope_unit_id: int | None,
    can_approve_orders: bool = False,
) -> bool:
    """Change the name, role, department scope and order approval. Returns whether anything
    changed."""
    full_name = clean_text(full_name, "full_name", _l("Enter the name."), 200)
    access = _access(session, customer, user.email, role, scope_unit_id, can_approve_orders)
    before = {"name": user.full_name, **_access_audit(user)}
    user.full_name = full_name
    user.role = access["role"]
    user.scope_unit_id = access["scope_unit_id"]
    user.can_approve_orders = access["can_approve_orders"]
    if access["employee_id"] is not None:
        user.employee_id = access["employee_id"]
    session.flush()
    session.expire(user, ["scope_unit"])
    after = {"name": user.full_name, **_access_audit(user)}
    if after == before:
        return False
    audit.record(
        session,
        actor,
        "portal_user.access_changed",
        customer_id=customer.id,
        obj=user,
        before=before,
        after=after,
    )
    return True


def set_locked(session: Session, actor: Actor, user: PortalUser, locked: bool) -> bool:
    """Lock (cannot sign in; open sessions end at their next request) or unlock."""
    if user.is_active != locked:
        return False
    user.is_active = not locked
    if locked:
        user.end_sessions()
    audit.record(
        session,
        actor,
        "portal_user.locked" if locked else "portal_user.unlocked",
        customer_id=user.customer_id,
        obj=user,
        after={"email": user.email},
    )
    session.flush()
    return True


def last_invited(session: Session, user_ids: list[int]) -> dict[int, object]:
    """When each user was last sent an invitation (for "invited on …, link valid until …")."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(AuditEvent.object_id, func.max(AuditEvent.created_at))
        .where(
            AuditEvent.object_type == PortalUser.__tablename__,
            AuditEvent.object_id.in_(user_ids),
            AuditEvent.action.in_(("portal_user.invited", "portal_user.invitation_resent")),
        )
        .group_by(AuditEvent.object_id)
    )
    return dict(rows.all())
