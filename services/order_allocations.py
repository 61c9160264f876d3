"""What an order does with the stock a drain allocated to it, in batches.

A drain commits each allocation on its own and comes here every so many allocations (and when
it ends): the allocations not yet ``notified_at`` are claimed with a conditional ``UPDATE``
(so two drains, or a drain and the sweep, never tell an order twice), each gets its audit
event, and each order one e-mail to whoever ordered, listing what was allocated since the last
one. The order's state needs no change: an allocation moves a position from ``waiting`` to
``allocated``, both open states, and the order's state depends only on whether open, finished
or failed positions remain (``order_progress.derived_state``). A drain killed between its
allocations and this step leaves them unclaimed; the back-order sweep finds them and a drain
settles them.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from models import Allocation, AuditEvent, Order, OrderLine, OutgoingMail, PortalUser, Product
from models.base import utcnow
from services import mail
from services.audit import Actor

BATCH = 500
BACKORDERS = Actor.system("backorders")


def settle_allocations(session: Session, product_id: int | None = None, limit: int = BATCH) -> int:
    """Tell the orders about up to ``limit`` allocations not yet told (of one product, or all).
    Returns how many were settled; call again while it returns ``limit``."""
    query = select(Allocation.id).where(Allocation.notified_at.is_(None))
    if product_id is not None:
        query = query.join(OrderLine, OrderLine.id == Allocation.order_line_id).where(
            OrderLine.product_id == product_id
        )
    ids = list(session.scalars(query.order_by(Allocation.id).limit(limit)))
    if not ids:
        return 0
    table = Allocation.__table__
    claimed = list(
        session.execute(
            update(table)
            .where(table.c.id.in_(ids), table.c.notified_at.is_(None))
            .values(notified_at=utcnow())
            .returning(table.c.id)
        ).scalars()
    )
    if not claimed:
        return 0
    rows = session.execute(
        select(
            Allocation.order_line_id,
            Allocation.quantity,
            OrderLine.quantity.label("wanted"),
            OrderLine.allocated_qty,
            OrderLine.order_id,
            Order.customer_id,
            Order.number,
            Product.name,
            PortalUser.email,
        )
        .join(OrderLine, OrderLine.id == Allocation.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(
            PortalUser, (PortalUser.id == Order.placed_by_id) & PortalUser.is_active.is_(True)
        )
        .where(Allocation.id.in_(claimed))
        .order_by(Allocation.id)
    ).all()
    _audit(session, rows)
    _mail(session, rows)
    session.flush()
    return len(ids)


def _audit(session: Session, rows) -> None:
    session.execute(
        insert(AuditEvent),
        [
            {
                "actor_kind": BACKORDERS.kind,
                "actor_id": None,
                "actor_label": BACKORDERS.label,
                "customer_id": r.customer_id,
                "action": "order.line_allocated",
                "object_type": "order",
                "object_id": r.order_id,
                "after": {
                    "line": r.order_line_id,
                    "quantity": r.quantity,
                    "complete": r.allocated_qty == r.wanted,
                },
            }
            for r in rows
        ],
    )


def _mail(session: Session, rows) -> None:
    per_order: dict[int, list] = defaultdict(list)
    for r in rows:
        if r.email:
            per_order[r.order_id].append(r)
    mails = []
    for order_rows in per_order.values():
        first = order_rows[0]
        given: dict[int, int] = defaultdict(int)
        for r in order_rows:
            given[r.order_line_id] += r.quantity
        lines = {r.order_line_id: r for r in order_rows}
        what = ", ".join(f"{given[i]} szt. {lines[i].name}" for i in given)
        waiting = sum(lines[i].wanted - lines[i].allocated_qty for i in given)
        body = f"Dobra wiadomość: do zamówienia {first.number} przydzieliliśmy {what}."
        if waiting:
            body += f" Na pozostałe {waiting} szt. nadal czekasz w kolejce."
        else:
            body += " Towar czeka w magazynie na wysyłkę."
        mails.append(
            OutgoingMail(
                recipient=first.email,
                subject=f"Zamówienie {first.number}: towar przydzielony",
                body_text=body,
                customer_id=first.customer_id,
            )
        )
    if mails:
        mail.queue_many(session, mails)
