"""Giving employees their own sign-in: a fleet admin invites one employee, or every employee
of a unit's subtree who has an e-mail address and no account yet. The invitation is the portal
users' one (``services.portal_users.invite``: a one-time link to set a password)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import Customer, Employee, OrgUnit, PortalRole, PortalUser
from services import ServiceError, portal_users
from services.account_links import Links
from services.audit import Actor

MAX_PER_UNIT = 2000


@dataclass(frozen=True)
class Outcome:
    employee: Employee
    invited: bool
    reason: object = None  # lazy string: why skipped


def account_of(session: Session, employee: Employee) -> PortalUser | None:
    if not employee.email:
        return None
    return session.scalar(
        select(PortalUser).where(func.lower(PortalUser.email) == employee.email.lower())
    )


def _skip_reason(employee: Employee, existing: PortalUser | None):
    if not employee.email:
        return _l("no e-mail address")
    if existing is not None:
        if existing.customer_id == employee.customer_id and existing.employee_id == employee.id:
            return _l("already has an account")
        return _l("the e-mail address is already used by another account")
    return None


def invite_employee(
    session: Session, actor: Actor, customer: Customer, links: Links, employee: Employee
) -> PortalUser:
    reason = _skip_reason(employee, account_of(session, employee))
    if reason is not None:
        raise ServiceError(_l("Cannot invite: %(reason)s.", reason=reason))
    user = portal_users.invite(
        session,
        actor,
        customer,
        links,
        email=employee.email,
        full_name=employee.full_name,
        role=PortalRole.employee.value,
    )
    user.employee_id = employee.id
    session.flush()
    return user


def invite_unit(
    session: Session, actor: Actor, customer: Customer, links: Links, unit: OrgUnit
) -> list[Outcome]:
    """Invite the employees of the unit and its subunits; who was invited, who skipped, why."""
    employees = list(
        session.scalars(
            select(Employee)
            .join(OrgUnit, OrgUnit.id == Employee.unit_id)
            .where(
                Employee.customer_id == customer.id,
                OrgUnit.customer_id == customer.id,
                OrgUnit.path >= unit.path,
                OrgUnit.path < OrgUnit.upper_bound(unit.path),
            )
            .order_by(Employee.full_name, Employee.id)
            .limit(MAX_PER_UNIT)
        )
    )
    emails = [e.email.lower() for e in employees if e.email]
    existing = {}
    for i in range(0, len(emails), 500):
        rows = session.scalars(
            select(PortalUser).where(func.lower(PortalUser.email).in_(emails[i : i + 500]))
        )
        existing.update({u.email.lower(): u for u in rows})
    outcomes = []
    for employee in employees:
        reason = _skip_reason(employee, existing.get((employee.email or "").lower()))
        if reason is not None:
            outcomes.append(Outcome(employee, False, reason))
            continue
        try:
            with session.begin_nested():
                invite_employee(session, actor, customer, links, employee)
        except ServiceError as exc:
            outcomes.append(Outcome(employee, False, exc.message))
            continue
        outcomes.append(Outcome(employee, True))
    return outcomes
