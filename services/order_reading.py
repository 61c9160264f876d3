"""Reading orders for the portal: who sees which order, stock as a customer sees it, where a
waiting position stands in its queue.

Who sees an order: anyone of the customer's fleet administrators and viewers without a scope
unit; a user limited to a division sees the orders they placed, and orders whose new lines and
exchanged lines all belong to that division (handsets and accessories belong to no division:
an order of only those is seen by whoever placed it and by the company-wide users). So a
division never sees another division's numbers or people through an order.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from models import (
    Line,
    LineKind,
    NumberStatus,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    OrgUnit,
    PoolNumber,
    PortalRole,
    PortalUser,
)
from services import order_activation, stock

READER_ROLES = (PortalRole.fleet_admin, PortalRole.viewer)
LOW_STOCK = 10  # up to this many free units the shop shows the number


def visible(user: PortalUser):
    """WHERE clause on ``Order``: the orders ``user`` may see."""
    conds = [Order.customer_id == user.customer_id]
    scope_unit = user.scope_unit
    if scope_unit is not None:
        low, high = scope_unit.path, OrgUnit.upper_bound(scope_unit.path)
        unit = aliased(OrgUnit)
        path = func.coalesce(Line.unit_path, unit.path)
        bound = (
            select(OrderLine.id)
            .outerjoin(Line, Line.id == OrderLine.line_id)
            .outerjoin(unit, unit.id == OrderLine.params["unit_id"].as_integer())
            .where(
                OrderLine.order_id == Order.id,
                OrderLine.kind.in_([LineKind.activation, LineKind.exchange]),
            )
        )
        inside = bound.where(path >= low, path < high).exists()
        outside = bound.where(or_(path.is_(None), path < low, path >= high)).exists()
        conds.append(or_(Order.placed_by_id == user.id, and_(inside, ~outside)))
    return and_(*conds)


def can_see(session: Session, user: PortalUser, order_id: int) -> bool:
    query = select(Order.id).where(Order.id == order_id, visible(user))
    return session.scalar(query) is not None


def awaiting_decision(session: Session, user: PortalUser, limit: int = 50) -> list[Order]:
    """Orders this approver may decide on: pending, visible, placed by someone else."""
    if not user.can_approve_orders:
        return []
    query = (
        select(Order)
        .where(
            visible(user),
            Order.state == OrderState.pending,
            or_(Order.placed_by_id.is_(None), Order.placed_by_id != user.id),
        )
        .order_by(Order.created_at, Order.id)
        .limit(limit)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class Progress:
    """How far an order's positions have come."""

    positions: int = 0
    units: int = 0  # of handsets and accessories (new lines are not stock)
    allocated: int = 0  # units reserved or delivered
    waiting: int = 0  # units still in a queue
    activating: int = 0  # new lines the network is still activating
    done: int = 0  # positions delivered or activated
    cancelled: int = 0


def progress(session: Session, order_ids: list[int]) -> dict[int, Progress]:
    """Per order, in one query."""
    if not order_ids:
        return {}
    rows = session.execute(
        select(
            OrderLine.order_id,
            OrderLine.kind,
            OrderLine.state,
            func.count(),
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.allocated_qty),
        )
        .where(OrderLine.order_id.in_(order_ids))
        .group_by(OrderLine.order_id, OrderLine.kind, OrderLine.state)
    )
    acc: dict[int, dict] = {}
    for order_id, kind, state, count, units, allocated in rows:
        a = acc.setdefault(order_id, dict.fromkeys(Progress.__dataclass_fields__, 0))
        a["positions"] += count
        if state == OrderLineState.cancelled:
            a["cancelled"] += count
            continue
        if state == OrderLineState.completed:
            a["done"] += count
        if kind == LineKind.activation:
            a["activating"] += count if state == OrderLineState.inProgress else 0
            continue
        a["units"] += int(units or 0)
        a["allocated"] += int(allocated or 0)
        if state == OrderLineState.waiting:
            a["waiting"] += int(units or 0) - int(allocated or 0)
    return {order_id: Progress(**a) for order_id, a in acc.items()}


# --- stock as the customer sees it -----------------------------------------------------------


@dataclass(frozen=True)
class Availability:
    """What an order of ``quantity`` units of a product would meet now."""

    product_id: int
    quantity: int
    free: int  # units not reserved for anyone, after the queue is served
    waiting_lines: int  # positions queued before a new one
    waiting_units: int
    expected_on: date | None  # when the last of the units would arrive (if any must wait)

    @property
    def status(self) -> str:
        """available · low (the number is shown) · partial (some now, the rest later) ·
        backorder."""
        if self.free >= self.quantity:
            return "available" if self.free > LOW_STOCK else "low"
        return "partial" if self.free > 0 else "backorder"

    @property
    def position(self) -> int:
        """The place a new order would take in the queue (1 = next)."""
        return self.waiting_lines + 1

    @property
    def short(self) -> int:
        return max(0, self.quantity - self.free)


def availability(session: Session, wanted: dict[int, int]) -> dict[int, Availability]:
    """Per product id -> quantity wanted: what the customer would meet. Two queries, plus one
    per product that would have to wait (for its expected delivery)."""
    ids = sorted(wanted)
    if not ids:
        return {}
    on_shelf = stock.available(session, ids)
    queued = {
        pid: (int(n), int(units or 0))
        for pid, n, units in session.execute(
            select(
                OrderLine.product_id,
                func.count(),
                func.sum(OrderLine.quantity - OrderLine.allocated_qty),
            )
            .where(OrderLine.product_id.in_(ids), OrderLine.state == OrderLineState.waiting)
            .group_by(OrderLine.product_id)
        )
    }
    out = {}
    for pid in ids:
        qty = max(1, wanted[pid])
        shelf = max(0, on_shelf.get(pid, 0))
        lines, units = queued.get(pid, (0, 0))
        free = max(0, shelf - units)
        expected = None
        if free < qty:
            expected = stock.expected_date(session, pid, units + qty - shelf)
        out[pid] = Availability(pid, qty, free, lines, units, expected)
    return out


@dataclass(frozen=True)
class QueuePlace:
    position: int  # 1 = next to be served
    units_ahead: int
    expected_on: date | None


def queue_places(session: Session, lines: list[OrderLine]) -> dict[int, QueuePlace]:
    """For each waiting line: its place in its product's queue and the expected delivery."""
    waiting = [ln for ln in lines if ln.state == OrderLineState.waiting and ln.product_id]
    if not waiting:
        return {}
    on_shelf = stock.available(session, sorted({ln.product_id for ln in waiting}))
    out = {}
    for line in waiting:
        place = stock.queue_position(session, line)
        if place is None:
            continue
        position, ahead = place
        needed = ahead + line.waiting_qty - max(0, on_shelf.get(line.product_id, 0))
        expected = stock.expected_date(session, line.product_id, needed) if needed > 0 else None
        out[line.id] = QueuePlace(position, ahead, expected)
    return out


# --- numbers to choose from ------------------------------------------------------------------


def number_suggestions(
    session: Session, *, regular: int = 6, golden: int = 3, keep: str | None = None
) -> list[PoolNumber]:
    """A few free numbers of the pool to choose from: easy-to-remember ("golden") ones first,
    then ordinary ones from a random place in the pool; ``keep`` (a number chosen before) is
    included while it is free."""
    free = select(PoolNumber).where(
        PoolNumber.status == NumberStatus.free, order_activation.unheld()
    )
    found = list(
        session.scalars(
            free.where(PoolNumber.is_golden.is_(True)).order_by(PoolNumber.msisdn).limit(golden)
        )
    )
    ordinary = free.where(PoolNumber.is_golden.is_(False))
    low, high = session.execute(
        select(func.min(PoolNumber.msisdn), func.max(PoolNumber.msisdn)).where(
            PoolNumber.status == NumberStatus.free, PoolNumber.is_golden.is_(False)
        )
    ).one()
    start = low or ""
    if low and high and low[1:].isdigit() and high[1:].isdigit() and len(low) == len(high):
        first, last = int(low[1:]), int(high[1:])
        start = "+" + str(first + secrets.randbelow(last - first + 1)).zfill(len(low) - 1)
    rest = list(
        session.scalars(
            ordinary.where(PoolNumber.msisdn >= start).order_by(PoolNumber.msisdn).limit(regular)
        )
    )
    if len(rest) < regular:
        rest += session.scalars(
            ordinary.where(PoolNumber.msisdn < start)
            .order_by(PoolNumber.msisdn)
            .limit(regular - len(rest))
        )
    found += rest
    if keep and keep not in {n.msisdn for n in found}:
        kept = session.scalar(free.where(PoolNumber.msisdn == keep))
        if kept is not None:
            found.insert(0, kept)
    return found
