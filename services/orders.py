"""Orders: placing, approving, releasing, cancelling, and following them to completion.

Prices come from the published offer (services.offer) on the day of the order; anything not in
the customer's offer, or outside the orderer's scope, is refused (services.order_items). An
order whose one-off value exceeds the contract's approval threshold waits (``pending``) for one
of the customer's approvers. When released, lines that need stock join the back-order queue of
their product and a drain job serves them; activations get a number and a provisioning request
(services.order_activation).

How an order then follows its lines to the end: services.order_progress (re-exported here).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import (
    Customer,
    LineKind,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    PortalUser,
)
from models.base import utcnow
from services import ServiceError, audit, mail, order_activation, order_reading, stock
from services.audit import Actor
from services.contracts import today
from services.fleet import FleetScope
from services.offer import offer_for
from services.order_allocations import settle_allocations  # noqa: F401  (public face)
from services.order_items import (  # noqa: F401  (part of this module's public face)
    MAX_LINES,
    MAX_QUANTITY,
    OPEN_LINE_STATES,
    CartItem,
    first_error,
    price_items,
)
from services.order_progress import (  # noqa: F401  (part of this module's public face)
    SYSTEM,
    activation_confirmed,
    activation_failed,
    lines_of,
    set_state,
    ship,
    update_state,
)

_lines = lines_of  # the order's lines, oldest first (tests and callers use this name)


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
    """Check and price every item, then place the order. ServiceError at the first refused
    item (``details["item"]`` is its position in ``items``); nothing is added then."""
    if not items:
        raise ServiceError(_l("The cart is empty."))
    if len(items) > MAX_LINES:
        raise ServiceError(_l("An order can have at most 200 positions."))
    on = today()  # the business day (Warsaw), as the offer page shows it
    offer = offer_for(session, customer.id, on)
    priced = price_items(session, offer, scope, items)
    error = first_error(priced)
    if error is not None:
        raise error
    lines: list[OrderLine] = priced  # type: ignore[assignment]  (no errors left)
    total = sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0.00"))
    threshold = offer.version.approval_threshold if offer.version else None
    needs_approval = threshold is not None and total > threshold
    if needs_approval and not approvers(session, customer.id, placed_by):
        raise ServiceError(
            _l(
                "This order exceeds your contract's approval threshold and nobody else in your "
                "company may approve orders. Ask your account manager to name an approver."
            )
        )
    order = Order(
        number="",
        customer_id=customer.id,
        state=OrderState.acknowledged,
        placed_by_id=placed_by.id if placed_by else None,
        placed_by_staff_id=placed_by_staff_id,
        channel="portal" if placed_by else "console",
        contract_version_id=offer.version.id if offer.version else None,
        total_net=total,
        note=(note or "").strip()[:2000] or None,
    )
    session.add(order)
    session.flush()
    order.number = f"Z/{on.year}/{order.id:07d}"
    for ln in lines:
        ln.order_id = order.id
        ln.customer_id = customer.id
    session.add_all(lines)
    session.flush()
    order_activation.reserve_chosen(session, [ln for ln in lines if ln.params.get("msisdn")])
    audit.record(
        session,
        actor,
        "order.placed",
        customer_id=customer.id,
        obj=order,
        object_type="order",
        after={"number": order.number, "total_net": str(order.total_net), "lines": len(lines)},
    )
    if needs_approval:
        order.requires_approval = True
        set_state(session, actor, order, OrderState.pending, threshold=str(threshold))
        _notify_approvers(session, order, placed_by)
        session.flush()
    else:
        release(session, actor, order)
    return order


def approvers(
    session: Session, customer_id: int, placed_by: PortalUser | None = None
) -> list[PortalUser]:
    """Who may approve an order of this customer placed by ``placed_by`` (never that person)."""
    query = (
        select(PortalUser)
        .where(
            PortalUser.customer_id == customer_id,
            PortalUser.can_approve_orders.is_(True),
            PortalUser.is_active.is_(True),
            PortalUser.role.in_(order_reading.READER_ROLES),
        )
        .order_by(PortalUser.full_name, PortalUser.id)
    )
    if placed_by is not None:
        query = query.where(PortalUser.id != placed_by.id)
    return list(session.scalars(query))


def _notify_approvers(session: Session, order: Order, placed_by: PortalUser | None) -> None:
    """E-mail the approvers who can see the order (a division's approver sees its orders)."""
    mails = []
    for user in approvers(session, order.customer_id, placed_by):
        if not order_reading.can_see(session, user, order.id):
            continue
        mails.append(user.email)
    who = placed_by.full_name if placed_by else "Twój opiekun klienta"
    for email in mails:
        mail.queue_mail(
            session,
            email,
            f"Zamówienie {order.number} czeka na Twoją akceptację",
            f"{who} złożył(a) zamówienie {order.number} na kwotę {order.total_net} zł netto. "
            "Kwota przekracza próg akceptacji z umowy, więc zamówienie czeka na Twoją decyzję: "
            "zaakceptuj je albo odrzuć w portalu Asystent, w zakładce Zamówienia.",
            customer_id=order.customer_id,
        )


def _may_decide(order: Order, approver: PortalUser) -> None:
    if order.state != OrderState.pending:
        raise ServiceError(_l("This order is not waiting for approval."))
    if (
        not approver.can_approve_orders
        or not approver.is_active
        or approver.customer_id != order.customer_id
    ):
        raise ServiceError(_l("You may not approve orders."))
    if approver.id == order.placed_by_id:
        raise ServiceError(_l("An order must be approved by someone other than who placed it."))


def approve(session: Session, actor: Actor, order: Order, approver: PortalUser) -> None:
    _may_decide(order, approver)
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
    _may_decide(order, approver)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ServiceError(_l("Give the reason for rejecting the order."), field="reason")
    if len(reason) > 500:
        raise ServiceError(_l("The reason is too long (at most 500 characters)."), field="reason")
    now = utcnow()
    for line in _lines(session, order):
        if line.kind == LineKind.activation:
            order_activation.release_number(session, line)
        line.state = OrderLineState.cancelled
        line.cancelled_at = now
        line.failure_reason = reason
    audit.record(
        session,
        actor,
        "order.rejected",
        customer_id=order.customer_id,
        object_type="order",
        object_id=order.id,
        after={"reason": reason},
    )
    set_state(session, actor, order, OrderState.cancelled)
    session.flush()


def release(session: Session, actor: Actor, order: Order) -> None:
    """The order goes ahead: stock lines join their queues, activations start."""
    now = utcnow()
    order.released_at = now
    lines = [ln for ln in _lines(session, order) if ln.state == OrderLineState.acknowledged]
    products = set()
    for line in lines:
        if line.kind != LineKind.activation:
            line.state = OrderLineState.waiting
            line.queued_at = now
            products.add(line.product_id)
    order_activation.start(
        session, actor, order, [ln for ln in lines if ln.kind == LineKind.activation]
    )
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
    set_state(session, actor, order, OrderState.inProgress)
    session.flush()


def can_cancel(line: OrderLine) -> bool:
    """Not shipped, not finished. (An activation the network is already carrying out is
    refused by ``cancel_line`` with its own message.)"""
    return line.state in OPEN_LINE_STATES and not line.shipped_qty


def cancel_line(
    session: Session, actor: Actor, line: OrderLine, *, update_order: bool = True
) -> int:
    """Cancel what has not shipped: reserved stock returns to the queue, a number to the pool.
    Returns the units of stock given back."""
    if not can_cancel(line):
        raise ServiceError(
            _l("This position has already shipped or ended and cannot be cancelled.")
        )
    if line.kind == LineKind.activation:
        order_activation.withdraw(session, line)
    returned = stock.release_line(session, line)
    line.state = OrderLineState.cancelled
    line.cancelled_at = utcnow()
    audit.record(
        session,
        actor,
        "order.line_cancelled",
        customer_id=line.customer_id,
        object_type="order",
        object_id=line.order_id,
        after={"line": line.id, "returned": returned},
    )
    if update_order:
        update_state(session, session.get(Order, line.order_id), actor)
    return returned


def cancel_order(session: Session, actor: Actor, order: Order) -> tuple[int, int]:
    """Cancel every position that can still be cancelled. Returns (cancelled, kept): kept are
    open positions the network is already activating."""
    open_lines = [ln for ln in _lines(session, order) if can_cancel(ln)]
    if not open_lines:
        raise ServiceError(_l("Nothing in this order can be cancelled any more."))
    cancelled = kept = 0
    for line in open_lines:
        try:
            with session.begin_nested():
                cancel_line(session, actor, line, update_order=False)
            cancelled += 1
        except ServiceError:
            kept += 1
    if not cancelled:
        raise ServiceError(
            _l("The network is already activating this line; it cannot be cancelled now.")
        )
    update_state(session, order, actor)
    return cancelled, kept
