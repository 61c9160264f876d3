"""Allocated lines ready to ship, marking a line shipped, and a warehouse's picking list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from admin_console.stock import bp
from admin_console.stock.backorders import aware_utc
from admin_console.stock.common import all_warehouses, page_arg, require_change
from core.web import actor, commit, db, safe_next
from models import (
    AddressKind,
    Allocation,
    Customer,
    CustomerAddress,
    Order,
    OrderLine,
    OrderLineState,
    Product,
    StockLevel,
    Warehouse,
)
from models.base import utcnow
from services import ServiceError, orders

PAGE_SIZE = 100


@dataclass
class ShipRow:
    line_id: int
    order_id: int
    order_number: str
    customer_id: int
    customer_name: str
    account_manager_id: int | None
    product_id: int
    sku: str
    product_name: str
    quantity: int
    allocated_at: datetime | None
    picks: list = field(default_factory=list)  # (warehouse code, units)


def _unreleased_in(warehouse_id: int):
    return (
        select(Allocation.order_line_id)
        .join(StockLevel, StockLevel.id == Allocation.stock_level_id)
        .where(StockLevel.warehouse_id == warehouse_id, Allocation.released_at.is_(None))
    )


def ready_to_ship(
    *, product_id: int | None = None, warehouse_id: int | None = None, limit=PAGE_SIZE, offset=0
) -> tuple[list[ShipRow], int]:
    """Fully allocated lines not shipped yet, the longest-allocated first."""
    allocated_at = (
        select(Allocation.order_line_id, func.max(Allocation.created_at).label("at"))
        .where(Allocation.released_at.is_(None))
        .group_by(Allocation.order_line_id)
        .subquery()
    )
    query = (
        select(
            OrderLine.id,
            OrderLine.order_id,
            Order.number,
            OrderLine.customer_id,
            Customer.name,
            Customer.account_manager_id,
            OrderLine.product_id,
            Product.sku,
            Product.name.label("product_name"),
            OrderLine.quantity,
            allocated_at.c.at,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Customer, Customer.id == OrderLine.customer_id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(allocated_at, allocated_at.c.order_line_id == OrderLine.id)
        .where(OrderLine.state == OrderLineState.allocated)
    )
    if product_id:
        query = query.where(OrderLine.product_id == product_id)
    if warehouse_id:
        query = query.where(OrderLine.id.in_(_unreleased_in(warehouse_id)))
    total = db().scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = [
        ShipRow(
            r.id,
            r.order_id,
            r.number,
            r.customer_id,
            r.name,
            r.account_manager_id,
            r.product_id,
            r.sku,
            r.product_name,
            r.quantity,
            aware_utc(r.at),
        )
        for r in db().execute(
            query.order_by(allocated_at.c.at, OrderLine.id).offset(offset).limit(limit)
        )
    ]
    by_id = {r.line_id: r for r in rows}
    if by_id:
        for line_id, code, units in db().execute(
            select(Allocation.order_line_id, Warehouse.code, func.sum(Allocation.quantity))
            .join(StockLevel, StockLevel.id == Allocation.stock_level_id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Allocation.order_line_id.in_(by_id), Allocation.released_at.is_(None))
            .group_by(Allocation.order_line_id, Warehouse.code, Warehouse.priority)
            .order_by(Warehouse.priority, Warehouse.code)
        ):
            by_id[line_id].picks.append((code, int(units)))
    return rows, int(total)


@bp.route("/shipping")
def shipping():
    warehouses = all_warehouses()
    warehouse_id = request.args.get("warehouse", type=int)
    if warehouse_id not in {w.id for w in warehouses}:
        warehouse_id = None
    page = page_arg()
    rows, total = ready_to_ship(
        warehouse_id=warehouse_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "admin_console/stock/shipping.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        warehouses=warehouses,
        warehouse_id=warehouse_id,
    )


@bp.route("/shipping/<int:order_line_id>/ship", methods=["POST"])
def ship(order_line_id: int):
    require_change()
    line = db().get(OrderLine, order_line_id)
    if line is None or line.product_id is None:
        abort(404)
    back = safe_next(request.form.get("next"), url_for("stock.shipping"))
    order_number = db().scalar(select(Order.number).where(Order.id == line.order_id))
    sku = db().scalar(select(Product.sku).where(Product.id == line.product_id))
    try:
        orders.ship(db(), actor(), line)
    except ServiceError as err:
        db().rollback()
        flash(err.text, "danger")
        return redirect(back)
    quantity = line.quantity
    commit()
    flash(
        _(
            "Order %(number)s: %(quantity)d × %(sku)s marked as shipped.",
            number=order_number,
            quantity=quantity,
            sku=sku,
        ),
        "success",
    )
    return redirect(back)


def _address(order: Order, customer: Customer, delivery: CustomerAddress | None) -> list[str]:
    given = order.delivery_address if isinstance(order.delivery_address, dict) else None
    if given:
        keys = ("name", "recipient", "company", "street", "postal_code", "city", "phone")
        parts = [str(given[k]).strip() for k in keys if given.get(k)]
        if parts:
            return parts
    if delivery is not None:
        return [delivery.label or "", delivery.street, f"{delivery.postal_code} {delivery.city}"]
    return [customer.street, f"{customer.postal_code} {customer.city}"]


@bp.route("/shipping/picking/<int:warehouse_id>")
def picking_list(warehouse_id: int):
    warehouse = db().get(Warehouse, warehouse_id) or abort(404)
    rows = (
        db()
        .execute(
            select(
                Allocation.order_line_id, func.sum(Allocation.quantity), OrderLine, Order, Customer
            )
            .join(StockLevel, StockLevel.id == Allocation.stock_level_id)
            .join(OrderLine, OrderLine.id == Allocation.order_line_id)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Customer, Customer.id == OrderLine.customer_id)
            .where(
                StockLevel.warehouse_id == warehouse.id,
                Allocation.released_at.is_(None),
                OrderLine.state == OrderLineState.allocated,
            )
            .group_by(Allocation.order_line_id, OrderLine.id, Order.id, Customer.id)
            .order_by(Order.number, OrderLine.id)
        )
        .all()
    )
    product_ids = {line.product_id for _id, _n, line, _o, _c in rows}
    products = {
        p.id: p for p in db().scalars(select(Product).where(Product.id.in_(product_ids or {0})))
    }
    customer_ids = {c.id for *_x, c in rows}
    delivery = {}
    for addr in db().scalars(
        select(CustomerAddress)
        .where(
            CustomerAddress.customer_id.in_(customer_ids or {0}),
            CustomerAddress.kind == AddressKind.delivery,
        )
        .order_by(CustomerAddress.id.desc())
    ):
        delivery[addr.customer_id] = addr  # the first added wins (read last)
    orders_out: dict[int, dict] = {}
    totals: dict[int, int] = {}
    for _line_id, units, line, order, customer in rows:
        entry = orders_out.setdefault(
            order.id,
            {
                "order": order,
                "customer": customer,
                "address": _address(order, customer, delivery.get(customer.id)),
                "lines": [],
            },
        )
        entry["lines"].append((products[line.product_id], int(units), line))
        totals[line.product_id] = totals.get(line.product_id, 0) + int(units)
    return render_template(
        "admin_console/stock/picking.html",
        warehouse=warehouse,
        orders=list(orders_out.values()),
        totals=sorted(((products[pid], n) for pid, n in totals.items()), key=lambda t: t[0].sku),
        printed_at=utcnow(),
    )
