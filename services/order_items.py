"""Checking and pricing what a customer wants to order, against its offer and its scope.

A cart item is untrusted plain data (from a form, a stored cart, a file): every id, number and
text in it is checked here, with a message for the form field it belongs to. Prices come only
from the published offer. The checks read what they need for all items at once (units, lines,
numbers: a handful of queries whatever the number of items).

``price_items`` returns, per item, the priced ``OrderLine`` (not yet in the session) or the
``ServiceError`` that refuses it; ``services.orders.place_order`` refuses the whole order at the
first error, the cart page shows each item's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import (
    Line,
    LineKind,
    LineStatus,
    NumberStatus,
    OrderLine,
    OrderLineState,
    OrgUnit,
    PoolNumber,
    ProductKind,
)
from services import ServiceError
from services.fleet import WITHOUT_SECRETS, FleetScope, normalise_msisdn, scoped_lines
from services.offer import Offer

MAX_QUANTITY = 500
MAX_LINES = 200
MAX_NAME = 200
MAX_POSITION = 120
MAX_EMAIL = 254
MAX_OPERATOR = 60
OPEN_LINE_STATES = (
    OrderLineState.acknowledged,
    OrderLineState.waiting,
    OrderLineState.allocated,
    OrderLineState.inProgress,
)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
VAT_RATE = Decimal("0.23")  # the standard Polish rate, for phones, accessories and services


@dataclass
class CartItem:
    """One thing to order. ``kind``: activation, handset, accessory or exchange."""

    kind: str
    quantity: int = 1
    product_id: int | None = None
    tariff_id: int | None = None
    line_id: int | None = None  # exchange: the line getting the new handset
    # activation: unit_id, employee_name/_email/_position, and msisdn (a chosen pool number)
    # or port_msisdn + port_from (a number moving from another operator)
    params: dict = field(default_factory=dict)


def as_id(value) -> int:
    """A positive database id from untrusted data; 0 when it is not one."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and 0 < value < 2**63 else 0


def _text(value) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


@dataclass
class _Parsed:
    """An item whose values are well-formed; what they name is checked against the database."""

    kind: LineKind
    quantity: int
    product_id: int = 0
    tariff_id: int = 0
    line_id: int = 0
    unit_id: int = 0
    employee: dict = field(default_factory=dict)
    chosen: str | None = None  # a number from the pool
    ported: str | None = None
    port_from: str | None = None


def _parse(item: CartItem) -> _Parsed:
    try:
        kind = LineKind(item.kind)
    except ValueError:
        raise ServiceError(_l("This is not something you can order.")) from None
    quantity = item.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        quantity = as_id(quantity) or -1
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ServiceError(_l("The quantity must be between 1 and 500."), field="quantity")
    if kind in (LineKind.activation, LineKind.exchange) and quantity != 1:
        raise ServiceError(
            _l("Each new line is ordered separately.")
            if kind == LineKind.activation
            else _l("One handset per line."),
            field="quantity",
        )
    parsed = _Parsed(
        kind,
        quantity,
        product_id=as_id(item.product_id),
        tariff_id=as_id(item.tariff_id),
        line_id=as_id(item.line_id),
    )
    if kind == LineKind.activation:
        _parse_activation(parsed, item.params if isinstance(item.params, dict) else {})
    return parsed


def _parse_activation(parsed: _Parsed, p: dict) -> None:
    parsed.unit_id = as_id(p.get("unit_id"))
    name = _text(p.get("employee_name"))
    email = _text(p.get("employee_email")).replace(" ", "")
    position = _text(p.get("employee_position"))
    if (email or position) and not name:
        raise ServiceError(_l("Enter the employee's name."), field="employee_name")
    if len(name) > MAX_NAME:
        raise ServiceError(
            _l("The name is too long (at most 200 characters)."), field="employee_name"
        )
    if len(position) > MAX_POSITION:
        raise ServiceError(
            _l("The position is too long (at most 120 characters)."), field="employee_position"
        )
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ServiceError(
                _l("This is not a valid e-mail address."), field="employee_email"
            ) from None
        if len(email) > MAX_EMAIL:
            raise ServiceError(_l("This is not a valid e-mail address."), field="employee_email")
    if name:
        parsed.employee = {
            "employee_name": name,
            "employee_email": email or None,
            "employee_position": position or None,
        }
    if p.get("port_msisdn"):
        parsed.ported = _number(p["port_msisdn"], "port_msisdn")
        parsed.port_from = _text(p.get("port_from"))
        if not parsed.port_from:
            raise ServiceError(_l("Enter the operator the number comes from."), field="port_from")
        if len(parsed.port_from) > MAX_OPERATOR:
            raise ServiceError(
                _l("The operator's name is too long (at most 60 characters)."), field="port_from"
            )
    elif p.get("msisdn"):
        parsed.chosen = _number(p["msisdn"], "msisdn")


def _number(raw, field_name: str) -> str:
    if not isinstance(raw, str):
        raise ServiceError(_l("This is not a phone number."), field=field_name)
    try:
        return normalise_msisdn(raw)
    except ServiceError as err:
        raise ServiceError(err.message, field=field_name) from None


@dataclass
class _Context:
    """What the items name, loaded for all of them at once."""

    units: dict[int, OrgUnit]
    lines: dict[int, Line]
    exchanging: set[int]  # lines that already have a handset exchange on order
    free_numbers: set[str]  # chosen numbers still free in the pool
    our_numbers: set[str]  # numbers that already are lines of ours
    porting: set[str]  # numbers an order not yet released is porting in


def _load(session: Session, scope: FleetScope, parsed: list[_Parsed]) -> _Context:
    unit_ids = {p.unit_id for p in parsed if p.kind == LineKind.activation and p.unit_id}
    line_ids = {p.line_id for p in parsed if p.kind == LineKind.exchange and p.line_id}
    chosen = {p.chosen for p in parsed if p.chosen}
    ported = {p.ported for p in parsed if p.ported}
    units = {}
    if unit_ids:
        query = select(OrgUnit).where(
            OrgUnit.id.in_(unit_ids), OrgUnit.customer_id == scope.customer_id
        )
        units = {
            u.id: u
            for u in session.scalars(query)
            if not scope.unit_path or u.path.startswith(scope.unit_path)
        }
    lines, exchanging = {}, set()
    if line_ids:
        query = scoped_lines(scope).where(Line.id.in_(line_ids)).options(*WITHOUT_SECRETS)
        lines = {ln.id: ln for ln in session.scalars(query)}
        exchanging = set(
            session.scalars(
                select(OrderLine.line_id).where(
                    OrderLine.kind == LineKind.exchange,
                    OrderLine.line_id.in_(line_ids),
                    OrderLine.state.in_(OPEN_LINE_STATES),
                )
            )
        )
    free = set()
    if chosen:
        free = set(
            session.scalars(
                select(PoolNumber.msisdn).where(
                    PoolNumber.msisdn.in_(chosen), PoolNumber.status == NumberStatus.free
                )
            )
        )
    ours, porting = set(), set()
    if ported:
        ours = set(session.scalars(select(Line.msisdn).where(Line.msisdn.in_(ported))))
        port_of = OrderLine.params["port_msisdn"].as_string()
        porting = set(
            session.scalars(
                select(port_of).where(
                    OrderLine.kind == LineKind.activation,
                    OrderLine.state == OrderLineState.acknowledged,
                    port_of.in_(ported),
                )
            )
        )
    return _Context(units, lines, exchanging, free, ours, porting)


def _refuse_unless(cond: bool, message, field_name: str | None = None) -> None:
    if not cond:
        raise ServiceError(message, field=field_name)


def _priced(offer: Offer, ctx: _Context, p: _Parsed) -> OrderLine:
    if p.kind == LineKind.activation:
        tariff = offer.price_of_tariff(p.tariff_id)
        _refuse_unless(tariff is not None, _l("This tariff is not in your offer."), "tariff_id")
        _refuse_unless(
            p.unit_id in ctx.units, _l("Choose the department for the new line."), "unit_id"
        )
        params: dict = {"unit_id": p.unit_id, **p.employee}
        if p.ported:
            _refuse_unless(
                p.ported not in ctx.our_numbers,
                _l("This number is already one of our lines."),
                "port_msisdn",
            )
            _refuse_unless(
                p.ported not in ctx.porting,
                _l("This number is already being ported in by another order."),
                "port_msisdn",
            )
            params.update(port_msisdn=p.ported, port_from=p.port_from)
        elif p.chosen:
            _refuse_unless(
                p.chosen in ctx.free_numbers,
                _l("This number is no longer available; choose another."),
                "msisdn",
            )
            params["msisdn"] = p.chosen
        params["monthly_fee"] = str(tariff.price)
        return OrderLine(
            kind=LineKind.activation,
            tariff_id=tariff.tariff.id,
            quantity=1,
            unit_price=ZERO,
            list_price=ZERO,
            params=params,
        )
    priced = offer.price_of_product(p.product_id)
    _refuse_unless(priced is not None, _l("This product is not in your offer."), "product_id")
    params = {}
    if p.kind == LineKind.exchange:
        _refuse_unless(
            priced.product.kind == ProductKind.handset,
            _l("Only a handset can replace a handset."),
            "product_id",
        )
        line = ctx.lines.get(p.line_id)
        _refuse_unless(
            line is not None and line.status == LineStatus.active,
            _l("Choose an active line for the exchange."),
            "line_id",
        )
        _refuse_unless(
            line.id not in ctx.exchanging,
            _l("This line already has a handset exchange on order."),
            "line_id",
        )
        params = {"line_msisdn": line.msisdn}
    else:
        _refuse_unless(
            p.kind.value == priced.product.kind.value,
            _l("This product is not in your offer."),
            "product_id",
        )
    return OrderLine(
        kind=p.kind,
        product_id=priced.product.id,
        line_id=p.line_id if p.kind == LineKind.exchange else None,
        quantity=p.quantity,
        unit_price=priced.price,
        list_price=priced.list_price,
        params=params,
    )


def _twice(lines: list[OrderLine | ServiceError]) -> None:
    """A line exchanged twice, or one number wanted by two new lines: the later one is refused."""
    seen: set = set()
    for i, ln in enumerate(lines):
        if isinstance(ln, ServiceError):
            continue
        keys = []
        if ln.kind == LineKind.exchange:
            keys.append(("line", ln.line_id))
        for key in ("msisdn", "port_msisdn"):
            if ln.params.get(key):
                keys.append(("number", ln.params[key]))
        if any(k in seen for k in keys):
            lines[i] = ServiceError(
                _l("A line appears twice among the exchanges.")
                if ln.kind == LineKind.exchange
                else _l("The same number is wanted for two new lines."),
                field="line_id" if ln.kind == LineKind.exchange else "msisdn",
            )
            continue
        seen.update(keys)


def price_items(
    session: Session, offer: Offer, scope: FleetScope, items: list[CartItem]
) -> list[OrderLine | ServiceError]:
    """Each item priced as an ``OrderLine`` (not added to the session), or why it is refused."""
    parsed: list[_Parsed | ServiceError] = []
    for item in items:
        try:
            parsed.append(_parse(item))
        except ServiceError as err:
            parsed.append(err)
    ctx = _load(session, scope, [p for p in parsed if isinstance(p, _Parsed)])
    out: list[OrderLine | ServiceError] = []
    for p in parsed:
        if isinstance(p, ServiceError):
            out.append(p)
            continue
        try:
            out.append(_priced(offer, ctx, p))
        except ServiceError as err:
            out.append(err)
    _twice(out)
    return out


def with_vat(net: Decimal) -> tuple[Decimal, Decimal]:
    """(VAT, gross) of a net amount: 23 %, rounded half up to the grosz."""
    vat = (net * VAT_RATE).quantize(CENT, ROUND_HALF_UP)
    return vat, net + vat


def first_error(results: list[OrderLine | ServiceError]) -> ServiceError | None:
    """The first refusal, carrying the position of its item (``details["item"]``, from 0)."""
    for i, r in enumerate(results):
        if isinstance(r, ServiceError):
            return ServiceError(r.message, field=r.field, item=i)
    return None
