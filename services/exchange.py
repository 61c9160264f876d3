"""A handset exchange an employee asks for, within the policy of the line's unit.

Eligible when enough months have passed since the line's last exchange (or its activation),
the model is one the policy allows and the company's offer has. Up to the budget the order is
placed at once; above it the policy says either that the employee pays the difference (noted
on the order) or that a fleet admin must approve. The order is an ordinary handset-exchange
order line (``services.orders``): it joins the product's back-order queue and ships from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import (
    Customer,
    Line,
    LineKind,
    OrderLine,
    OrderLineState,
    PortalUser,
    RequestKind,
    SelfServiceRequest,
    SelfServiceState,
)
from models.base import utcnow
from services import ServiceError, audit, orders, policies, selfservice
from services.audit import Actor
from services.contracts import today
from services.fleet import FleetScope
from services.offer import OfferItem, offer_for


def _months_between(earlier: datetime, later: datetime) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - (1 if later.day < earlier.day else 0)


def last_exchange(session: Session, line: Line) -> datetime | None:
    """When the line last got a handset: its last shipped exchange, else its activation."""
    shipped = session.scalar(
        select(func.max(OrderLine.completed_at)).where(
            OrderLine.line_id == line.id,
            OrderLine.kind == LineKind.exchange,
            OrderLine.state == OrderLineState.completed,
        )
    )
    return shipped or line.activated_at


@dataclass(frozen=True)
class Choice:
    """A handset the employee may choose, with what it costs them."""

    item: OfferItem
    employee_pays: Decimal  # 0 within the budget
    needs_approval: bool


def choices(session: Session, line: Line) -> tuple[list[Choice], dict | None]:
    """The handsets on offer that the policy allows, and the refusal (a dict as in
    ``selfservice.refusal_text``) if the line is not eligible yet."""
    policy = policies.effective_for_line(session, line)
    months = policy["exchange.months"]
    since = last_exchange(session, line)
    refusal = None
    if since is not None and _months_between(since, utcnow()) < months.value:
        n = _months_between(since, utcnow())
        refusal = selfservice.refusal(session, line, months, "exchange_months", n=n, m=months.value)
    allowed = policy.value("exchange.models")
    budget = policy.value("exchange.budget")
    over = policy.value("exchange.over_budget")
    offer = offer_for(session, line.customer_id, today())
    out = []
    for item in offer.products():
        if item.kind != "handset" or (allowed and item.product.id not in allowed):
            continue
        above = Decimal("0") if budget is None else max(item.price - budget, Decimal("0"))
        out.append(
            Choice(
                item,
                above if over == "pay" else Decimal("0"),
                bool(above) and over == policies.APPROVAL,
            )
        )
    return out, refusal


def ask(
    session: Session, actor: Actor, user: PortalUser, line: Line, product_id: int
) -> SelfServiceRequest:
    """The employee asks for a new handset. Returns the request: ``done`` (the order is placed),
    ``pending`` (waits for an admin) or ``refused`` (with the rule)."""
    selfservice.check_live(line)
    options, refusal = choices(session, line)
    choice = next((c for c in options if c.item.product.id == product_id), None)
    if choice is None:
        raise ServiceError(_l("Choose one of the handsets offered to you."), field="product_id")
    params = {
        "product_id": product_id,
        "product_name": choice.item.name,
        "price": str(choice.item.price),
        "employee_pays": str(choice.employee_pays),
    }
    req = selfservice.new_request(session, user, line, RequestKind.exchange, params)
    if refusal is not None:
        return selfservice.refuse(session, actor, req, refusal)
    if choice.needs_approval:
        return selfservice.await_approval(session, actor, req, line)
    place(session, actor, req, line)
    req.state = SelfServiceState.done
    audit.record(
        session,
        actor,
        "selfservice.done",
        customer_id=req.customer_id,
        object_type="line",
        object_id=req.line_id,
        after={"request": req.id, "order": req.order_id},
    )
    session.flush()
    return req


def place(
    session: Session,
    actor: Actor,
    req: SelfServiceRequest,
    line: Line,
    approved_by: PortalUser | None = None,
) -> None:
    """Place the exchange order for the request (placed by the employee who asked)."""
    employee_user = session.get(PortalUser, req.requested_by_id) if req.requested_by_id else None
    customer = session.get(Customer, line.customer_id)
    pays = Decimal(req.params.get("employee_pays") or "0")
    note = str(_l("Handset exchange asked for by the employee in self-service."))
    if pays:
        note += " " + str(_l("The employee pays the difference: %(amount)s PLN.", amount=pays))
    if approved_by is not None:
        note += " " + str(_l("Approved by %(name)s.", name=approved_by.full_name))
    order = orders.place_order(
        session,
        actor,
        customer,
        FleetScope(line.customer_id),
        [
            orders.CartItem(
                kind=LineKind.exchange.value, product_id=req.params["product_id"], line_id=line.id
            )
        ],
        placed_by=employee_user,
        note=note,
    )
    req.order_id = order.id
    session.flush()
