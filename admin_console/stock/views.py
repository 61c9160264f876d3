"""The stock overview, one product's page (levels, queue, allocated lines, expected deliveries,
receipts) with its live queue panel, and the summary of every back-order queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import render_template, request
from sqlalchemy import func, or_, select

from admin_console.catalog.forms import KIND_LABELS
from admin_console.stock import backorders, bp
from admin_console.stock import planning as _planning  # noqa: F401  (routes on bp)
from admin_console.stock import receiving as _receiving  # noqa: F401
from admin_console.stock import shipping as _shipping  # noqa: F401
from admin_console.stock.common import KIND_ORDER, all_warehouses, page_arg, product_or_404
from admin_console.stock.shipping import ready_to_ship
from core.web import db
from models import OrderLine, OrderLineState, Product, ProductKind, StockLevel, StockReceipt
from services import stock
from services.stock_admin import STOCKED_KINDS

__all__ = ["bp"]

PAGE_SIZE = 50
QUEUE_PAGE = 100
POLL_LIMIT = 60  # the queue panel refreshes every 3 s for at most 3 minutes


@dataclass
class StockRow:
    product: Product
    levels: dict = field(default_factory=dict)  # warehouse id: (on_hand, reserved)
    available: int = 0
    waiting_lines: int = 0
    waiting_units: int = 0
    oldest: datetime | None = None
    next_expected: object = None


def _levels(product_ids: list[int]) -> dict[int, dict[int, tuple[int, int]]]:
    out: dict[int, dict] = {pid: {} for pid in product_ids}
    for pid, wid, on_hand, reserved in db().execute(
        select(
            StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.reserved
        ).where(StockLevel.product_id.in_(product_ids))
    ):
        out[pid][wid] = (on_hand, reserved)
    return out


def _waiting(product_ids: list[int]) -> dict[int, tuple[int, int, datetime]]:
    rows = db().execute(
        select(
            OrderLine.product_id,
            func.count(),
            func.sum(OrderLine.quantity - OrderLine.allocated_qty),
            func.min(OrderLine.queued_at),
        )
        .where(OrderLine.product_id.in_(product_ids), OrderLine.state == OrderLineState.waiting)
        .group_by(OrderLine.product_id)
    )
    return {pid: (int(n), int(u), backorders.aware_utc(t)) for pid, n, u, t in rows}


@bp.route("/")
def index():
    q = (request.args.get("q") or "").strip()[:100]
    kind = request.args.get("kind", "")
    kind = kind if kind in {k.value for k in STOCKED_KINDS} else ""
    waiting_only = request.args.get("waiting") == "1"
    query = select(Product).where(Product.kind.in_(STOCKED_KINDS))
    if kind:
        query = query.where(Product.kind == ProductKind(kind))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(func.lower(Product.sku).like(like), func.lower(Product.name).like(like))
        )
    if waiting_only:
        query = query.where(
            Product.id.in_(
                select(OrderLine.product_id).where(OrderLine.state == OrderLineState.waiting)
            )
        )
    total = db().scalar(select(func.count()).select_from(query.subquery())) or 0
    page = page_arg()
    products = list(
        db().scalars(
            query.order_by(KIND_ORDER, Product.manufacturer, Product.name, Product.id)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    ids = [p.id for p in products]
    levels, waiting = _levels(ids), _waiting(ids)
    expected = backorders.open_expectations(db(), ids)
    available = stock.available(db(), ids)
    rows = []
    for p in products:
        lines, units, oldest = waiting.get(p.id, (0, 0, None))
        rows.append(
            StockRow(
                p,
                levels[p.id],
                available.get(p.id, 0),
                lines,
                units,
                oldest,
                expected[p.id][0] if expected[p.id] else None,
            )
        )
    warehouses = [w for w in all_warehouses() if w.is_active or any(w.id in r.levels for r in rows)]
    return render_template(
        "admin_console/stock/index.html",
        rows=rows,
        warehouses=warehouses,
        totals=_totals(),
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        q=q,
        kind=kind,
        waiting_only=waiting_only,
        kinds={k: v for k, v in KIND_LABELS.items() if k in {s.value for s in STOCKED_KINDS}},
    )


def _totals() -> dict:
    waiting_lines, waiting_units = (
        db()
        .execute(
            select(
                func.count(),
                func.coalesce(func.sum(OrderLine.quantity - OrderLine.allocated_qty), 0),
            ).where(OrderLine.state == OrderLineState.waiting)
        )
        .one()
    )
    queues = db().scalar(
        select(func.count(func.distinct(OrderLine.product_id))).where(
            OrderLine.state == OrderLineState.waiting
        )
    )
    ready = db().scalar(select(func.count()).where(OrderLine.state == OrderLineState.allocated))
    undrained = db().scalar(
        select(func.count()).select_from(StockReceipt).where(StockReceipt.drained_at.is_(None))
    )
    return {
        "waiting_lines": int(waiting_lines),
        "waiting_units": int(waiting_units),
        "queues": int(queues or 0),
        "ready": int(ready or 0),
        "undrained": int(undrained or 0),
    }


@bp.route("/queues")
def queues():
    return render_template(
        "admin_console/stock/queues.html", summaries=backorders.queue_summaries(db())
    )


def _panel_context(product: Product) -> dict:
    page = page_arg()
    entries, waiting_total = backorders.queue(
        db(), product.id, offset=(page - 1) * QUEUE_PAGE, limit=QUEUE_PAGE
    )
    undrained = db().scalar(
        select(func.count())
        .select_from(StockReceipt)
        .where(StockReceipt.product_id == product.id, StockReceipt.drained_at.is_(None))
    )
    free = stock.available(db(), [product.id]).get(product.id, 0)
    polls = max(0, min(request.args.get("poll", 0, type=int) or 0, POLL_LIMIT))
    working = bool(undrained) or (free > 0 and waiting_total > 0)
    ready, ready_total = ready_to_ship(product_id=product.id, limit=50)
    levels = _levels([product.id])[product.id]
    return {
        "product": product,
        "levels": levels,
        "warehouses": [w for w in all_warehouses() if w.is_active or w.id in levels],
        "entries": entries,
        "waiting_total": waiting_total,
        "queue_page": page,
        "queue_pages": max(1, -(-waiting_total // QUEUE_PAGE)),
        "free": free,
        "undrained": undrained,
        "working": working,
        "poll_next": polls + 1 if working and polls < POLL_LIMIT else None,
        "gave_up": working and polls >= POLL_LIMIT,
        "ready": ready,
        "ready_total": ready_total,
    }


@bp.route("/products/<int:product_id>")
def product(product_id: int):
    item = product_or_404(product_id)
    receipts = list(
        db().scalars(
            select(StockReceipt)
            .where(StockReceipt.product_id == item.id)
            .order_by(StockReceipt.received_at.desc(), StockReceipt.id.desc())
            .limit(10)
        )
    )
    return render_template(
        "admin_console/stock/product.html",
        warehouse_by_id={w.id: w for w in all_warehouses()},
        expectations=backorders.open_expectations(db(), [item.id])[item.id],
        receipts=receipts,
        kinds=KIND_LABELS,
        **_panel_context(item),
    )


@bp.route("/products/<int:product_id>/queue")
def product_queue(product_id: int):
    """The queue panel alone: the product page refreshes it while a drain is under way."""
    return render_template(
        "admin_console/stock/_queue_panel.html",
        oob=True,
        **_panel_context(product_or_404(product_id)),
    )
