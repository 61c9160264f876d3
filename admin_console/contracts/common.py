"""What the contracts pages share: the blueprint, loading a contract through the staff scope,
and the contract page with its forms (rendered again with errors after a refused change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from admin_console import scope
from admin_console.catalog.forms import KIND_LABELS
from admin_console.contracts.forms import (
    ActionForm,
    AmendForm,
    ItemForm,
    TerminateForm,
    TermsForm,
)
from core.web import db, money
from models import (
    Contract,
    ContractState,
    ContractVersion,
    Customer,
    Product,
    ProductKind,
    StaffUser,
    TariffPlan,
)
from services import contracts
from services.offer import VersionLine, price_lines

bp = Blueprint("contracts", __name__, url_prefix="/contracts")


def contract_or_404(contract_id: int) -> Contract:
    """The contract, if its customer is in the staff user's scope; otherwise 404."""
    customer_ids = scope.customers(current_user).with_only_columns(Customer.id)
    contract = db().scalar(
        select(Contract).where(Contract.id == contract_id, Contract.customer_id.in_(customer_ids))
    )
    if contract is None:
        abort(404)
    return contract


def can_change() -> bool:
    """Account managers (their own customers, already scoped) and operator admins."""
    return scope.can_change_customer(current_user)


def require_change() -> None:
    if not can_change():
        abort(403)


@dataclass(frozen=True)
class VersionView:
    version: ContractVersion
    until: date | None  # the last day before the next version, or the contract's end
    author: str | None
    in_force: bool
    editable: bool


def version_views(contract: Contract) -> list[VersionView]:
    versions = contracts.versions(db(), contract)
    authors = _authors({v.created_by_id for v in versions if v.created_by_id})
    in_force = contracts.version_in_force(db(), contract, contracts.today())
    editable = contracts.editable_version(db(), contract)
    views = []
    for i, v in enumerate(versions):
        nxt = versions[i + 1] if i + 1 < len(versions) else None
        until = nxt.effective_from - timedelta(days=1) if nxt else contract.valid_to
        views.append(
            VersionView(
                version=v,
                until=until,
                author=authors.get(v.created_by_id),
                in_force=contract.state == ContractState.active
                and in_force is not None
                and in_force.id == v.id,
                editable=editable is not None and editable.id == v.id,
            )
        )
    return views


def _authors(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db().execute(select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(ids))).all()
    )


def lines_of(version: ContractVersion) -> list[VersionLine]:
    return price_lines(db(), version, contracts.today())


def item_choices(lines: list[VersionLine]) -> list[SelectChoice]:
    """The catalogue on sale, grouped by kind, for the item form ("t:<id>" / "p:<id>")."""
    on = contracts.today()
    present = {("t", line.item.tariff_id) for line in lines if line.item.tariff_id} | {
        ("p", line.item.product_id) for line in lines if line.item.product_id
    }

    def on_sale(model):
        return (
            model.is_active.is_(True),
            (model.valid_to.is_(None)) | (model.valid_to >= on),
        )

    def choice(key: tuple[str, int], name: str, code: str, price, group) -> SelectChoice:
        label = f"{name} ({code}) — {money(price)}"
        if key in present:
            label = f"✓ {label} · {_('on the contract')}"
        return SelectChoice(f"{key[0]}:{key[1]}", label, optgroup=str(group))

    choices = [SelectChoice("", _("Choose…"))]
    tariffs = db().scalars(select(TariffPlan).where(*on_sale(TariffPlan)).order_by(TariffPlan.name))
    choices += [
        choice(("t", t.id), t.name, t.code, t.monthly_fee, _("Tariff plans")) for t in tariffs
    ]
    products = list(db().scalars(select(Product).where(*on_sale(Product)).order_by(Product.name)))
    for kind in (ProductKind.handset, ProductKind.accessory, ProductKind.addon):
        choices += [
            choice(("p", p.id), p.name, p.sku, p.list_price, KIND_LABELS[kind.value])
            for p in products
            if p.kind == kind
        ]
    return choices


def render_contract(contract: Contract, status: int = 200, **forms):
    """The contract page. ``forms`` replaces a blank form by the one just refused."""
    customer = db().get(Customer, contract.customer_id)
    views = version_views(contract)
    editable = next((v for v in views if v.editable), None)
    in_force = next((v for v in views if v.in_force), None)
    shown = editable or in_force or views[-1]
    lines = lines_of(shown.version)
    version = shown.version
    if editable is not None and "terms_form" not in forms:
        forms["terms_form"] = TermsForm(
            formdata=None,
            obj=version,
            valid_from=contract.valid_from,
            valid_to=contract.valid_to,
        )
    if editable is not None:
        item_form = forms.get("item_form") or _prefilled_item_form(lines)
        item_form.item.choices = item_choices(lines)
        forms["item_form"] = item_form
    forms.setdefault("amend_form", AmendForm(formdata=None))
    forms.setdefault("terminate_form", TerminateForm(formdata=None))
    forms.setdefault("action_form", ActionForm(formdata=None))
    return (
        render_template(
            "admin_console/contracts/show.html",
            contract=contract,
            customer=customer,
            versions=views,
            shown=shown,
            lines=lines,
            can_change=can_change(),
            customer_url=customer_url(customer),
            **forms,
        ),
        status,
    )


def _prefilled_item_form(lines: list[VersionLine]) -> ItemForm:
    """Blank, or filled from ?item=t:5 (the "change" link of a row)."""
    form = ItemForm(formdata=None)
    wanted = request.args.get("item", "")
    for line in lines:
        key = f"t:{line.item.tariff_id}" if line.item.tariff_id else f"p:{line.item.product_id}"
        if key == wanted:
            form.item.data = key
            form.price.data = line.item.price
            form.discount_percent.data = line.item.discount_percent
    return form


def customer_url(customer: Customer) -> str | None:
    """The customer's page in the console (built by the customers feature), if it exists."""
    if "customers.detail" not in current_app.view_functions:
        return None
    return url_for("customers.detail", customer_id=customer.id)
