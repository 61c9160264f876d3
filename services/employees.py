"""The customer's employee register: the people lines are assigned to.

E-mail addresses are optional but, when given, valid and unique within the customer
(compared without regard to letter case).
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.i18n import _l
from models import Employee, OrgUnit
from services import ServiceError, audit
from services.audit import Actor

MAX_NAME = 200
MAX_POSITION = 120
MAX_EMAIL = 254


@dataclass(frozen=True)
class NewEmployee:
    full_name: str
    email: str | None = None
    position: str | None = None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get(session: Session, customer_id: int, employee_id: int | None) -> Employee | None:
    """The customer's employee with this id; None for anyone else's or no id."""
    if not employee_id:
        return None
    return session.scalar(
        select(Employee).where(Employee.id == employee_id, Employee.customer_id == customer_id)
    )


def search(session: Session, customer_id: int, q: str, limit: int = 20) -> list[Employee]:
    """Employees whose name or e-mail contains every word of ``q``, by name."""
    words = [w for w in (q or "").split() if w][:6]
    if not words:
        return []
    conds = []
    for w in words:
        lower = f"%{_escape(w.lower())}%"
        capital = f"%{_escape(w[:1].upper() + w[1:].lower())}%"
        conds.append(
            or_(
                func.lower(Employee.full_name).like(lower, escape="\\"),
                Employee.full_name.like(capital, escape="\\"),
                func.lower(Employee.email).like(lower, escape="\\"),
            )
        )
    return list(
        session.scalars(
            select(Employee)
            .where(Employee.customer_id == customer_id, *conds)
            .order_by(func.lower(Employee.full_name), Employee.id)
            .limit(limit)
        )
    )


def clean(session: Session, customer_id: int, data: NewEmployee) -> NewEmployee:
    """Validated, tidied data for a new employee; ServiceError naming the field otherwise."""
    name = " ".join((data.full_name or "").split())
    if not name:
        raise ServiceError(_l("Enter the employee's name."), field="full_name")
    if len(name) > MAX_NAME:
        raise ServiceError(_l("The name is too long (at most 200 characters)."), field="full_name")
    position = " ".join((data.position or "").split()) or None
    if position and len(position) > MAX_POSITION:
        raise ServiceError(
            _l("The position is too long (at most 120 characters)."), field="position"
        )
    email = (data.email or "").strip() or None
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ServiceError(_l("This is not a valid e-mail address."), field="email") from exc
        if len(email) > MAX_EMAIL:
            raise ServiceError(_l("This is not a valid e-mail address."), field="email")
        if email_taken(session, customer_id, email):
            raise ServiceError(
                _l("An employee with this e-mail address already exists."), field="email"
            )
    return NewEmployee(full_name=name, email=email, position=position)


def email_taken(session: Session, customer_id: int, email: str) -> bool:
    return (
        session.scalar(
            select(Employee.id)
            .where(
                Employee.customer_id == customer_id,
                func.lower(Employee.email) == email.lower(),
            )
            .limit(1)
        )
        is not None
    )


def create(
    session: Session,
    actor: Actor,
    customer_id: int,
    data: NewEmployee,
    unit: OrgUnit | None = None,
) -> Employee:
    """Add an employee to the customer's register (audited)."""
    if unit is not None and unit.customer_id != customer_id:
        raise ServiceError(_l("This unit does not exist."), field="unit_id")
    data = clean(session, customer_id, data)
    employee = Employee(
        customer_id=customer_id,
        unit_id=unit.id if unit else None,
        full_name=data.full_name,
        email=data.email,
        position=data.position,
    )
    try:
        with session.begin_nested():
            session.add(employee)
            session.flush()
    except IntegrityError as exc:  # the same address added by someone else a moment ago
        raise ServiceError(
            _l("An employee with this e-mail address already exists."), field="email"
        ) from exc
    audit.record(
        session,
        actor,
        "employee.created",
        customer_id=customer_id,
        obj=employee,
        after={
            "full_name": employee.full_name,
            "email": employee.email,
            "position": employee.position,
            "unit_id": employee.unit_id,
        },
    )
    session.flush()
    return employee
