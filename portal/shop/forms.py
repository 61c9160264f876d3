"""Forms of the shop. Choices that depend on the customer (tariffs, units, handsets, numbers)
are filled in by the views; what the values *mean* (in the offer, in scope, still free) is
checked by services.order_items, which answers with a message for the field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from core.web import money
from models import LineKind
from services import ServiceError
from services.order_items import MAX_QUANTITY, CartItem, as_id

NUMBER_CHOICES = (
    ("pool", _l("The next free number")),
    ("choose", _l("Choose a number")),
    ("port", _l("Keep a number from another operator")),
)
# Polish mobile operators, offered as suggestions for "current operator" (any text is accepted).
OPERATORS = ("Orange Polska", "T-Mobile Polska", "Plus (Polkomtel)", "Play (P4)")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice("", _l("Choose…"))] + [SelectChoice(str(v), label) for v, label in pairs]


def parse_quantity(raw) -> int:
    """A whole number of pieces, 1–500; ServiceError for the quantity field otherwise."""
    text = str(raw or "").strip()
    value = int(text) if text.isdigit() and len(text) <= 6 else 0
    if not 1 <= value <= MAX_QUANTITY:
        raise ServiceError(_l("Enter a whole number from 1 to 500."), field="quantity")
    return value


class ShopForm(FlaskForm):
    def add_error(self, err: ServiceError) -> None:
        """Show a service's refusal on its field (or above the form)."""
        field = getattr(self, err.field, None) if err.field else None
        if field is not None and hasattr(field, "errors") and err.field != "csrf_token":
            field.errors = [*list(field.errors or []), err.text]
        else:
            self.form_errors.append(err.text)


class AddProductForm(ShopForm):
    """A handset or an accessory into the cart (one form per product card)."""

    product_id = HiddenField()
    quantity = StringField(
        _l("Quantity"),
        default="1",
        filters=[_strip],
        render_kw={"inputmode": "numeric", "type": "number", "min": 1, "max": MAX_QUANTITY},
    )


class NewLineForm(ShopForm):
    tariff_id = SelectField(_l("Tariff plan"), choices=[], validate_choice=False)
    unit_id = SelectField(_l("Department"), choices=[], validate_choice=False)
    employee_name = StringField(
        _l("Employee's full name"),
        filters=[_strip],
        validators=[Length(max=200)],
        description=_l("Optional. A person not yet in your register is added to it."),
        render_kw={"maxlength": 200, "autocomplete": "off"},
    )
    employee_email = StringField(
        _l("E-mail (optional)"),
        filters=[_strip],
        validators=[Length(max=254)],
        description=_l("Someone already in the register with this address gets the line."),
        render_kw={"maxlength": 254, "type": "email", "autocomplete": "off"},
    )
    employee_position = StringField(
        _l("Position (optional)"),
        filters=[_strip],
        validators=[Length(max=120)],
        render_kw={"maxlength": 120},
    )
    number = RadioField(
        _l("Phone number"),
        choices=[SelectChoice(value, label) for value, label in NUMBER_CHOICES],
        default="pool",
        validate_choice=False,
    )
    msisdn = RadioField(_l("Free numbers"), choices=[], validate_choice=False)
    port_msisdn = StringField(
        _l("Number to keep"),
        filters=[_strip],
        render_kw={"maxlength": 20, "inputmode": "tel", "autocomplete": "off"},
    )
    port_from = StringField(
        _l("Current operator"),
        filters=[_strip],
        render_kw={"maxlength": 60, "list": "operators", "autocomplete": "off"},
    )

    def set_choices(self, tariffs, units, numbers) -> None:
        """tariffs: offer items; units: (id, label); numbers: PoolNumber rows to offer."""
        self.tariff_id.choices = _choices(
            (t.tariff.id, _l("%(name)s — %(price)s net a month", name=t.name, price=money(t.price)))
            for t in tariffs
        )
        self.unit_id.choices = _choices(units)
        self.msisdn.choices = [SelectChoice(n.msisdn, n.msisdn) for n in numbers]

    def mode(self) -> str:
        return self.number.data if self.number.data in dict(NUMBER_CHOICES) else "pool"

    def missing(self) -> list[ServiceError]:
        """What must be filled in, all at once (the service checks what the values mean)."""
        out = []
        if not as_id(self.tariff_id.data):
            out.append(ServiceError(_l("Choose a tariff plan."), field="tariff_id"))
        if not as_id(self.unit_id.data):
            out.append(ServiceError(_l("Choose the department for the new line."), field="unit_id"))
        if self.mode() == "choose" and not self.msisdn.data:
            out.append(ServiceError(_l("Choose one of the free numbers."), field="msisdn"))
        if self.mode() == "port" and not self.port_msisdn.data:
            out.append(ServiceError(_l("Enter the number to keep."), field="port_msisdn"))
        return out

    def to_item(self) -> CartItem:
        """The activation asked for (``missing()`` first)."""
        params = {
            "unit_id": as_id(self.unit_id.data),
            "employee_name": self.employee_name.data or "",
            "employee_email": self.employee_email.data or "",
            "employee_position": self.employee_position.data or "",
        }
        if self.mode() == "choose":
            params["msisdn"] = self.msisdn.data
        elif self.mode() == "port":
            params["port_msisdn"] = self.port_msisdn.data
            params["port_from"] = self.port_from.data or ""
        return CartItem(
            LineKind.activation.value, 1, tariff_id=as_id(self.tariff_id.data), params=params
        )


class ExchangeForm(ShopForm):
    """A new handset for an existing line."""

    line_id = HiddenField()
    product_id = SelectField(_l("New handset"), choices=[], validate_choice=False)

    def set_choices(self, handsets) -> None:
        self.product_id.choices = _choices(
            (h.product.id, f"{h.name} — {money(h.price)}") for h in handsets
        )

    def to_item(self) -> CartItem:
        if not as_id(self.line_id.data):
            raise ServiceError(_l("Choose an active line for the exchange."), field="line_id")
        if not as_id(self.product_id.data):
            raise ServiceError(_l("Choose the new handset."), field="product_id")
        return CartItem(
            LineKind.exchange.value,
            1,
            product_id=as_id(self.product_id.data),
            line_id=as_id(self.line_id.data),
        )


class CartForm(ShopForm):
    """The cart page: quantities (``qty-<item id>`` fields, read by the view), the note, and the
    revision of the cart the page shows."""

    note = TextAreaField(
        _l("Note for the order (optional)"),
        filters=[_strip],
        validators=[
            Length(max=2000, message=_l("The note is too long (at most 2000 characters)."))
        ],
        description=_l("For example a delivery address or a cost centre."),
        render_kw={"rows": 2, "maxlength": 2000},
    )
    rev = HiddenField()
