"""What the stock pages share: who may change stock, how customers are shown to account
managers, loading products and warehouses, and the choices of the product/warehouse forms."""

from __future__ import annotations

from datetime import date, datetime

from flask import abort, request
from flask_babel import format_date, format_timedelta
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, select

from admin_console.stock import bp
from core.web import db
from models import Product, ProductKind, StaffRole, Warehouse
from models.base import utcnow
from services.contract_versions import today
from services.stock_admin import STOCKED_KINDS, stocked_product

KIND_ORDER = case({ProductKind.handset: 0, ProductKind.accessory: 1}, value=Product.kind, else_=2)
CHANGERS = (StaffRole.sales_admin, StaffRole.operator_admin)


def can_change() -> bool:
    return current_user.role in CHANGERS


def require_change() -> None:
    if not can_change():
        abort(403)


def customer_visible(account_manager_id: int | None) -> bool:
    """Account managers see their own customers by name; others' are 'another customer'."""
    return current_user.role != StaffRole.account_manager or account_manager_id == current_user.id


def waiting_age(since: datetime | None) -> str:
    if since is None:
        return "—"
    return format_timedelta(utcnow() - since, granularity="minute", threshold=1)


def time_ago(when: datetime | None) -> str:
    if when is None:
        return "—"
    return format_timedelta(when - utcnow(), granularity="minute", threshold=1, add_direction=True)


def format_day(day: date | None, fmt: str = "medium") -> str:
    return format_date(day, fmt) if day else "—"


@bp.context_processor
def _stock_helpers() -> dict:
    return {
        "can_change": can_change(),
        "customer_visible": customer_visible,
        "waiting_age": waiting_age,
        "format_day": format_day,
        "time_ago": time_ago,
        "today": today(),
    }


def page_arg() -> int:
    return max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))


def product_or_404(product_id: int) -> Product:
    product = stocked_product(db(), product_id)
    if product is None:
        abort(404)
    return product


def stocked_products() -> list[Product]:
    return list(
        db().scalars(
            select(Product)
            .where(Product.kind.in_(STOCKED_KINDS))
            .order_by(KIND_ORDER, Product.is_active.desc(), Product.sku)
        )
    )


def open_warehouses() -> list[Warehouse]:
    return list(
        db().scalars(
            select(Warehouse)
            .where(Warehouse.is_active.is_(True))
            .order_by(Warehouse.priority, Warehouse.code)
        )
    )


def all_warehouses() -> list[Warehouse]:
    return list(db().scalars(select(Warehouse).order_by(Warehouse.priority, Warehouse.code)))


def fill_choices(form) -> None:
    form.fill_choices(stocked_products(), open_warehouses())


def picked(form) -> tuple[Product | None, Warehouse | None]:
    """The product and warehouse a form names; a missing or unknown one is an error on its
    field. A closed warehouse is returned: the service refuses it with its own message."""
    product = stocked_product(db(), form.chosen_id(form.product_id))
    if product is None:
        form.product_id.errors = [*form.product_id.errors, _("Choose a product from the list.")]
    warehouse_id = form.chosen_id(form.warehouse_id)
    warehouse = db().get(Warehouse, warehouse_id) if warehouse_id else None
    if warehouse is None:
        form.warehouse_id.errors = [
            *form.warehouse_id.errors,
            _("Choose a warehouse from the list."),
        ]
    return product, warehouse
