"""New lines from orders: numbers from the pool, the employee, the line, the network request.

A number the customer chose is reserved for its order line when the order is placed, so it is
kept while the order waits for approval. When the order is released every new line gets its
number (the chosen one, the ported one, or the next free ordinary number of the pool), the
employee (found by e-mail or added to the register), a line in ``pendingActive`` and an
``activate`` provisioning request; a worker carries it out and the network's confirmation
makes the line active (``services.orders.activation_confirmed``). All of it for all new lines
of the order at once: a few statements whatever their number.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.i18n import _l
from models import (
    Employee,
    Line,
    LineStatus,
    NumberStatus,
    Order,
    OrderLine,
    OrderLineState,
    OrgUnit,
    PoolNumber,
    ProvisioningRequest,
    RequestStatus,
)
from models.base import utcnow
from services import ServiceError, audit, provisioning
from services.audit import Actor
from services.demo.fleet import luhn_digit


def unheld():
    """Pool numbers no line holds. A withdrawn activation's line ends but keeps its number
    (numbers are unique among lines), so that number goes back to the pool without being
    offered again while the ended line holds it."""
    return ~select(Line.id).where(Line.msisdn == PoolNumber.msisdn).exists()


def reserve_chosen(session: Session, lines: list[OrderLine]) -> None:
    """Hold the pool numbers the customer chose for these (flushed) activation lines."""
    for line in lines:
        wanted = line.params.get("msisdn")
        if not wanted:
            continue
        done = session.execute(
            update(PoolNumber)
            .where(PoolNumber.msisdn == wanted, PoolNumber.status == NumberStatus.free, unheld())
            .values(status=NumberStatus.reserved, order_line_id=line.id)
        ).rowcount
        if done != 1:  # taken a moment ago by another order
            raise ServiceError(
                _l("This number is no longer available; choose another."), field="msisdn"
            )


def release_number(session: Session, line: OrderLine) -> None:
    """The line will not be activated: its pool number goes back to the pool."""
    session.execute(
        update(PoolNumber)
        .where(PoolNumber.order_line_id == line.id, PoolNumber.status != NumberStatus.assigned)
        .values(status=NumberStatus.free, order_line_id=None)
    )


def _numbers(session: Session, lines: list[OrderLine]) -> dict[int, str]:
    """Order line id -> the number its new line gets."""
    out: dict[int, str] = {}
    ids = [ln.id for ln in lines]
    for number in session.scalars(select(PoolNumber).where(PoolNumber.order_line_id.in_(ids))):
        out[number.order_line_id] = number.msisdn
    for line in lines:
        if line.id in out:
            continue
        if line.params.get("port_msisdn"):
            out[line.id] = line.params["port_msisdn"]
        elif line.params.get("msisdn"):  # chosen, but not held (placed before holding existed)
            reserve_chosen(session, [line])
            out[line.id] = line.params["msisdn"]
    need = [ln for ln in lines if ln.id not in out]
    if need:
        query = (
            select(PoolNumber)
            .where(
                PoolNumber.status == NumberStatus.free, PoolNumber.is_golden.is_(False), unheld()
            )
            .order_by(PoolNumber.id)
            .limit(len(need))
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        free = list(session.scalars(query))
        if len(free) < len(need):
            raise ServiceError(
                _l("No number is available for a new line; contact your account manager.")
            )
        for line, number in zip(need, free, strict=True):
            number.status = NumberStatus.reserved
            number.order_line_id = line.id
            out[line.id] = number.msisdn
    ported = [out[ln.id] for ln in lines if ln.params.get("port_msisdn")]
    if ported and session.scalar(select(Line.id).where(Line.msisdn.in_(ported)).limit(1)):
        raise ServiceError(_l("This number is already one of our lines."), field="port_msisdn")
    return out


def _employees(
    session: Session, actor: Actor, order: Order, lines: list[OrderLine], units: dict
) -> dict[int, int]:
    """Order line id -> employee id: found by e-mail in the register, or added to it."""
    named = [ln for ln in lines if ln.params.get("employee_name")]
    emails = {
        ln.params["employee_email"].lower() for ln in named if ln.params.get("employee_email")
    }
    known: dict[str, Employee] = {}
    if emails:
        query = select(Employee).where(
            Employee.customer_id == order.customer_id, func.lower(Employee.email).in_(emails)
        )
        known = {e.email.lower(): e for e in session.scalars(query)}
    new: list[Employee] = []
    chosen: dict[int, Employee] = {}
    for line in named:
        email = line.params.get("employee_email")
        employee = known.get(email.lower()) if email else None
        if employee is None:
            employee = Employee(
                customer_id=order.customer_id,
                unit_id=units[line.params["unit_id"]].id,
                full_name=line.params["employee_name"],
                email=email,
                position=line.params.get("employee_position"),
            )
            new.append(employee)
            if email:
                known[email.lower()] = employee
        chosen[line.id] = employee
    if new:
        session.add_all(new)
        session.flush()
        for employee in new:
            audit.record(
                session,
                actor,
                "employee.created",
                customer_id=order.customer_id,
                obj=employee,
                after={
                    "full_name": employee.full_name,
                    "email": employee.email,
                    "position": employee.position,
                    "unit_id": employee.unit_id,
                    "order": order.number,
                },
            )
    return {line_id: e.id for line_id, e in chosen.items()}


def start(session: Session, actor: Actor, order: Order, lines: list[OrderLine]) -> None:
    """Create the new lines of a released order and ask the network to activate them."""
    if not lines:
        return
    numbers = _numbers(session, lines)
    unit_ids = {ln.params["unit_id"] for ln in lines}
    units = {
        u.id: u
        for u in session.scalars(
            select(OrgUnit).where(
                OrgUnit.id.in_(unit_ids), OrgUnit.customer_id == order.customer_id
            )
        )
    }
    if len(units) != len(unit_ids):  # deleted while the order waited for approval
        raise ServiceError(
            _l("A department of a new line no longer exists; cancel that position."),
            field="unit_id",
        )
    employees = _employees(session, actor, order, lines, units)
    new_lines = []
    for line in lines:
        unit = units[line.params["unit_id"]]
        body = f"894801{7 * 10**11 + line.id:012d}"
        new_lines.append(
            Line(
                customer_id=order.customer_id,
                unit_id=unit.id,
                unit_path=unit.path,
                msisdn=numbers[line.id],
                status=LineStatus.pendingActive,
                tariff_id=line.tariff_id,
                employee_id=employees.get(line.id),
                iccid=body + luhn_digit(body),
                imsi=f"26001{7 * 10**9 + line.id:010d}",
            )
        )
    session.add_all(new_lines)
    session.flush()
    _request_activations(session, actor, lines, new_lines)


def _request_activations(
    session: Session, actor: Actor, lines: list[OrderLine], new_lines: list[Line]
) -> None:
    """One ``activate`` provisioning request per new line, as ``provisioning.request_change``
    records it (acknowledged, audited as ``provisioning.activate``), in one flush; the jobs
    after the commit."""
    requests = []
    for line, new in zip(lines, new_lines, strict=True):
        line.line_id = new.id
        line.state = OrderLineState.inProgress
        requests.append(
            ProvisioningRequest(
                customer_id=new.customer_id,
                line_id=new.id,
                action="activate",
                params={"order_line_id": line.id, "msisdn": new.msisdn},
                status=RequestStatus.acknowledged,
                requested_by=actor.label,
            )
        )
    session.add_all(requests)
    session.flush()
    for new, req in zip(new_lines, requests, strict=True):
        audit.record(
            session,
            actor,
            "provisioning.activate",
            customer_id=new.customer_id,
            obj=new,
            after={"request": req.id, **req.params},
        )
    session.flush()
    provisioning.enqueue_lines(session, [new.id for new in new_lines])


def activate_request(session: Session, line: OrderLine) -> ProvisioningRequest | None:
    """The newest activation request of the line an order line created."""
    if not line.line_id:
        return None
    return session.scalar(
        select(ProvisioningRequest)
        .where(
            ProvisioningRequest.line_id == line.line_id, ProvisioningRequest.action == "activate"
        )
        .order_by(ProvisioningRequest.id.desc())
        .limit(1)
    )


def withdraw(session: Session, line: OrderLine) -> None:
    """Cancel an activation that the network has not started: the request is cancelled, the new
    line ends, its number goes back to the pool. ServiceError if the network is at it."""
    if line.line_id:
        req = activate_request(session, line)
        if req is not None and req.status in (RequestStatus.inProgress, RequestStatus.completed):
            raise ServiceError(
                _l("The network is already activating this line; it cannot be cancelled now.")
            )
        if req is not None and req.status == RequestStatus.acknowledged:
            req.status = RequestStatus.cancelled
            req.completed_at = utcnow()
        new_line = session.get(Line, line.line_id)
        if new_line is not None and new_line.status == LineStatus.pendingActive:
            new_line.status = LineStatus.terminated
            new_line.terminated_at = utcnow()
    release_number(session, line)
