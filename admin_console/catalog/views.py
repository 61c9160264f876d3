"""The catalogue in the console: tariff plans and products.

Every staff user reads it (account managers build contracts from it); sales administrators and
operator administrators change it. A product's photo is served only to a signed-in staff user
(the console's guard) — the portal has its own route that checks the customer's offer.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, or_, select

from admin_console import scope
from admin_console.catalog.fields import show_refusal
from admin_console.catalog.forms import KIND_LABELS, RATES, ProductForm, TariffForm
from core.web import actor, commit, db, runtime
from models import (
    Contract,
    ContractItem,
    ContractState,
    ContractVersion,
    Product,
    ProductKind,
    StockLevel,
    TariffPlan,
    Warehouse,
)
from services import ServiceError, catalog
from services.contracts import today

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

PAGE_SIZE = 100
KIND_ORDER = case(
    {ProductKind.handset: 0, ProductKind.accessory: 1, ProductKind.addon: 2},
    value=Product.kind,
    else_=3,
)
STATUSES = ("all", "on_sale", "withdrawn")


@bp.app_template_filter("datefmt")
def datefmt(value: date | None, fmt: str = "medium") -> str:
    """A calendar date (contract and sale dates) in the page's language; — when empty."""
    return format_date(value, fmt) if value else "—"


@bp.app_template_global("catalog_status")
def catalog_status(thing) -> str:
    """on_sale, upcoming, ended or withdrawn — for the badges of tariffs and products."""
    on = today()
    if not thing.is_active:
        return "withdrawn"
    if thing.valid_to is not None and thing.valid_to < on:
        return "ended"
    if thing.valid_from is not None and thing.valid_from > on:
        return "upcoming"
    return "on_sale"


def _require_manager() -> None:
    if not scope.can_manage_catalogue(current_user):
        abort(403)


def _status_filter(model, status: str):
    on = today()
    on_sale = (
        model.is_active.is_(True),
        or_(model.valid_from.is_(None), model.valid_from <= on),
        or_(model.valid_to.is_(None), model.valid_to >= on),
    )
    if status == "on_sale":
        return on_sale
    if status == "withdrawn":
        return (or_(model.is_active.is_(False), model.valid_to < on),)
    return ()


def _on_active_contracts(column, ids: list[int]) -> dict[int, int]:
    """How many active contracts include each tariff / product (in any of their versions)."""
    if not ids:
        return {}
    rows = db().execute(
        select(column, func.count(func.distinct(Contract.id)))
        .join(ContractVersion, ContractVersion.id == ContractItem.version_id)
        .join(Contract, Contract.id == ContractVersion.contract_id)
        .where(column.in_(ids), Contract.state == ContractState.active)
        .group_by(column)
    )
    return dict(rows.all())


def _stock(ids: list[int]) -> dict[int, tuple[int, int]]:
    """Units on hand and reserved per product, over all warehouses."""
    if not ids:
        return {}
    rows = db().execute(
        select(StockLevel.product_id, func.sum(StockLevel.on_hand), func.sum(StockLevel.reserved))
        .where(StockLevel.product_id.in_(ids))
        .group_by(StockLevel.product_id)
    )
    return {pid: (int(on_hand or 0), int(reserved or 0)) for pid, on_hand, reserved in rows}


def _arg(name: str, allowed) -> str:
    value = request.args.get(name, "")
    return value if value in allowed else ""


def _render_form(template: str, form, **context):
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, rates=RATES, **context), status


# --- tariffs ------------------------------------------------------------------------------


@bp.route("/")
def index():
    q = (request.args.get("q") or "").strip()[:100]
    status = _arg("status", STATUSES) or "all"
    query = select(TariffPlan).where(*_status_filter(TariffPlan, status))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(func.lower(TariffPlan.name).like(like), func.lower(TariffPlan.code).like(like))
        )
    tariffs = list(db().scalars(query.order_by(TariffPlan.monthly_fee, TariffPlan.name)))
    return render_template(
        "admin_console/catalog/tariffs.html",
        tariffs=tariffs,
        q=q,
        status=status,
        contract_counts=_on_active_contracts(ContractItem.tariff_id, [t.id for t in tariffs]),
        can_manage=scope.can_manage_catalogue(current_user),
    )


def _tariff_or_404(tariff_id: int) -> TariffPlan:
    return db().get(TariffPlan, tariff_id) or abort(404)


@bp.route("/tariffs/<int:tariff_id>")
def tariff(tariff_id: int):
    plan = _tariff_or_404(tariff_id)
    return render_template(
        "admin_console/catalog/tariff.html",
        tariff=plan,
        rates=RATES,
        contract_count=_on_active_contracts(ContractItem.tariff_id, [plan.id]).get(plan.id, 0),
        can_manage=scope.can_manage_catalogue(current_user),
    )


@bp.route("/tariffs/new", methods=["GET", "POST"])
def new_tariff():
    _require_manager()
    form = TariffForm()
    if request.method == "GET":
        for name in catalog.RATE_FIELDS:  # the operator's standard rates, to adjust
            getattr(form, name).data = Decimal(TariffPlan.__table__.c[name].server_default.arg)
    if form.validate_on_submit():
        try:
            plan = catalog.create_tariff(db(), actor(), form.to_input())
        except ServiceError as err:
            db().rollback()
            show_refusal(form, err, {"included_data_mb": "included_data_gb"})
        else:
            commit()
            flash(_("The tariff %(name)s has been added.", name=plan.name), "success")
            return redirect(url_for("catalog.tariff", tariff_id=plan.id))
    return _render_form("admin_console/catalog/tariff_form.html", form, tariff=None)


@bp.route("/tariffs/<int:tariff_id>/edit", methods=["GET", "POST"])
def edit_tariff(tariff_id: int):
    plan = _tariff_or_404(tariff_id)
    _require_manager()
    form = TariffForm(obj=plan)
    if request.method == "GET":
        form.fill_from(plan)
    if form.validate_on_submit():
        try:
            catalog.update_tariff(db(), actor(), plan, form.to_input())
        except ServiceError as err:
            db().rollback()
            show_refusal(form, err, {"included_data_mb": "included_data_gb"})
        else:
            commit()
            flash(_("The changes to %(name)s have been saved.", name=plan.name), "success")
            return redirect(url_for("catalog.tariff", tariff_id=plan.id))
    return _render_form("admin_console/catalog/tariff_form.html", form, tariff=plan)


# --- products -----------------------------------------------------------------------------


@bp.route("/products")
def products():
    q = (request.args.get("q") or "").strip()[:100]
    kind = _arg("kind", {k.value for k in ProductKind})
    status = _arg("status", STATUSES) or "all"
    query = select(Product).where(*_status_filter(Product, status))
    if kind:
        query = query.where(Product.kind == ProductKind(kind))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(Product.name).like(like),
                func.lower(Product.sku).like(like),
                func.lower(Product.manufacturer).like(like),
            )
        )
    total = db().scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    items = list(
        db().scalars(
            query.order_by(KIND_ORDER, Product.manufacturer, Product.name)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    return render_template(
        "admin_console/catalog/products.html",
        products=items,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        q=q,
        kind=kind,
        status=status,
        kinds=KIND_LABELS,
        contract_counts=_on_active_contracts(ContractItem.product_id, [p.id for p in items]),
        stock=_stock([p.id for p in items]),
        can_manage=scope.can_manage_catalogue(current_user),
    )


def _product_or_404(product_id: int) -> Product:
    return db().get(Product, product_id) or abort(404)


@bp.route("/products/<int:product_id>")
def product(product_id: int):
    item = _product_or_404(product_id)
    levels = (
        db()
        .execute(
            select(Warehouse.name, StockLevel.on_hand, StockLevel.reserved)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(StockLevel.product_id == item.id)
            .order_by(Warehouse.priority, Warehouse.name)
        )
        .all()
    )
    return render_template(
        "admin_console/catalog/product.html",
        product=item,
        levels=levels,
        kinds=KIND_LABELS,
        contract_count=_on_active_contracts(ContractItem.product_id, [item.id]).get(item.id, 0),
        can_manage=scope.can_manage_catalogue(current_user),
    )


@bp.route("/products/new", methods=["GET", "POST"])
def new_product():
    _require_manager()
    form = ProductForm(kind=_arg("kind", {k.value for k in ProductKind}) or None)
    if form.validate_on_submit():
        try:
            item = catalog.create_product(db(), actor(), form.to_input())
            _save_photo(form, item)
        except ServiceError as err:
            db().rollback()
            show_refusal(form, err)
        else:
            commit()
            flash(_("The product %(name)s has been added.", name=item.name), "success")
            return redirect(url_for("catalog.product", product_id=item.id))
    return _render_form("admin_console/catalog/product_form.html", form, product=None)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
def edit_product(product_id: int):
    item = _product_or_404(product_id)
    _require_manager()
    form = ProductForm(obj=item)
    if form.validate_on_submit():
        try:
            catalog.update_product(db(), actor(), item, form.to_input())
            _save_photo(form, item)
        except ServiceError as err:
            db().rollback()
            show_refusal(form, err)
        else:
            commit()
            flash(_("The changes to %(name)s have been saved.", name=item.name), "success")
            return redirect(url_for("catalog.product", product_id=item.id))
    return _render_form("admin_console/catalog/product_form.html", form, product=item)


def _save_photo(form: ProductForm, item: Product) -> None:
    upload = form.photo.data
    if upload and getattr(upload, "filename", None):
        # One byte over the limit is enough to refuse; the rest is never read.
        data = upload.stream.read(catalog.MAX_PHOTO_BYTES + 1)
        catalog.set_product_photo(db(), actor(), runtime().files, item, data)
    elif form.remove_photo.data:
        catalog.remove_product_photo(db(), actor(), runtime().files, item)


@bp.route("/products/<int:product_id>/photo")
def product_photo(product_id: int):
    item = _product_or_404(product_id)
    if not item.photo_path:
        abort(404)
    return send_photo(runtime().files, item.photo_path)


def send_photo(files, photo_path: str):
    """The photo with its type from the name we gave it (never from the upload). Read whole
    (at most 2 MB), with an ETag so a browser revalidates instead of downloading again."""
    path = files.path(photo_path)
    if not path.is_file():
        abort(404)
    response = Response(path.read_bytes(), mimetype=catalog.photo_mimetype(photo_path))
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = "inline"
    response.add_etag()
    return response.make_conditional(request)
