"""The cart page (/shop/cart), changing it, and placing the order (/shop/checkout).

The page checks and prices every item again (services.order_items) and shows each refusal on
its own row; the checkout places the order through services.orders.place_order and opens the
order's page. The checkout form carries the cart's revision: an order is placed only from the
cart the user saw, and a second press of the button (or a resent form) opens the order the
first one placed instead of placing another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from core.web import actor, commit, db
from models import Employee, Line, LineKind, OrderLine
from portal import scope as tenant
from portal.fleet.views import unit_options
from portal.shop.cart import Cart, StoredItem
from portal.shop.forms import CartForm, parse_quantity
from portal.shop.views import bp, current_offer, page
from services import ServiceError, order_reading, orders
from services.fleet import format_msisdn, scope_conditions
from services.order_items import price_items, with_vat

ITEM_ID = re.compile(r"^[0-9a-f]{8}$")
STOCK_KINDS = (LineKind.handset, LineKind.accessory, LineKind.exchange)


@dataclass
class Row:
    """One position of the cart as the page shows it."""

    item: StoredItem
    title: str
    line: OrderLine | None  # priced; None when refused
    error: str | None
    details: list[tuple[str, str]]  # (label, value)
    stock: order_reading.Availability | None = None
    quantity_text: str | None = None  # as typed, when it was refused

    @property
    def total(self) -> Decimal:
        return self.line.unit_price * self.line.quantity if self.line else Decimal("0.00")

    @property
    def monthly_fee(self) -> Decimal | None:
        if self.line is None or self.line.kind != LineKind.activation:
            return None
        return Decimal(self.line.params["monthly_fee"])

    @property
    def quantity_fixed(self) -> bool:
        return self.item.kind in (LineKind.activation.value, LineKind.exchange.value)


def _exchanged(line_ids: set[int]) -> dict[int, tuple[str, str | None]]:
    """Line id -> (number, employee) for lines in the user's scope."""
    if not line_ids:
        return {}
    rows = db().execute(
        select(Line.id, Line.msisdn, Employee.full_name)
        .outerjoin(Employee, Employee.id == Line.employee_id)
        .where(Line.id.in_(line_ids), *scope_conditions(tenant.fleet_scope(current_user)))
    )
    return {line_id: (msisdn, name) for line_id, msisdn, name in rows}


def _details(item: StoredItem, line: OrderLine | None, units: dict, lines: dict) -> list:
    out = []
    p = line.params if line is not None else {}
    if item.kind == LineKind.activation.value and line is not None:
        out.append((_("Department"), units.get(p["unit_id"], "—")))
        if p.get("employee_name"):
            extra = ", ".join(x for x in (p.get("employee_position"), p.get("employee_email")) if x)
            out.append((_("Employee"), p["employee_name"] + (f" ({extra})" if extra else "")))
        if p.get("port_msisdn"):
            number = _(
                "%(number)s, kept from %(operator)s",
                number=format_msisdn(p["port_msisdn"]),
                operator=p.get("port_from") or "—",
            )
        elif p.get("msisdn"):
            number = _("%(number)s (chosen)", number=format_msisdn(p["msisdn"]))
        else:
            number = _("the next free number, given when the order goes ahead")
        out.append((_("Number"), number))
    elif item.kind == LineKind.exchange.value and item.line_id in lines:
        msisdn, name = lines[item.line_id]
        out.append((_("For the line"), format_msisdn(msisdn) + (f" — {name}" if name else "")))
    return out


def cart_rows(cart: Cart, offer, typed: dict | None = None, errors: dict | None = None):
    """The cart's rows, each checked and priced; ``typed``/``errors``: refused quantities."""
    items = cart.items()
    priced = price_items(
        db(), offer, tenant.fleet_scope(current_user), [i.as_cart_item() for i in items]
    )
    names = {i.tariff.id: i.name for i in offer.tariffs()}
    products = {i.product.id: i.name for i in offer.products()}
    units = dict(unit_options(current_user))
    lines = _exchanged({i.line_id for i in items if i.kind == LineKind.exchange.value})
    rows = []
    for item, result in zip(items, priced, strict=True):
        line = result if isinstance(result, OrderLine) else None
        if item.kind == LineKind.activation.value:
            title = (
                _("New line: %(tariff)s", tariff=names[item.tariff_id])
                if item.tariff_id in names
                else _("New line")
            )
        elif item.kind == LineKind.exchange.value:
            title = _("Handset exchange: %(name)s", name=products.get(item.product_id, "—"))
        else:
            title = products.get(item.product_id) or _("A product that is not in your offer")
        rows.append(
            Row(
                item,
                title,
                line,
                None if line is not None else result.text,
                _details(item, line, units, lines),
                quantity_text=(typed or {}).get(item.id),
            )
        )
        if errors and item.id in errors:
            rows[-1].error = errors[item.id]
    wanted: dict[int, int] = {}
    for row in rows:
        if row.line is not None and row.line.kind in STOCK_KINDS:
            wanted[row.line.product_id] = wanted.get(row.line.product_id, 0) + row.line.quantity
    stock = order_reading.availability(db(), wanted)
    for row in rows:
        if row.line is not None and row.line.product_id in stock:
            row.stock = stock[row.line.product_id]
    return rows


def render_cart(form: CartForm | None = None, status: int = 200, typed=None, errors=None):
    cart = Cart()
    offer = current_offer()
    rows = cart_rows(cart, offer, typed, errors)
    net = sum((r.total for r in rows if r.line is not None), Decimal("0.00"))
    vat, gross = with_vat(net)
    monthly = sum((r.monthly_fee for r in rows if r.monthly_fee is not None), Decimal("0.00"))
    threshold = offer.version.approval_threshold if offer.version else None
    needs_approval = threshold is not None and net > threshold
    if form is None:
        form = CartForm(formdata=None)
        form.note.data = cart.note()
    form.rev.data = str(cart.revision())
    return page(
        "portal/shop/cart.html",
        "cart",
        status,
        form=form,
        rows=rows,
        net=net,
        vat=vat,
        gross=gross,
        monthly=monthly,
        threshold=threshold,
        needs_approval=needs_approval,
        approvers=orders.approvers(db(), current_user.customer_id, current_user)
        if needs_approval
        else [],
        has_errors=any(r.error for r in rows),
    )


def _apply(cart: Cart, form: CartForm, strict: bool = True) -> tuple[dict, dict]:
    """Save the quantities and the note typed on the page. Returns (typed, errors) of the
    quantities refused; nothing is saved then, unless not ``strict`` (removing a position:
    the well-formed quantities are saved, the others left as they were)."""
    typed, errors, wanted = {}, {}, {}
    for item in cart.items():
        raw = request.form.get(f"qty-{item.id}")
        if raw is None or item.kind in (LineKind.activation.value, LineKind.exchange.value):
            continue
        try:
            wanted[item.id] = parse_quantity(raw)
        except ServiceError as err:
            typed[item.id], errors[item.id] = raw[:10], err.text
    if errors and strict:
        return typed, errors
    for item_id, quantity in wanted.items():
        cart.set_quantity(item_id, quantity)
    cart.set_note(form.note.data or "")
    return {}, {}


@bp.route("/cart")
@login_required
def cart():
    return render_cart()


@bp.post("/cart")
@login_required
def update():
    form = CartForm()
    cart = Cart()
    if not form.validate_on_submit():
        return render_cart(form, 400)
    typed, errors = _apply(cart, form)
    if errors:
        return render_cart(form, 422, typed, errors)
    flash(_("The cart is updated."), "success")
    return redirect(url_for("shop.cart"))


@bp.post("/cart/<item_id>/remove")
@login_required
def remove(item_id: str):
    if not ITEM_ID.match(item_id):
        abort(404)
    form = CartForm()
    cart = Cart()
    if not form.validate_on_submit():
        return render_cart(form, 400)
    _apply(cart, form, strict=False)
    if cart.remove(item_id):
        flash(_("The position is removed from the cart."), "success")
    return redirect(url_for("shop.cart"))


@bp.post("/checkout")
@login_required
def checkout():
    form = CartForm()
    cart = Cart()
    if not form.validate_on_submit():
        return render_cart(form, 400)
    if cart.key is None:
        form.form_errors.append(_("The cart is empty."))
        return render_cart(form, 422)
    revision = int(form.rev.data) if (form.rev.data or "").isdigit() else -1
    taken = cart.claim(revision)
    if taken is not None:  # this cart was sent already: show what came of it
        if taken.isdigit():
            flash(_("This order has already been placed."), "info")
            return redirect(url_for("orders.detail", order_id=int(taken)))
        flash(_("Your order is being placed; it will be on this list in a moment."), "info")
        return redirect(url_for("orders.index"))
    try:
        if revision != cart.revision():
            raise ServiceError(
                _("Your cart was changed in another window. Check it and order again.")
            )
        typed, errors = _apply(cart, form)
        if errors:
            cart.unclaim(revision)
            return render_cart(form, 422, typed, errors)
        items = cart.items()
        order = orders.place_order(
            db(),
            actor(),
            current_user.customer,
            tenant.fleet_scope(current_user),
            [i.as_cart_item() for i in items],
            placed_by=current_user,
            note=form.note.data,
        )
        commit()
    except ServiceError as err:
        db().rollback()
        cart.unclaim(revision)
        position = err.details.get("item")
        if position is None:
            form.form_errors.append(err.text)
            return render_cart(form, 422)
        return render_cart(form, 422, errors={items[position].id: err.text})
    except Exception:
        cart.unclaim(revision)
        raise
    cart.placed(revision, order.id)
    cart.clear()
    if order.state.value == "pending":
        flash(
            _("Order %(number)s is placed and waits for approval.", number=order.number), "success"
        )
    else:
        flash(_("Order %(number)s is placed.", number=order.number), "success")
    return redirect(url_for("orders.detail", order_id=order.id))
