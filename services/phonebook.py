"""The corporate phone book: employees of one customer with their active numbers.

Visible to every portal user of the customer (employees too). Hidden entries are left out for
everyone but the person themself; terminated lines are never listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from models import Employee, Line, LineStatus, OrgUnit

LISTED_STATUSES = (LineStatus.active, LineStatus.suspended, LineStatus.pendingTerminate)


@dataclass
class Entry:
    employee: Employee
    unit: OrgUnit | None
    numbers: list[str]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(
    session: Session,
    customer_id: int,
    q: str = "",
    unit: OrgUnit | None = None,
    *,
    viewer_employee_id: int | None = None,
    limit: int | None = 100,
    after_name: tuple[str, int] | None = None,
) -> list[Entry]:
    query = (
        select(Employee, OrgUnit)
        .outerjoin(OrgUnit, OrgUnit.id == Employee.unit_id)
        .where(Employee.customer_id == customer_id)
    )
    visible = Employee.phonebook_hidden.is_(False)
    if viewer_employee_id is not None:
        visible = or_(visible, Employee.id == viewer_employee_id)
    query = query.where(visible)
    if unit is not None:
        query = query.where(
            OrgUnit.path >= unit.path, OrgUnit.path < OrgUnit.upper_bound(unit.path)
        )
    q = (q or "").strip()[:100]
    if q:
        digits = re.sub(r"\D", "", q)
        conds = []
        words = [w for w in q.lower().split() if w]
        if words:
            conds.append(
                and_(
                    *[
                        or_(
                            func.lower(Employee.full_name).like(f"%{_escape(w)}%", escape="\\"),
                            func.lower(func.coalesce(Employee.position, "")).like(
                                f"%{_escape(w)}%", escape="\\"
                            ),
                            func.lower(OrgUnit.name).like(f"%{_escape(w)}%", escape="\\"),
                        )
                        for w in words
                    ]
                )
            )
        if len(digits) >= 3:
            conds.append(
                Employee.id.in_(
                    select(Line.employee_id).where(
                        Line.customer_id == customer_id, Line.msisdn.like(f"%{digits}%")
                    )
                )
            )
        query = query.where(or_(*conds))
    if after_name is not None:
        query = query.where(
            tuple_(func.lower(Employee.full_name), Employee.id)
            > tuple_(literal(after_name[0].lower()), literal(after_name[1]))
        )
    query = query.order_by(func.lower(Employee.full_name), Employee.id)
    if limit:
        query = query.limit(limit)
    rows = list(session.execute(query))
    ids = [e.id for e, _u in rows]
    numbers: dict[int, list[str]] = {}
    if ids:
        for emp_id, msisdn in session.execute(
            select(Line.employee_id, Line.msisdn)
            .where(Line.employee_id.in_(ids), Line.status.in_(LISTED_STATUSES))
            .order_by(Line.msisdn)
        ):
            numbers.setdefault(emp_id, []).append(msisdn)
    return [Entry(e, u, numbers.get(e.id, [])) for e, u in rows]


def set_hidden(session: Session, employee: Employee, hidden: bool) -> None:
    employee.phonebook_hidden = hidden
    session.flush()


def vcard(entries: list[Entry], company: str) -> str:
    """vCard 3.0 for every entry (RFC 2426), CRLF line ends."""
    from services.fleet import format_msisdn

    def esc(value: str) -> str:
        return (
            (value or "")
            .replace("\\", "\\\\")
            .replace(",", "\\,")
            .replace(";", "\\;")
            .replace("\n", "\\n")
        )

    out = []
    for entry in entries:
        e = entry.employee
        parts = e.full_name.rsplit(" ", 1)
        given, family = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
        out += [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"N:{esc(family)};{esc(given)};;;",
            f"FN:{esc(e.full_name)}",
            f"ORG:{esc(company)}" + (f";{esc(entry.unit.name)}" if entry.unit else ""),
        ]
        if e.position:
            out.append(f"TITLE:{esc(e.position)}")
        for n in entry.numbers:
            out.append(f"TEL;TYPE=WORK,CELL:{format_msisdn(n)}")
        if e.email:
            out.append(f"EMAIL;TYPE=INTERNET,WORK:{esc(e.email)}")
        out.append("END:VCARD")
    return "\r\n".join(out) + "\r\n"
