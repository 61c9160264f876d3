"""Orders: placing, approving, releasing, cancelling, and following them to completion.

Prices come from the published offer (services.offer) on the day of the order; anything not in
the customer's offer is refused. An order whose one-off value exceeds the contract's approval
threshold waits (``pending``) for one of the customer's approvers. When released, lines that
need stock join the back-order queue of their product and a drain job serves them; activations
get a number and a provisioning request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import (
    Customer,
    Line,
    LineKind,
    LineStatus,
    NumberStatus,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    OrgUnit,
    PoolNumber,
    PortalUser,
    ProductKind,
)
from models.base import utcnow
from services import ServiceError, audit, mail, provisioning, stock
from services.audit import Actor
from services.fleet import FleetScope, line_in_scope, normalise_msisdn
from services.offer import Offer, offer_for

MAX_QUANTITY = 500
MAX_LINES = 200
OPEN_LINE_STATES = (
    OrderLineState.acknowledged,
    OrderLineState.waiting,
    OrderLineState.allocated,
    OrderLineState.inProgress,
)


@dataclass
class CartItem:
    """One thing to order. ``kind``: activation, handset, accessory or exchange."""

    kind: str
    quantity: int = 1
    product_id: int | None = None
    tariff_id: int | None = None
    line_id: int | None = None  # exchange: the line getting the new handset
    params: dict = field(default_factory=dict)  # activation: unit_id, employee…, msisdn/port


def _require(cond: bool, message) -> None:
    if not cond:
        raise ServiceError(message)


def _activation_params(session: Session, scope: FleetScope, item: CartItem) -> dict:
    p = dict(item.params)
    unit = session.scalar(
        select(OrgUnit).where(
            OrgUnit.id == int(p.get("unit_id") or 0), OrgUnit.customer_id == scope.customer_id
        )
    )
    if unit is None or (scope.unit_path and not unit.path.startswith(scope.unit_path)):
        raise ServiceError(_l("Choose the department for the new line."), field="unit_id")
    out = {"unit_id": unit.id}
    name = " ".join(str(p.get("employee_name") or "").split())
    if name:
        out["employee_name"] = name[:200]
        out["employee_email"] = (p.get("employee_email") or "").strip().lower()[:254] or None
        out["employee_position"] = (p.get("employee_position") or "").strip()[:120] or None
    if p.get("port_msisdn"):
        out["port_msisdn"] = normalise_msisdn(p["port_msisdn"])
        if session.scalar(select(Line.id).where(Line.msisdn == out["port_msisdn"])):
            raise ServiceError(_l("This number is already one of our lines."), field="msisdn")
        out["port_from"] = (p.get("port_from") or "").strip()[:60] or None
    elif p.get("msisdn"):
        wanted = normalise_msisdn(p["msisdn"])
        free = session.scalar(
            select(PoolNumber.id).where(
                PoolNumber.msisdn == wanted, PoolNumber.status == NumberStatus.free
            )
        )
        if free is None:
            raise ServiceError(
                _l("This number is no longer available; choose another."), field="msisdn"
            )
        out["msisdn"] = wanted
    return out


def _price_line(session: Session, offer: Offer, scope: FleetScope, item: CartItem) -> OrderLine:
    if not isinstance(item.quantity, int) or not (1 <= item.quantity <= MAX_QUANTITY):
        raise ServiceError(_l("The quantity must be between 1 and 500."), field="quantity")
    if item.kind == LineKind.activation:
        priced = offer.price_of_tariff(item.tariff_id or 0)
        _require(priced is not None, _l("This tariff is not in your offer."))
        _require(item.quantity == 1, _l("Each new line is ordered separately."))
        return OrderLine(
            kind=LineKind.activation,
            tariff_id=priced.tariff.id,
            quantity=1,
            unit_price=Decimal("0.00"),
            list_price=Decimal("0.00"),
            params={**_activation_params(session, scope, item), "monthly_fee": str(priced.price)},
        )
    priced = offer.price_of_product(item.product_id or 0)
    _require(priced is not None, _l("This product is not in your offer."))
    if item.kind == LineKind.exchange:
        _require(
            priced.product.kind == ProductKind.handset, _l("Only a handset can replace a handset.")
        )
        line = line_in_scope(session, scope, item.line_id or 0)
        _require(
            line is not None and line.status == LineStatus.active,
            _l("Choose an active line for the exchange."),
        )
        _require(item.quantity == 1, _l("One handset per line."))
        params = {"line_msisdn": line.msisdn}
    else:
        _require(item.kind == priced.product.kind.value, _l("This product is not in your offer."))
        params = {}
    return OrderLine(
        kind=LineKind(item.kind),
        product_id=priced.product.id,
        line_id=item.line_id if item.kind == LineKind.exchange else None,
        quantity=item.quantity,
        unit_price=priced.price,
        list_price=priced.list_price,
        params=params,
    )


def place_order(
    session: Session,
    actor: Actor,
    customer: Customer,
    scope: FleetScope,
    items: list[CartItem],
    *,
    placed_by: PortalUser | None = None,
    placed_by_staff_id: int | None = None,
    note: str | None = None,
) -> Order:
    if not items:
        raise ServiceError(_l("The cart is empty."))
    if len(items) > MAX_LINES:
        raise ServiceError(_l("An order can have at most 200 positions."))
    today = utcnow().date()
    offer = offer_for(session, customer.id, today)
    lines = [_price_line(session, offer, scope, item) for item in items]
    exchanged = [ln.line_id for ln in lines if ln.line_id]
    if len(exchanged) != len(set(exchanged)):
        raise ServiceError(_l("A line appears twice among the exchanges."))
    order = Order(
        number="",
        customer_id=customer.id,
        state=OrderState.acknowledged,
        placed_by_id=placed_by.id if placed_by else None,
        placed_by_staff_id=placed_by_staff_id,
        channel="portal" if placed_by else "console",
        contract_version_id=offer.version.id if offer.version else None,
        total_net=sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0.00")),
        note=(note or "").strip()[:2000] or None,
    )
    session.add(order)
    session.flush()
    order.number = f"Z/{today.year}/{order.id:07d}"
    for ln in lines:
        ln.order_id = order.id
        ln.customer_id = customer.id
        session.add(ln)
    session.flush()
    threshold = offer.version.approval_threshold if offer.version else None
    audit.record(
        session,
        actor,
        "order.placed",
        customer_id=customer.id,
        obj=order,
        object_type="order",
        after={"number": order.number, "total_net": str(order.total_net), "lines": len(lines)},
    )
    if threshold is not None and order.total_net > threshold:
        order.requires_approval = True
        order.state = OrderState.pending
        audit.record(
            session,
            actor,
            "order.awaiting_approval",
            customer_id=customer.id,
            object_type="order",
            object_id=order.id,
            after={"threshold": str(threshold)},
        )
        _notify_approvers(session, order, customer)
    else:
        release(session, actor, order)
    return order


def _notify_approvers(session: Session, order: Order, customer: Customer) -> None:
    approvers = session.scalars(
        select(PortalUser).where(
            PortalUser.customer_id == customer.id,
            PortalUser.can_approve_orders.is_(True),
            PortalUser.is_active.is_(True),
        )
    )
    for user in approvers:
        mail.queue_mail(
            session,
            user.email,
            f"Zamówienie {order.number} czeka na Twoją akceptację",
            f"Zamówienie {order.number} na kwotę {order.total_net} zł netto przekracza próg "
            f"akceptacji z umowy i czeka na Twoją decyzję w portalu Asystent.",
            customer_id=customer.id,
        )


def approve(session: Session, actor: Actor, order: Order, approver: PortalUser) -> None:
    if order.state != OrderState.pending:
        raise ServiceError(_l("This order is not waiting for approval."))
    if not approver.can_approve_orders or approver.customer_id != order.customer_id:
        raise ServiceError(_l("You may not approve orders."))
    if approver.id == order.placed_by_id:
        raise ServiceError(_l("An order must be approved by someone other than who placed it."))
    order.approved_by_id = approver.id
    order.approved_at = utcnow()
    audit.record(
        session,
        actor,
        "order.approved",
        customer_id=order.customer_id,
        object_type="order",
        object_id=order.id,
    )
    release(session, actor, order)


def reject(session: Session, actor: Actor, order: Order, approver: PortalUser, reason: str) -> None:
    if order.state != OrderState.pending:
        raise ServiceError(_l("This order is not waiting for approval."))
    if not approver.can_approve_orders or approver.customer_id != order.customer_id:
        raise ServiceError(_l("You may not approve orders."))
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_l("Give the reason for rejecting the order."), field="reason")
    for line in _lines(session, order):
        line.state = OrderLineState.cancelled
        line.cancelled_at = utcnow()
        line.failure_reason = reason[:500]
    order.state = OrderState.cancelled
    audit.record(
        session,
        actor,
        "order.rejected",
        customer_id=order.customer_id,
        object_type="order",
        object_id=order.id,
        after={"reason": reason[:500]},
    )
    session.flush()


def _lines(session: Session, order: Order) -> list[OrderLine]:
    return list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)
        )
    )


def release(session: Session, actor: Actor, order: Order) -> None:
    """The order goes ahead: stock lines join their queues, activations start."""
    now = utcnow()
    order.released_at = now
    order.state = OrderState.inProgress
    products = set()
    for line in _lines(session, order):
        if line.kind == LineKind.activation:
            _start_activation(session, actor, order, line)
        else:
            line.state = OrderLineState.waiting
            line.queued_at = now
            products.add(line.product_id)
    session.flush()
    for product_id in sorted(products):
        stock.enqueue_drain(session, product_id)
    audit.record(
        session,
        actor,
        "order.released",
        customer_id=order.customer_id,
        object_type="order",
        object_id=order.id,
    )


def _take_number(session: Session, line: OrderLine) -> str:
    p = line.params
    if p.get("port_msisdn"):
        return p["port_msisdn"]
    query = select(PoolNumber).where(PoolNumber.status == NumberStatus.free)
    if p.get("msisdn"):
        query = query.where(PoolNumber.msisdn == p["msisdn"])
    else:
        query = query.where(PoolNumber.is_golden.is_(False)).order_by(PoolNumber.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    number = session.scalar(query.limit(1))
    if number is None:
        raise ServiceError(
            _l("No number is available for a new line; contact your account manager.")
        )
    number.status = NumberStatus.reserved
    number.order_line_id = line.id
    return number.msisdn


def _start_activation(session: Session, actor: Actor, order: Order, line: OrderLine) -> None:
    from models import Employee
    from services.demo.fleet import luhn_digit

    msisdn = _take_number(session, line)
    unit = session.get(OrgUnit, line.params["unit_id"])
    employee_id = None
    if line.params.get("employee_name"):
        email = line.params.get("employee_email")
        employee = (
            session.scalar(
                select(Employee).where(
                    Employee.customer_id == order.customer_id, Employee.email == email
                )
            )
            if email
            else None
        )
        if employee is None:
            employee = Employee(
                customer_id=order.customer_id,
                unit_id=unit.id,
                full_name=line.params["employee_name"],
                email=email,
                position=line.params.get("employee_position"),
            )
            session.add(employee)
            session.flush()
        employee_id = employee.id
    body = f"894801{7 * 10**11 + line.id:012d}"
    new = Line(
        customer_id=order.customer_id,
        unit_id=unit.id,
        unit_path=unit.path,
        msisdn=msisdn,
        status=LineStatus.pendingActive,
        tariff_id=line.tariff_id,
        employee_id=employee_id,
        iccid=body + luhn_digit(body),
        imsi=f"26001{7 * 10**9 + line.id:010d}",
    )
    session.add(new)
    session.flush()
    line.line_id = new.id
    line.state = OrderLineState.inProgress
    provisioning.request_change(
        session, actor, new, "activate", {"order_line_id": line.id, "msisdn": msisdn}
    )


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
    update_state(session, session.get(Order, line.order_id))


def allocated(session: Session, result: stock.Allocated) -> None:
    """After a drain gave units to a line: order state, and tell whoever ordered."""
    from models import Product

    line, order, product_name, email = session.execute(
        select(OrderLine, Order, Product.name, PortalUser.email)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(
            PortalUser, (PortalUser.id == Order.placed_by_id) & PortalUser.is_active.is_(True)
        )
        .where(OrderLine.id == result.order_line_id)
    ).one()
    if order.state == OrderState.inProgress or result.complete:
        update_state(session, order)
    audit.record(
        session,
        Actor.system("backorders"),
        "order.line_allocated",
        customer_id=order.customer_id,
        object_type="order",
        object_id=order.id,
        after={"line": line.id, "quantity": result.quantity, "complete": result.complete},
    )
    if email:
        waiting = line.quantity - line.allocated_qty
        body = (
            f"Dobra wiadomość: do zamówienia {order.number} przydzieliliśmy "
            f"{result.quantity} szt. {product_name}."
        )
        if waiting:
            body += f" Na pozostałe {waiting} szt. nadal czekasz w kolejce."
        mail.queue_mail(
            session,
            email,
            f"Zamówienie {order.number}: towar przydzielony",
            body,
            customer_id=order.customer_id,
        )


def cancel_line(session: Session, actor: Actor, line: OrderLine) -> None:
    """Cancel what has not shipped: reserved stock returns, a reserved number goes back."""
    if line.state not in OPEN_LINE_STATES or line.shipped_qty:
        raise ServiceError(
            _l("This position has already shipped or ended and cannot be cancelled.")
        )
    if line.kind == LineKind.activation and line.state == OrderLineState.inProgress:
        from models import ProvisioningRequest, RequestStatus

        req = session.scalar(
            select(ProvisioningRequest).where(
                ProvisioningRequest.line_id == line.line_id,
                ProvisioningRequest.action == "activate",
                ProvisioningRequest.status == RequestStatus.acknowledged,
            )
        )
        if req is None:
            raise ServiceError(
                _l("The network is already activating this line; it cannot be cancelled now.")
            )
        req.status = RequestStatus.cancelled
        new_line = session.get(Line, line.line_id)
        new_line.status = LineStatus.terminated
        new_line.terminated_at = utcnow()
        number = session.scalar(select(PoolNumber).where(PoolNumber.order_line_id == line.id))
        if number is not None:
            number.status = NumberStatus.free
            number.order_line_id = None
    returned = stock.release_line(session, line)
    line.state = OrderLineState.cancelled
    line.cancelled_at = utcnow()
    order = session.get(Order, line.order_id)
    audit.record(
        session,
        actor,
        "order.line_cancelled",
        customer_id=line.customer_id,
        object_type="order",
        object_id=line.order_id,
        after={"line": line.id, "returned": returned},
    )
    update_state(session, order)


def update_state(session: Session, order: Order) -> None:
    lines = _lines(session, order)
    states = {ln.state for ln in lines}
    if order.state in (OrderState.pending, OrderState.acknowledged):
        if states == {OrderLineState.cancelled}:
            order.state = OrderState.cancelled
        session.flush()
        return
    if states <= {OrderLineState.cancelled}:
        new = OrderState.cancelled
    elif states <= {OrderLineState.completed, OrderLineState.cancelled}:
        new = OrderState.completed
    elif states <= {OrderLineState.failed, OrderLineState.cancelled}:
        new = OrderState.failed
    elif states & {OrderLineState.completed, OrderLineState.allocated} or any(
        ln.allocated_qty for ln in lines
    ):
        new = OrderState.partial
    else:
        new = OrderState.inProgress
    if new != order.state:
        before = order.state
        order.state = new
        audit.record(
            session,
            Actor.system("orders"),
            "order.state_changed",
            customer_id=order.customer_id,
            object_type="order",
            object_id=order.id,
            before={"state": before.value},
            after={"state": new.value},
        )
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
    update_state(session, session.get(Order, line.order_id))
