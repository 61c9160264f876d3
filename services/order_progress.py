"""Following an order to its end: the order's state from its lines' states, and what happens
to a line after the order went ahead — stock allocated by a drain, an activation confirmed or
refused by the network, a shipment.

The order's state follows its lines (TM Forum ProductOrder names): ``inProgress`` while nothing
is finished, ``partial`` once some positions are delivered or activated and others are still
open (or failed), ``completed``, ``failed`` or ``cancelled`` at the end. Every change of state
is an audit event of the order. ``services.orders`` re-exports what callers use.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import (
    Line,
    LineKind,
    NumberStatus,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    PoolNumber,
)
from models.base import utcnow
from services import ServiceError, audit, order_activation, stock
from services.audit import Actor
from services.order_items import OPEN_LINE_STATES

SYSTEM = Actor.system("orders")


def lines_of(session: Session, order: Order) -> list[OrderLine]:
    return list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)
        )
    )


def derived_state(current: OrderState, states: set[OrderLineState]) -> OrderState:
    if states <= {OrderLineState.cancelled}:
        return OrderState.cancelled
    if current in (OrderState.acknowledged, OrderState.pending):
        return current  # not released yet
    if states & set(OPEN_LINE_STATES):
        return OrderState.partial if OrderLineState.completed in states else OrderState.inProgress
    if OrderLineState.completed in states:
        return OrderState.partial if OrderLineState.failed in states else OrderState.completed
    return OrderState.failed


def set_state(session: Session, actor: Actor, order: Order, new: OrderState, **extra: str) -> None:
    if new == order.state:
        return
    before = order.state
    order.state = new
    audit.record(
        session,
        actor,
        "order.state_changed",
        customer_id=order.customer_id,
        object_type="order",
        object_id=order.id,
        before={"state": before.value},
        after={"state": new.value, **extra},
    )


def update_state(session: Session, order: Order, actor: Actor = SYSTEM) -> None:
    """The order's state from its lines' states (audited when it changes)."""
    states = {ln.state for ln in lines_of(session, order)}
    set_state(session, actor, order, derived_state(order.state, states))
    session.flush()


def ship(session: Session, actor: Actor, line: OrderLine) -> None:
    """The warehouse shipped an allocated line."""
    if line.state != OrderLineState.allocated:
        raise ServiceError(_l("Only a fully allocated position can ship."))
    stock.ship_line(session, line)
    line.state = OrderLineState.completed
    line.completed_at = utcnow()
    if line.kind == LineKind.exchange and line.line_id:
        target = session.get(Line, line.line_id)
        before = {"handset_id": target.handset_id, "imei": target.imei}
        target.handset_id = line.product_id
        target.imei = line.params.get("imei") or target.imei
        audit.record(
            session,
            actor,
            "line.handset_exchanged",
            customer_id=line.customer_id,
            obj=target,
            before=before,
            after={"handset_id": line.product_id},
        )
    audit.record(
        session,
        actor,
        "order.line_shipped",
        customer_id=line.customer_id,
        object_type="order",
        object_id=line.order_id,
        after={"line": line.id},
    )
    update_state(session, session.get(Order, line.order_id), actor)


def activation_confirmed(session: Session, order_line_id: int) -> None:
    """Called when the network confirms an activation: the line is live."""
    line = session.get(OrderLine, order_line_id)
    if line is None or line.state != OrderLineState.inProgress:
        return
    line.state = OrderLineState.completed
    line.completed_at = utcnow()
    number = session.scalar(select(PoolNumber).where(PoolNumber.order_line_id == line.id))
    if number is not None:
        number.status = NumberStatus.assigned
    audit.record(
        session,
        Actor.system("network"),
        "order.line_activated",
        customer_id=line.customer_id,
        object_type="order",
        object_id=line.order_id,
        after={"line": line.id, "line_id": line.line_id},
    )
    update_state(session, session.get(Order, line.order_id))


def activation_failed(session: Session, order_line_id: int, reason: str) -> None:
    """Called when the network finally refuses an activation: the position failed, the new
    line ends and its number goes back to the pool."""
    line = session.get(OrderLine, order_line_id)
    if line is None or line.state != OrderLineState.inProgress:
        return
    order_activation.withdraw(session, line)
    line.state = OrderLineState.failed
    line.failure_reason = (reason or "")[:500] or None
    audit.record(
        session,
        Actor.system("network"),
        "order.line_failed",
        customer_id=line.customer_id,
        object_type="order",
        object_id=line.order_id,
        after={"line": line.id, "reason": line.failure_reason},
    )
    update_state(session, session.get(Order, line.order_id))
