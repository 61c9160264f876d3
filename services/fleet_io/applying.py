"""Applying a checked import: everything in the caller's one transaction, or nothing.

The caller checks again inside the same transaction (``checking.check(..., lock=True)``) and
applies only a plan without errors. Employees that do not exist yet are created (by e-mail,
within the customer); lines get their new unit (``unit_id`` together with ``unit_path``) and
employee with set-based updates; audit rows (one per changed line and kind of change, one per
new employee) go in with one bulk insert.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from core.i18n import _l
from models import AuditEvent, Employee, Line, OrgUnit
from models.base import utcnow
from services import ServiceError
from services import fleet as fl
from services.audit import Actor
from services.fleet_io.checking import Plan

CHUNK = 900


def apply(session: Session, actor: Actor, scope: fl.FleetScope, plan: Plan) -> dict:
    """Carry out ``plan`` (checked in this transaction). Returns counts for the report."""
    if plan.errors:
        raise ServiceError(_l("The file has errors; nothing was changed."))
    now = utcnow()
    audit: list[dict] = []

    def audit_row(action, object_type, object_id, before, after):
        audit.append(
            {
                "created_at": now,
                "actor_kind": actor.kind,
                "actor_id": actor.id,
                "actor_label": actor.label,
                "address": actor.address,
                "customer_id": scope.customer_id,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "before": before,
                "after": after,
            }
        )

    created: dict[str, int] = {}
    if plan.new_employees:
        people = {
            key: Employee(
                customer_id=scope.customer_id,
                unit_id=new.unit_id,
                full_name=new.full_name,
                email=new.email,
                position=new.position,
            )
            for key, new in plan.new_employees.items()
        }
        session.add_all(people.values())
        session.flush()
        for key, person in people.items():
            created[key] = person.id
            audit_row(
                "employee.created",
                "employee",
                person.id,
                None,
                {
                    "full_name": person.full_name,
                    "email": person.email,
                    "position": person.position,
                    "unit_id": person.unit_id,
                },
            )

    paths = dict(
        session.execute(
            select(OrgUnit.id, OrgUnit.path).where(
                OrgUnit.customer_id == scope.customer_id,
                OrgUnit.id.in_({c.unit_to for c in plan.changes if c.unit_to is not None}),
            )
        ).all()
    )
    # One executemany per set of changed columns (ORM bulk UPDATE by primary key).
    updates: dict[tuple, list[dict]] = defaultdict(list)
    counts = {"moved": 0, "assigned": 0, "unassigned": 0}
    for change in plan.changes:
        # The same audit actions as a change made in the fleet list, so a line's history
        # reads the same whichever way the change came.
        line = change.line_id
        values = {"id": line, "updated_at": now}
        if change.unit_to is not None:
            values |= {"unit_id": change.unit_to, "unit_path": paths[change.unit_to]}
            counts["moved"] += 1
            before, after = {"unit_id": change.unit_from}, {"unit_id": change.unit_to}
            audit_row("line.moved", "line", line, before, after)
        if change.employee_set:
            target = created[change.new_employee] if change.new_employee else change.employee_to
            values["employee_id"] = target
            counts["assigned" if target else "unassigned"] += 1
            action = "line.employee_assigned" if target else "line.employee_unassigned"
            before, after = {"employee_id": change.employee_from}, {"employee_id": target}
            audit_row(action, "line", line, before, after)
        updates[tuple(sorted(values))].append(values)
    table = Line.__table__
    for keys, rows in updates.items():
        # Core executemany: one statement, many parameter sets (no ORM bookkeeping).
        statement = (
            update(table)
            .where(table.c.id == bindparam("line_id"))
            .values({k: bindparam(k) for k in keys if k != "id"})
        )
        for i in range(0, len(rows), CHUNK):
            session.execute(statement, [{**r, "line_id": r["id"]} for r in rows[i : i + CHUNK]])
    if audit:
        session.execute(insert(AuditEvent.__table__), audit)
    session.expire_all()
    return {
        "changed_lines": len(plan.changes),
        "moved_lines": counts["moved"],
        "assigned_lines": counts["assigned"],
        "unassigned_lines": counts["unassigned"],
        "created_employees": len(created),
    }
