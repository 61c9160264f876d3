"""The catalogue: tariff plans and products (handsets, accessories, add-on services).

Sales administrators create and change them; contracts and the published offer read them.
Codes and SKUs are stored upper-case and are unique whatever the case typed. Money has at most
two decimal places, rates per zone at most four. A product photo is accepted only when its
bytes are a JPEG, PNG or WebP picture that decodes, at most 2 MB (services.product_photos).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.i18n import _l
from models import Product, ProductKind, TariffPlan
from services import ServiceError, audit
from services.audit import Actor
from services.product_photos import (
    MAX_PHOTO_BYTES,
    PHOTO_FOLDER,
    photo_mimetype,
    remove_product_photo,
    set_product_photo,
    sniff_image,
)

__all__ = [
    "MAX_PHOTO_BYTES",
    "PHOTO_FOLDER",
    "FieldChecks",
    "ProductInput",
    "TariffInput",
    "create_product",
    "create_tariff",
    "photo_mimetype",
    "remove_product_photo",
    "set_product_photo",
    "sniff_image",
    "update_product",
    "update_tariff",
]

RATE_FIELDS = (
    "rate_voice_domestic",
    "rate_sms_domestic",
    "rate_mms_domestic",
    "rate_data_domestic_mb",
    "rate_voice_eu",
    "rate_data_eu_mb",
    "rate_voice_world",
    "rate_sms_world",
    "rate_data_world_mb",
)
ALLOWANCE_FIELDS = ("included_minutes", "included_sms", "included_data_mb")

MONEY_MAX = Decimal("9999999.99")
RATE_MAX = Decimal("999999.9999")
ALLOWANCE_MAX = 100_000_000  # minutes, messages or MB: beyond this, leave it empty (unlimited)
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._/-]*$")


@dataclass(frozen=True)
class TariffInput:
    code: str
    name: str
    monthly_fee: Decimal | None
    included_minutes: int | None = None  # None: unlimited
    included_sms: int | None = None
    included_data_mb: int | None = None
    description: str | None = None
    rates: Mapping[str, Decimal | None] = field(default_factory=dict)
    valid_from: date | None = None
    valid_to: date | None = None
    is_active: bool = True


@dataclass(frozen=True)
class ProductInput:
    kind: ProductKind | str | None
    sku: str
    name: str
    list_price: Decimal | None
    manufacturer: str | None = None
    description: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    is_active: bool = True


# --- checks -------------------------------------------------------------------------------


def _text(
    value: str | None, field_name: str, max_len: int, required_message=None, *, multiline=False
) -> str | None:
    """Trimmed text (inner runs of spaces collapsed unless ``multiline``); None when empty."""
    value = (value or "").strip() if multiline else " ".join((value or "").split())
    if not value:
        if required_message is not None:
            raise ServiceError(required_message, field=field_name)
        return None
    if len(value) > max_len:
        raise ServiceError(
            _l("At most %(max)d characters.", max=max_len),
            field=field_name,
        )
    return value


def _code(value: str | None, field_name: str, max_len: int, required_message) -> str:
    value = (value or "").strip().upper()
    if not value:
        raise ServiceError(required_message, field=field_name)
    if len(value) > max_len or not CODE_RE.match(value):
        raise ServiceError(
            _l(
                "Use letters, digits and . _ / - only, starting with a letter or digit "
                "(at most %(max)d characters).",
                max=max_len,
            ),
            field=field_name,
        )
    return value


def decimal_places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _amount(value, field_name: str, *, required_message=None, places=2, maximum=MONEY_MAX):
    if value is None or value == "":
        if required_message is not None:
            raise ServiceError(required_message, field=field_name)
        return None
    try:
        value = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ServiceError(_l("Enter a number such as 49.99."), field=field_name) from None
    if not value.is_finite():
        raise ServiceError(_l("Enter a number such as 49.99."), field=field_name)
    if value < 0:
        raise ServiceError(_l("The amount cannot be negative."), field=field_name)
    if value > maximum:
        raise ServiceError(_l("The amount is too large."), field=field_name)
    if decimal_places(value.normalize()) > places:
        raise ServiceError(
            _l("Use at most %(places)d decimal places.", places=places), field=field_name
        )
    return value.quantize(Decimal(1).scaleb(-places))


def _allowance(value, field_name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServiceError(_l("Enter a whole number, or leave empty."), field=field_name)
    if value < 0:
        raise ServiceError(_l("The amount cannot be negative."), field=field_name)
    if value > ALLOWANCE_MAX:
        raise ServiceError(
            _l("That is more than any plan includes; leave it empty for unlimited."),
            field=field_name,
        )
    return value


def _dates(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from and valid_to and valid_to < valid_from:
        raise ServiceError(_l("The last day of sale is before the first one."), field="valid_to")


class FieldChecks:
    """Runs every check of a form and refuses once with all that failed: the first message
    is the error's own, ``details["errors"]`` maps each failed field to its message."""

    def __init__(self) -> None:
        self.errors: dict[str | None, object] = {}

    def run(self, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except ServiceError as err:
            self.errors.setdefault(err.field, err.message)
            return None

    def refuse(self, message, field: str | None) -> None:
        self.errors.setdefault(field, message)

    def done(self) -> None:
        if self.errors:
            field, message = next(iter(self.errors.items()))
            raise ServiceError(message, field=field, errors=dict(self.errors))


def _flush_unique(session: Session, message, field_name: str) -> None:
    """Flush; a unique index that says no (a concurrent save won) becomes the same refusal."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise ServiceError(message, field=field_name) from exc


def _snapshot(obj, names) -> dict:
    out = {}
    for name in names:
        value = getattr(obj, name)
        out[name] = value if value is None or isinstance(value, (bool, int)) else str(value)
    return out


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


# --- tariffs ------------------------------------------------------------------------------

TARIFF_FIELDS = (
    "code",
    "name",
    "monthly_fee",
    *ALLOWANCE_FIELDS,
    "description",
    *RATE_FIELDS,
    "valid_from",
    "valid_to",
    "is_active",
)


def _unique_code(session: Session, model, column, value: str, current, message, field_name):
    clash = select(model.id).where(func.upper(column) == value)
    if current is not None:
        clash = clash.where(model.id != current.id)
    if session.scalar(clash) is not None:
        raise ServiceError(message, field=field_name)


def _tariff_values(session: Session, data: TariffInput, current: TariffPlan | None) -> dict:
    unknown = set(data.rates) - set(RATE_FIELDS)
    if unknown:
        raise ValueError(f"unknown rates: {sorted(unknown)}")
    checks = FieldChecks()
    code = checks.run(_code, data.code, "code", 30, _l("Enter the tariff's code."))
    if code:
        checks.run(
            _unique_code,
            session,
            TariffPlan,
            TariffPlan.code,
            code,
            current,
            _l("Another tariff already has the code %(code)s.", code=code),
            "code",
        )
    values = {
        "code": code,
        "name": checks.run(_text, data.name, "name", 120, _l("Enter the tariff's name.")),
        "monthly_fee": checks.run(
            _amount, data.monthly_fee, "monthly_fee", required_message=_l("Enter the monthly fee.")
        ),
        "description": checks.run(_text, data.description, "description", 5000, multiline=True),
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
        "is_active": bool(data.is_active),
    }
    for name in ALLOWANCE_FIELDS:
        values[name] = checks.run(_allowance, getattr(data, name), name)
    for name in RATE_FIELDS:
        if name in data.rates:
            values[name] = checks.run(
                _amount,
                data.rates[name],
                name,
                required_message=_l("Enter the rate (0 if free)."),
                places=4,
                maximum=RATE_MAX,
            )
    checks.run(_dates, data.valid_from, data.valid_to)
    checks.done()
    return values


def create_tariff(session: Session, actor: Actor, data: TariffInput) -> TariffPlan:
    values = _tariff_values(session, data, None)
    tariff = TariffPlan(**values)
    session.add(tariff)
    _flush_unique(
        session,
        _l("Another tariff already has the code %(code)s.", code=values["code"]),
        "code",
    )
    audit.record(
        session,
        actor,
        "catalog.tariff_created",
        obj=tariff,
        after=_snapshot(tariff, TARIFF_FIELDS),
    )
    return tariff


def update_tariff(
    session: Session, actor: Actor, tariff: TariffPlan, data: TariffInput
) -> TariffPlan:
    values = _tariff_values(session, data, tariff)
    before = _snapshot(tariff, TARIFF_FIELDS)
    for name, value in values.items():
        setattr(tariff, name, value)
    _flush_unique(
        session,
        _l("Another tariff already has the code %(code)s.", code=values["code"]),
        "code",
    )
    old, new = _changes(before, _snapshot(tariff, TARIFF_FIELDS))
    if new:
        audit.record(session, actor, "catalog.tariff_changed", obj=tariff, before=old, after=new)
    return tariff


# --- products -----------------------------------------------------------------------------

PRODUCT_FIELDS = (
    "kind",
    "sku",
    "manufacturer",
    "name",
    "list_price",
    "description",
    "valid_from",
    "valid_to",
    "is_active",
)


def _kind(value) -> ProductKind:
    try:
        return ProductKind(value)
    except ValueError:
        raise ServiceError(_l("Choose the kind of product."), field="kind") from None


def _product_values(session: Session, data: ProductInput, current: Product | None) -> dict:
    checks = FieldChecks()
    sku = checks.run(_code, data.sku, "sku", 40, _l("Enter the SKU."))
    if sku:
        checks.run(
            _unique_code,
            session,
            Product,
            Product.sku,
            sku,
            current,
            _l("Another product already has the SKU %(sku)s.", sku=sku),
            "sku",
        )
    values = {
        "kind": checks.run(_kind, data.kind),
        "sku": sku,
        "manufacturer": checks.run(_text, data.manufacturer, "manufacturer", 80),
        "name": checks.run(_text, data.name, "name", 160, _l("Enter the product's name.")),
        "list_price": checks.run(
            _amount, data.list_price, "list_price", required_message=_l("Enter the list price.")
        ),
        "description": checks.run(_text, data.description, "description", 5000, multiline=True),
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
        "is_active": bool(data.is_active),
    }
    checks.run(_dates, data.valid_from, data.valid_to)
    checks.done()
    return values


def create_product(session: Session, actor: Actor, data: ProductInput) -> Product:
    values = _product_values(session, data, None)
    product = Product(**values)
    session.add(product)
    _flush_unique(
        session, _l("Another product already has the SKU %(sku)s.", sku=values["sku"]), "sku"
    )
    audit.record(
        session,
        actor,
        "catalog.product_created",
        obj=product,
        after=_snapshot(product, PRODUCT_FIELDS),
    )
    return product


def update_product(session: Session, actor: Actor, product: Product, data: ProductInput) -> Product:
    values = _product_values(session, data, product)
    before = _snapshot(product, PRODUCT_FIELDS)
    for name, value in values.items():
        setattr(product, name, value)
    _flush_unique(
        session, _l("Another product already has the SKU %(sku)s.", sku=values["sku"]), "sku"
    )
    old, new = _changes(before, _snapshot(product, PRODUCT_FIELDS))
    if new:
        audit.record(session, actor, "catalog.product_changed", obj=product, before=old, after=new)
    return product
