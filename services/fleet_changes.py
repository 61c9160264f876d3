"""Changing lines, one or many at once: what a change is (``Change``), what it would touch
(``preview``) and making it (``apply``). Re-exported by ``services.fleet``; callers import that.

Every change takes the caller's ``FleetScope`` and a selection (a list of ids or a ``Select``
of ids, e.g. a whole filtered result): ids outside the scope are ignored, never touched.

- Changes the portal owns (unit, employee, monthly limit) are applied at once, set-based, with
  one audit event per changed line.
- Changes the network must carry out (tariff, suspend/resume, services) become provisioning
  requests; the line shows them as pending until the network confirms. A line counts as
  changing only if its state *after its pending requests* differs from the one asked for, so
  asking twice queues nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Select,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from core.i18n import _l
from models import (
    Employee,
    Line,
    LineStatus,
    OrgUnit,
    ProvisioningRequest,
    Service,
    TariffPlan,
)
from services import ServiceError, employees, provisioning
from services import fleet_writes as writes
from services.audit import Actor
from services.fleet_query import FleetScope, scope_conditions

MAX_LIMIT = Decimal("100000")
ACTIONS = (
    "move",
    "assign",
    "assign_new",
    "unassign",
    "tariff",
    "suspend",
    "resume",
    "service",
    "limit",
)
# action of the form -> action of the provisioning request
NETWORK_ACTIONS = {
    "tariff": "change_tariff",
    "suspend": "suspend",
    "resume": "resume",
    "service": "set_service",
}
# action of the form -> (column changed, audit action) for changes the portal applies itself
LOCAL_ACTIONS = {
    "move": ("unit_id", "line.moved"),
    "assign": ("employee_id", "line.employee_assigned"),
    "assign_new": ("employee_id", "line.employee_assigned"),
    "unassign": ("employee_id", "line.employee_unassigned"),
    "limit": ("monthly_limit", "line.limit_changed"),
}


def allowed_tariff_ids(session: Session, customer_id: int) -> set[int]:
    """The tariff plans this customer may put its lines on. For now every plan on sale; the
    contracts feature will narrow this to the customer's contract (change it here only)."""
    today = date.today()
    return set(
        session.scalars(
            select(TariffPlan.id).where(
                TariffPlan.is_active.is_(True),
                or_(TariffPlan.valid_from.is_(None), TariffPlan.valid_from <= today),
                or_(TariffPlan.valid_to.is_(None), TariffPlan.valid_to >= today),
            )
        )
    )


@dataclass(frozen=True)
class Change:
    """What to do to the selected lines, as the user asked for it (ids, not entities)."""

    action: str
    unit_id: int | None = None
    employee_id: int | None = None
    new_employee: employees.NewEmployee | None = None
    tariff_id: int | None = None
    service: str | None = None
    on: bool | None = None
    limit: Decimal | None = None  # None: no limit


@dataclass(frozen=True)
class Resolved:
    """A change checked against the caller's scope, with what it names loaded."""

    change: Change
    unit: OrgUnit | None = None
    employee: Employee | None = None
    new_employee: employees.NewEmployee | None = None
    tariff: TariffPlan | None = None
    service: Service | None = None

    @property
    def action(self) -> str:
        return self.change.action

    @property
    def is_network(self) -> bool:
        return self.change.action in NETWORK_ACTIONS


@dataclass(frozen=True)
class Outcome:
    selected: int  # selected lines in scope
    changing: int  # of which would change / changed
    resolved: Resolved


def resolve(session: Session, scope: FleetScope, change: Change) -> Resolved:
    """Check what the change names; ServiceError (with the form field) when it is not allowed."""
    action = change.action
    if action not in ACTIONS:
        raise ServiceError(_l("Choose what to change."), field="action")
    if action == "move":
        unit = session.scalar(
            select(OrgUnit).where(
                OrgUnit.id == (change.unit_id or 0), OrgUnit.customer_id == scope.customer_id
            )
        )
        if unit is None or (scope.unit_path and not unit.path.startswith(scope.unit_path)):
            raise ServiceError(_l("Choose one of your units."), field="unit_id")
        return Resolved(change, unit=unit)
    if action == "assign":
        employee = employees.get(session, scope.customer_id, change.employee_id)
        if employee is None:
            raise ServiceError(_l("Choose one of your employees."), field="employee_id")
        return Resolved(change, employee=employee)
    if action == "assign_new":
        if change.new_employee is None:
            raise ServiceError(_l("Enter the employee's name."), field="full_name")
        return Resolved(
            change, new_employee=employees.clean(session, scope.customer_id, change.new_employee)
        )
    if action == "tariff":
        tariff = session.get(TariffPlan, change.tariff_id) if change.tariff_id else None
        if tariff is None:
            raise ServiceError(_l("Choose a tariff plan."), field="tariff_id")
        if tariff.id not in allowed_tariff_ids(session, scope.customer_id):
            raise ServiceError(
                _l("This tariff is not available under your contract."), field="tariff_id"
            )
        return Resolved(change, tariff=tariff)
    if action == "service":
        if change.service not in Service.__members__:
            raise ServiceError(_l("Choose a service."), field="service")
        if change.on is None:
            raise ServiceError(_l("Choose whether to turn the service on or off."), field="on")
        return Resolved(change, service=Service(change.service))
    if action == "limit" and change.limit is not None and not 0 <= change.limit <= MAX_LIMIT:
        raise ServiceError(_l("The limit must be between 0 and 100 000 PLN."), field="limit")
    return Resolved(change)


# --- which selected lines a change touches --------------------------------------------------

_STATE = (
    Line.id,
    Line.unit_id,
    Line.employee_id,
    Line.tariff_id,
    Line.status,
    Line.monthly_limit,
    *(getattr(Line, f"svc_{s.value}") for s in Service),
)


def _ids_condition(line_ids):
    if isinstance(line_ids, Select):
        return Line.id.in_(line_ids.scalar_subquery())
    ids = sorted({int(i) for i in line_ids})
    if not ids:
        raise ServiceError(_l("Select at least one line."))
    return Line.id.in_(ids)


def _states(session: Session, scope: FleetScope, line_ids) -> list:
    """The current state of the selected lines in scope (columns only, no secrets)."""
    rows = list(
        session.execute(
            select(*_STATE)
            .where(*scope_conditions(scope), _ids_condition(line_ids))
            .order_by(Line.id)
        )
    )
    if not rows:
        raise ServiceError(_l("Select at least one line."))
    return rows


def selected_count(session: Session, scope: FleetScope, line_ids) -> int:
    """How many of the selected lines are in scope; ServiceError when none is."""
    n = session.scalar(
        select(func.count(Line.id)).where(*scope_conditions(scope), _ids_condition(line_ids))
    )
    if not n:
        raise ServiceError(_l("Select at least one line."))
    return n


def _pending(session: Session, ids: list[int]) -> dict[int, list[tuple[str, dict]]]:
    """Open requests (action, params) per line, oldest first."""
    result: dict[int, list[tuple[str, dict]]] = {}
    for chunk in writes.chunks(ids, 900):
        query = (
            select(
                ProvisioningRequest.line_id, ProvisioningRequest.action, ProvisioningRequest.params
            )
            .where(
                ProvisioningRequest.line_id.in_(chunk),
                ProvisioningRequest.status.in_(provisioning.OPEN),
            )
            .order_by(ProvisioningRequest.id)
        )
        for line_id, action, params in session.execute(query):
            result.setdefault(line_id, []).append((action, params))
    return result


def _expected(row, pending: list[tuple[str, dict]]) -> dict:
    """The line's network state once its pending requests are carried out."""
    state = {"status": row.status, "tariff_id": row.tariff_id}
    state.update({s.value: getattr(row, f"svc_{s.value}") for s in Service})
    for action, params in pending:
        if action == "set_service" and params.get("service") in state:
            state[params["service"]] = bool(params.get("on"))
        elif action == "change_tariff":
            state["tariff_id"] = params.get("tariff_id")
        elif action == "suspend":
            state["status"] = LineStatus.suspended
        elif action == "resume":
            state["status"] = LineStatus.active
    return state


def _changing(session: Session, rows: list, r: Resolved) -> list:
    """The rows the change would alter."""
    a = r.action
    if a == "move":
        return [row for row in rows if row.unit_id != r.unit.id]
    if a == "assign":
        return [row for row in rows if row.employee_id != r.employee.id]
    if a == "assign_new":
        return rows
    if a == "unassign":
        return [row for row in rows if row.employee_id is not None]
    if a == "limit":
        return [row for row in rows if row.monthly_limit != r.change.limit]
    pending = _pending(session, [row.id for row in rows])

    def wanted(row) -> bool:
        after = _expected(row, pending.get(row.id, []))
        if a == "tariff":
            live = row.status in (LineStatus.active, LineStatus.suspended)
            return live and after["tariff_id"] != r.tariff.id
        if a == "suspend":
            return after["status"] == LineStatus.active
        if a == "resume":
            return after["status"] == LineStatus.suspended
        return row.status == LineStatus.active and after[r.service.value] != r.change.on

    return [row for row in rows if wanted(row)]


def preview(session: Session, scope: FleetScope, line_ids, change: Change) -> Outcome:
    """How many selected lines are in scope and how many the change would alter. Changes
    nothing."""
    resolved = resolve(session, scope, change)
    rows = _states(session, scope, line_ids)
    return Outcome(len(rows), len(_changing(session, rows, resolved)), resolved)


def apply(session: Session, actor: Actor, scope: FleetScope, line_ids, change: Change) -> Outcome:
    """Make the change on the selected lines in scope (audited); flushes, never commits."""
    resolved = resolve(session, scope, change)
    return _apply(session, actor, scope, line_ids, resolved)


def _apply(session: Session, actor: Actor, scope: FleetScope, line_ids, r: Resolved) -> Outcome:
    session.flush()
    rows = _states(session, scope, line_ids)
    changing = _changing(session, rows, r)
    if r.action == "assign_new":
        units = {row.unit_id for row in rows}
        unit = session.get(OrgUnit, units.pop()) if len(units) == 1 else None
        employee = employees.create(session, actor, scope.customer_id, r.new_employee, unit)
        r = replace(r, employee=employee)
    ids = [row.id for row in changing]
    if ids and r.is_network:
        if r.action == "tariff":
            params = {"tariff_id": r.tariff.id}
        elif r.action == "service":
            params = {"service": r.service.value, "on": bool(r.change.on)}
        else:
            params = {}
        writes.add_requests(
            session, actor, scope.customer_id, ids, NETWORK_ACTIONS[r.action], params
        )
    elif ids:
        column, audit_action = LOCAL_ACTIONS[r.action]
        if r.action == "move":
            values = {"unit_id": r.unit.id, "unit_path": r.unit.path}
        elif r.action in ("assign", "assign_new"):
            values = {"employee_id": r.employee.id}
        elif r.action == "unassign":
            values = {"employee_id": None}
        else:
            values = {"monthly_limit": r.change.limit}
        writes.update_lines(session, actor, scope.customer_id, ids, column, values, audit_action)
    return Outcome(len(rows), len(changing), r)
