"""The published offer: what a customer may order, and at what price.

With an active contract: exactly the items of the version in force, each at its individual
price, or its list price less the item's discount, or less the version's discount for that kind.
Without one: the standard offer — the active catalogue valid today, at list prices. Ordering
and billing read prices from here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Contract, ContractItem, ContractVersion, Product, ProductKind, TariffPlan
from services import contracts

CENT = Decimal("0.01")
KIND_ORDER = (
    "tariff",
    ProductKind.handset.value,
    ProductKind.accessory.value,
    ProductKind.addon.value,
)


@dataclass(frozen=True)
class OfferItem:
    kind: str  # "tariff" or a ProductKind value
    tariff: TariffPlan | None
    product: Product | None
    list_price: Decimal
    price: Decimal
    source: str  # "list", "contract_price", "item_discount", "contract_discount"

    @property
    def id(self) -> int:
        return (self.tariff or self.product).id

    @property
    def name(self) -> str:
        return (self.tariff or self.product).name

    @property
    def code(self) -> str:
        return self.tariff.code if self.tariff else self.product.sku

    @property
    def saving(self) -> Decimal:
        return self.list_price - self.price


@dataclass
class Offer:
    contract: Contract | None
    version: ContractVersion | None
    items: list[OfferItem]

    def tariffs(self) -> list[OfferItem]:
        return [i for i in self.items if i.kind == "tariff"]

    def products(self, kind: ProductKind | None = None) -> list[OfferItem]:
        return [i for i in self.items if i.kind != "tariff" and (kind is None or i.kind == kind)]

    def tariff_ids(self) -> set[int]:
        return {i.tariff.id for i in self.tariffs()}

    def price_of_tariff(self, tariff_id: int) -> OfferItem | None:
        return next((i for i in self.tariffs() if i.tariff.id == tariff_id), None)

    def price_of_product(self, product_id: int) -> OfferItem | None:
        return next((i for i in self.products() if i.product.id == product_id), None)


def _valid(model, on: date):
    return (
        model.is_active.is_(True),
        or_(model.valid_from.is_(None), model.valid_from <= on),
        or_(model.valid_to.is_(None), model.valid_to >= on),
    )


def _order(item: OfferItem) -> tuple:
    return (KIND_ORDER.index(item.kind), item.name.casefold())


def _discounted(list_price: Decimal, percent: Decimal) -> Decimal:
    return (list_price * (Decimal(100) - percent) / Decimal(100)).quantize(CENT, ROUND_HALF_UP)


def standard_offer(session: Session, on: date) -> Offer:
    items = [
        OfferItem("tariff", t, None, t.monthly_fee, t.monthly_fee, "list")
        for t in session.scalars(
            select(TariffPlan).where(*_valid(TariffPlan, on)).order_by(TariffPlan.monthly_fee)
        )
    ]
    products = [
        OfferItem(p.kind.value, None, p, p.list_price, p.list_price, "list")
        for p in session.scalars(select(Product).where(*_valid(Product, on)))
    ]
    items += sorted(products, key=_order)
    return Offer(None, None, items)


@dataclass(frozen=True)
class VersionLine:
    """An item of a contract version with its resulting price; ``on_sale`` is False when the
    catalogue withdrew the tariff or product (it stays on the contract but is not offered)."""

    item: ContractItem
    offer: OfferItem
    on_sale: bool


def on_sale(thing: TariffPlan | Product, on: date) -> bool:
    """Offered on ``on``: active and within its validity dates."""
    return (
        bool(thing.is_active)
        and (thing.valid_from is None or thing.valid_from <= on)
        and (thing.valid_to is None or thing.valid_to >= on)
    )


def contract_price(
    list_price: Decimal,
    item_price: Decimal | None,
    item_discount: Decimal | None,
    kind_discount: Decimal | None,
) -> tuple[Decimal, str]:
    """The price of one contract item and where it comes from: the item's individual price,
    else the list price less the item's discount, else less the version's discount for the
    kind, else the list price. The published offer, ordering and the console's reports all
    price contract items with this one function."""
    if item_price is not None:
        return item_price, "contract_price"
    if item_discount is not None:
        return _discounted(list_price, item_discount), "item_discount"
    if kind_discount:
        return _discounted(list_price, kind_discount), "contract_discount"
    return list_price, "list"


def kind_discounts(version: ContractVersion) -> dict[str, Decimal]:
    """The version's discount for each kind of item (add-ons follow the tariffs')."""
    return {
        "tariff": version.tariff_discount_percent,
        ProductKind.handset.value: version.handset_discount_percent,
        ProductKind.accessory.value: version.accessory_discount_percent,
        ProductKind.addon.value: version.tariff_discount_percent,
    }


def price_lines(session: Session, version: ContractVersion, on: date) -> list[VersionLine]:
    """Every item of ``version``, priced: individual price, else the item's discount, else the
    version's discount for the kind, else the list price."""
    kind_discount = kind_discounts(version)
    version_items = contracts.items_of(session, version)
    tariff_ids = [i.tariff_id for i in version_items if i.tariff_id]
    product_ids = [i.product_id for i in version_items if i.product_id]
    tariffs = (
        {t.id: t for t in session.scalars(select(TariffPlan).where(TariffPlan.id.in_(tariff_ids)))}
        if tariff_ids
        else {}
    )
    products = (
        {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(product_ids)))}
        if product_ids
        else {}
    )
    lines = []
    for item in version_items:
        tariff = tariffs.get(item.tariff_id)
        product = products.get(item.product_id)
        kind = "tariff" if tariff else product.kind.value
        list_price = tariff.monthly_fee if tariff else product.list_price
        price, source = contract_price(
            list_price, item.price, item.discount_percent, kind_discount[kind]
        )
        offer_item = OfferItem(kind, tariff, product, list_price, price, source)
        lines.append(VersionLine(item, offer_item, on_sale(tariff or product, on)))
    lines.sort(key=lambda line: _order(line.offer))
    return lines


def offer_for(session: Session, customer_id: int, on: date) -> Offer:
    contract = contracts.active_contract(session, customer_id)
    if contract is None:
        return standard_offer(session, on)
    version = contracts.version_in_force(session, contract, on)
    if version is None:  # signed, not yet started
        return standard_offer(session, on)
    # Withdrawn from sale: the contract cannot sell what no longer exists.
    items = [line.offer for line in price_lines(session, version, on) if line.on_sale]
    return Offer(contract, version, items)
