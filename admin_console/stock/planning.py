"""Expected deliveries (what customers waiting in a queue are told) and warehouses."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from admin_console.catalog.fields import show_refusal
from admin_console.stock import bp
from admin_console.stock.common import fill_choices, picked, require_change
from admin_console.stock.forms import ExpectationForm, WarehouseForm
from core.web import actor, commit, db
from models import Product, StockExpectation, StockLevel, Warehouse
from services import ServiceError, stock_admin

CLOSED_SHOWN = 100


@bp.route("/expected")
def expectations():
    closed = request.args.get("show") == "closed"
    query = (
        select(StockExpectation, Product, Warehouse)
        .join(Product, Product.id == StockExpectation.product_id)
        .join(Warehouse, Warehouse.id == StockExpectation.warehouse_id)
        .where(StockExpectation.is_open.is_(not closed))
    )
    if closed:
        query = query.order_by(StockExpectation.updated_at.desc()).limit(CLOSED_SHOWN)
    else:
        query = query.order_by(StockExpectation.expected_on, Product.sku)
    return render_template(
        "admin_console/stock/expectations.html",
        rows=db().execute(query).all(),
        closed=closed,
    )


def _expectation_or_404(expectation_id: int) -> StockExpectation:
    return db().get(StockExpectation, expectation_id) or abort(404)


def _save(form: ExpectationForm, expectation: StockExpectation | None):
    valid = form.validate_on_submit()
    product, warehouse = picked(form)
    if not valid or product is None or warehouse is None:
        return None
    try:
        saved = stock_admin.save_expectation(
            db(),
            actor(),
            expectation,
            product=product,
            warehouse=warehouse,
            quantity=form.quantity.data,
            expected_on=form.expected_on.data,
            reference=form.reference.data,
        )
    except ServiceError as err:
        db().rollback()
        show_refusal(form, err)
        return None
    product_id = saved.product_id
    commit()
    return product_id


@bp.route("/expected/new", methods=["GET", "POST"])
def new_expectation():
    require_change()
    form = ExpectationForm()
    if request.method == "GET":
        preset = request.args.get("product_id", "")
        form.product_id.data = preset if preset.isdigit() else ""
    elif (product_id := _save(form, None)) is not None:
        flash(_("The expected delivery has been added."), "success")
        return redirect(url_for("stock.product", product_id=product_id))
    fill_choices(form)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin_console/stock/expectation_form.html", form=form, expectation=None
    ), status


@bp.route("/expected/<int:expectation_id>/edit", methods=["GET", "POST"])
def edit_expectation(expectation_id: int):
    expectation = _expectation_or_404(expectation_id)
    require_change()
    if not expectation.is_open:
        flash(_("This expected delivery is closed and can no longer change."), "warning")
        return redirect(url_for("stock.expectations", show="closed"))
    form = ExpectationForm(
        data={
            "product_id": str(expectation.product_id),
            "warehouse_id": str(expectation.warehouse_id),
            "quantity": expectation.quantity,
            "expected_on": expectation.expected_on,
            "reference": expectation.reference,
        }
        if request.method == "GET"
        else None
    )
    if request.method == "POST" and (product_id := _save(form, expectation)) is not None:
        flash(_("The expected delivery has been changed."), "success")
        return redirect(url_for("stock.product", product_id=product_id))
    fill_choices(form)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin_console/stock/expectation_form.html", form=form, expectation=expectation
    ), status


@bp.route("/expected/<int:expectation_id>/close", methods=["POST"])
def close_expectation(expectation_id: int):
    expectation = _expectation_or_404(expectation_id)
    require_change()
    stock_admin.close_expectation(db(), actor(), expectation)
    commit()
    flash(_("The expected delivery has been closed; customers no longer see it."), "success")
    return redirect(url_for("stock.expectations"))


# --- warehouses -------------------------------------------------------------------------------


def _warehouse_page(form: WarehouseForm | None, status: int = 200):
    totals = {
        wid: (int(on_hand or 0), int(reserved or 0), int(products or 0))
        for wid, on_hand, reserved, products in db().execute(
            select(
                StockLevel.warehouse_id,
                func.sum(StockLevel.on_hand),
                func.sum(StockLevel.reserved),
                func.count(case((StockLevel.on_hand > 0, 1))),
            ).group_by(StockLevel.warehouse_id)
        )
    }
    warehouses = list(
        db().scalars(
            select(Warehouse).order_by(
                Warehouse.is_active.desc(), Warehouse.priority, Warehouse.code
            )
        )
    )
    return render_template(
        "admin_console/stock/warehouses.html", warehouses=warehouses, totals=totals, form=form
    ), status


@bp.route("/warehouses", methods=["GET", "POST"])
def warehouses():
    if request.method == "GET":
        return _warehouse_page(WarehouseForm(formdata=None))
    require_change()
    form = WarehouseForm()
    if not form.validate_on_submit():
        return _warehouse_page(form, 422)
    try:
        warehouse = stock_admin.add_warehouse(
            db(), actor(), code=form.code.data, name=form.name.data, priority=form.priority.data
        )
    except ServiceError as err:
        db().rollback()
        show_refusal(form, err)
        return _warehouse_page(form, 422)
    code = warehouse.code
    commit()
    flash(_("The warehouse %(code)s has been added.", code=code), "success")
    return redirect(url_for("stock.warehouses"))


@bp.route("/warehouses/<int:warehouse_id>/<any(close, reopen):action>", methods=["POST"])
def warehouse_state(warehouse_id: int, action: str):
    warehouse = db().get(Warehouse, warehouse_id) or abort(404)
    require_change()
    drains = stock_admin.set_warehouse_active(db(), actor(), warehouse, action == "reopen")
    code = warehouse.code
    commit()
    if action == "close":
        flash(
            _(
                "The warehouse %(code)s is closed: its stock is no longer allocated. What is "
                "already allocated there can still ship.",
                code=code,
            ),
            "success",
        )
    else:
        flash(
            _(
                "The warehouse %(code)s is open again. Products whose queue it can serve: "
                "%(count)d.",
                code=code,
                count=drains,
            ),
            "success",
        )
    return redirect(url_for("stock.warehouses"))
