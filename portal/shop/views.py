"""The shop (/shop/): the customer's offer to order from — handsets, accessories, new lines and
handset exchanges — with live stock, and the cart (portal.shop.cart_views).

Only fleet administrators order (viewers and employees: 403). Everything offered comes from
the published offer; units and lines from the user's scope. Adding to the cart checks the item
as the checkout will (services.order_items), so a refusal shows at once on its field.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import aliased

from core.web import db
from models import Employee, Line, LineKind, OrgUnit, Product, ProductKind
from portal import scope as tenant
from portal.fleet.views import unit_options
from portal.orders.labels import template_helpers
from portal.shop.cart import Cart
from portal.shop.forms import OPERATORS, AddProductForm, ExchangeForm, NewLineForm, parse_quantity
from services import ServiceError, order_reading
from services import fleet as fl
from services.contracts import today
from services.offer import offer_for
from services.order_items import CartItem, as_id, price_items

bp = Blueprint("shop", __name__, url_prefix="/shop")
bp.context_processor(template_helpers)

LINE_RESULTS = 20
TABS = ("new_line", "handsets", "accessories", "exchange")


@bp.before_request
@login_required
def _only_managers():
    """The shop is for fleet administrators; checked once for every route of the blueprint."""
    tenant.require_manager()


def current_offer():
    return offer_for(db(), current_user.customer_id, today())


def page(template: str, tab: str, status: int = 200, **context):
    return (
        render_template(template, tab=tab, cart_count=Cart().count(), **context),
        status,
    )


def check_item(item: CartItem):
    """The item priced against the offer and the scope, or ServiceError (as the checkout)."""
    [result] = price_items(db(), current_offer(), tenant.fleet_scope(current_user), [item])
    if isinstance(result, ServiceError):
        raise result
    return result


def put_in_cart(item: CartItem, label: str):
    cart = Cart(create=True)
    if cart.is_full():
        raise ServiceError(_("Your cart is full: an order can have at most 200 positions."))
    cart.add(item)
    flash(_("Added to your cart: %(item)s.", item=label), "success")


# --- handsets and accessories ----------------------------------------------------------------


def _products(kind: ProductKind, form=None, failed_id: int | None = None, status: int = 200):
    offer = current_offer()
    items = offer.products(kind)
    stock = order_reading.availability(db(), {i.product.id: 1 for i in items})
    tab = "handsets" if kind == ProductKind.handset else "accessories"
    return page(
        "portal/shop/products.html",
        tab,
        status,
        offer=offer,
        items=items,
        stock=stock,
        kind=kind,
        form=form,
        failed_id=failed_id,
    )


@bp.route("/")
@login_required
def index():
    return _products(ProductKind.handset)


@bp.route("/accessories")
@login_required
def accessories():
    return _products(ProductKind.accessory)


@bp.post("/add")
@login_required
def add():
    """A handset or an accessory, with its quantity, into the cart."""
    form = AddProductForm()
    product_id = as_id(form.product_id.data)
    product = db().get(Product, product_id) if product_id else None
    kind = product.kind if product is not None else ProductKind.handset
    if kind not in (ProductKind.handset, ProductKind.accessory):
        kind = ProductKind.handset
    if not form.validate_on_submit():
        return _products(kind, form, product_id, 400)
    try:
        quantity = parse_quantity(form.quantity.data)
        line = check_item(CartItem(kind.value, quantity, product_id=product_id))
        put_in_cart(
            CartItem(kind.value, quantity, product_id=line.product_id),
            f"{product.name} × {quantity}",
        )
    except ServiceError as err:
        form.add_error(err)
        return _products(kind, form, product_id, 422)
    return redirect(url_for("shop.accessories" if kind == ProductKind.accessory else "shop.index"))


# --- a new line --------------------------------------------------------------------------------


def _numbers(chosen: str | None = None) -> list:
    """Free numbers to offer, without those already chosen for lines in the cart."""
    in_cart = {
        i.params.get("msisdn") for i in Cart().items() if i.kind == LineKind.activation.value
    }
    return [
        n
        for n in order_reading.number_suggestions(db(), keep=chosen)
        if n.msisdn not in in_cart or n.msisdn == chosen
    ]


def _new_line_page(form: NewLineForm, status: int = 200):
    offer = current_offer()
    numbers = _numbers(form.msisdn.data if form.number.data == "choose" else None)
    form.set_choices(offer.tariffs(), unit_options(current_user), numbers)
    return page(
        "portal/shop/new_line.html",
        "new_line",
        status,
        offer=offer,
        form=form,
        numbers=numbers,
        operators=OPERATORS,
    )


@bp.route("/new-line", methods=["GET", "POST"])
@login_required
def new_line():
    if request.method == "GET":
        return _new_line_page(NewLineForm(formdata=None))
    form = NewLineForm()
    if not form.validate_on_submit():
        return _new_line_page(form, 400)
    missing = form.missing()
    if missing:
        for err in missing:
            form.add_error(err)
        return _new_line_page(form, 422)
    try:
        item = form.to_item()
        line = check_item(item)
        number = line.params.get("msisdn") or line.params.get("port_msisdn")
        if number and any(
            number in (i.params.get("msisdn"), i.params.get("port_msisdn"))
            for i in Cart().items()
            if i.kind == LineKind.activation.value
        ):
            raise ServiceError(
                _("This number is already in your cart for another new line."),
                field="port_msisdn" if line.params.get("port_msisdn") else "msisdn",
            )
        item.params = {k: v for k, v in line.params.items() if k != "monthly_fee"}
        put_in_cart(item, _("a new line"))
    except ServiceError as err:
        form.add_error(err)
        return _new_line_page(form, 422)
    return redirect(url_for("shop.new_line"))


@bp.route("/new-line/numbers")
@login_required
def numbers():
    """Other free numbers to choose from (the part of the form htmx replaces)."""
    if not request.headers.get("HX-Request"):
        return redirect(url_for("shop.new_line"))
    form = NewLineForm(formdata=None)
    found = _numbers()
    return render_template("portal/shop/_numbers.html", form=form, numbers=found)


# --- a handset exchange ------------------------------------------------------------------------


def find_lines(q: str, limit: int = LINE_RESULTS) -> list[tuple]:
    """Active lines in scope matching a number or a name: (line, employee, unit, handset)."""
    scope = tenant.fleet_scope(current_user)
    flt = fl.FleetFilter(q=q, status="active")
    handset = aliased(Product)
    query = (
        fl.filtered(db(), scope, flt)
        .add_columns(Employee.full_name, OrgUnit.name, handset.name)
        .outerjoin(handset, handset.id == Line.handset_id)
        .options(*fl.WITHOUT_SECRETS)
        .order_by(Line.msisdn)
        .limit(limit)
    )
    return list(db().execute(query))


def _exchange_page(form: ExchangeForm, status: int = 200):
    offer = current_offer()
    handsets = offer.products(ProductKind.handset)
    form.set_choices(handsets)
    q = (request.values.get("q") or "").strip()[:100]
    results = find_lines(q) if q else []
    picked = None
    picked_id = as_id(form.line_id.data or request.args.get("line"))
    if picked_id:
        found = [r for r in results if r[0].id == picked_id] or find_one(picked_id)
        picked = found[0] if found else None
    context = {
        "offer": offer,
        "form": form,
        "q": q,
        "results": results,
        "picked": picked,
        "stock": order_reading.availability(db(), {h.product.id: 1 for h in handsets}),
        "handsets": handsets,
    }
    if request.headers.get("HX-Request") and request.method == "GET":
        return render_template("portal/shop/_lines.html", **context)
    return page("portal/shop/exchange.html", "exchange", status, **context)


def find_one(line_id: int) -> list[tuple]:
    scope = tenant.fleet_scope(current_user)
    handset = aliased(Product)
    query = (
        fl.filtered(db(), scope, fl.FleetFilter(status="active"))
        .add_columns(Employee.full_name, OrgUnit.name, handset.name)
        .outerjoin(handset, handset.id == Line.handset_id)
        .where(Line.id == line_id)
        .options(*fl.WITHOUT_SECRETS)
    )
    return list(db().execute(query))


@bp.route("/exchange", methods=["GET", "POST"])
@login_required
def exchange():
    if request.method == "GET":
        form = ExchangeForm(formdata=None)
        form.line_id.data = request.args.get("line") or ""
        return _exchange_page(form)
    form = ExchangeForm()
    if not form.validate_on_submit():
        return _exchange_page(form, 400)
    try:
        item = form.to_item()
        if any(
            i.kind == LineKind.exchange.value and i.line_id == item.line_id for i in Cart().items()
        ):
            raise ServiceError(
                _("This line is already in your cart for an exchange."), field="line_id"
            )
        line = check_item(item)
        put_in_cart(
            item,
            _(
                "a handset exchange for %(number)s",
                number=fl.format_msisdn(line.params["line_msisdn"]),
            ),
        )
    except ServiceError as err:
        form.add_error(err)
        return _exchange_page(form, 422)
    return redirect(url_for("shop.exchange"))


from portal.shop import cart_views  # noqa: E402, F401  (registers the cart routes on bp)
