"""Forms of the catalogue. They carry the input; the rules (required values, ranges, unique
codes, dates in order) are services.catalog's, and its refusals land on these fields."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField

from admin_console.catalog.fields import DateInput, DecimalInput, IntegerInput
from models import ProductKind
from services.catalog import RATE_FIELDS, ProductInput, TariffInput

MB_PER_GB = 1024

# The rates per zone, in the order the form and the tariff page show them: (field, label, unit).
RATES = (
    ("rate_voice_domestic", _l("Calls in Poland"), _l("per minute")),
    ("rate_sms_domestic", _l("SMS in Poland"), _l("per message")),
    ("rate_mms_domestic", _l("MMS in Poland"), _l("per message")),
    ("rate_data_domestic_mb", _l("Data in Poland"), _l("per MB")),
    ("rate_voice_eu", _l("Calls in the EU (roaming)"), _l("per minute")),
    ("rate_data_eu_mb", _l("Data in the EU (roaming)"), _l("per MB")),
    ("rate_voice_world", _l("Calls outside the EU"), _l("per minute")),
    ("rate_sms_world", _l("SMS outside the EU"), _l("per message")),
    ("rate_data_world_mb", _l("Data outside the EU"), _l("per MB")),
)
assert tuple(name for name, _label, _unit in RATES) == RATE_FIELDS

KIND_LABELS = {
    ProductKind.handset.value: _l("Handset"),
    ProductKind.accessory.value: _l("Accessory"),
    ProductKind.addon.value: _l("Add-on service"),
}


def _unlimited_help():
    return _l("Leave empty for unlimited; 0 means none included.")


class _Validity:
    valid_from = DateInput(_l("On sale from"), description=_l("Optional. Empty: from now on."))
    valid_to = DateInput(_l("On sale until"), description=_l("Optional. Empty: until withdrawn."))
    is_active = BooleanField(
        _l("On sale"),
        default=True,
        description=_l("Untick to withdraw it: contracts keep it, but nobody can order it."),
    )


class TariffForm(_Validity, FlaskForm):
    code = StringField(
        _l("Code"),
        description=_l("Unique, e.g. BIZ-M. Stored in capitals."),
        render_kw={"maxlength": 30, "autocomplete": "off", "spellcheck": "false"},
    )
    name = StringField(_l("Name"), render_kw={"maxlength": 120, "autocomplete": "off"})
    monthly_fee = DecimalInput(
        _l("Monthly fee (net PLN)"), message=_l("Enter an amount such as 49.99.")
    )
    included_minutes = IntegerInput(_l("Minutes included"), description=_unlimited_help())
    included_sms = IntegerInput(_l("SMS included"), description=_unlimited_help())
    included_data_gb = DecimalInput(
        _l("Data included (GB)"),
        description=_l("Leave empty for unlimited. 1 GB = 1024 MB; 0.5 is 512 MB."),
    )
    description = TextAreaField(_l("Description"), render_kw={"rows": 3, "maxlength": 5000})

    def to_input(self) -> TariffInput:
        gb = self.included_data_gb.data
        data_mb = None
        if gb is not None:
            # A negative amount stays negative, so the service refuses it with its message.
            data_mb = int((gb * MB_PER_GB).quantize(Decimal(1), ROUND_HALF_UP)) if gb >= 0 else -1
        return TariffInput(
            code=self.code.data or "",
            name=self.name.data or "",
            monthly_fee=self.monthly_fee.data,
            included_minutes=self.included_minutes.data,
            included_sms=self.included_sms.data,
            included_data_mb=data_mb,
            description=self.description.data,
            rates={name: getattr(self, name).data for name in RATE_FIELDS},
            valid_from=self.valid_from.data,
            valid_to=self.valid_to.data,
            is_active=self.is_active.data,
        )

    def fill_from(self, tariff) -> None:
        """The edit form shows data in GB (the tariff stores MB)."""
        mb = tariff.included_data_mb
        if mb is not None:
            self.included_data_gb.data = (
                (Decimal(mb) / MB_PER_GB).quantize(Decimal("0.001")).normalize()
            )


for _name, _label, _unit in RATES:
    setattr(
        TariffForm,
        _name,
        DecimalInput(_label, description=_unit, message=_l("Enter a rate such as 0.2900.")),
    )


class ProductForm(_Validity, FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice("", _l("Choose…"))]
        + [SelectChoice(value, label) for value, label in KIND_LABELS.items()],
        validate_choice=False,
    )
    sku = StringField(
        "SKU",
        description=_l("The stock-keeping unit, unique, e.g. APL-IP16-128. Stored in capitals."),
        render_kw={"maxlength": 40, "autocomplete": "off", "spellcheck": "false"},
    )
    manufacturer = StringField(
        _l("Manufacturer"), render_kw={"maxlength": 80, "autocomplete": "off"}
    )
    name = StringField(_l("Model / name"), render_kw={"maxlength": 160, "autocomplete": "off"})
    list_price = DecimalInput(
        _l("List price (net PLN)"), message=_l("Enter an amount such as 1999.00.")
    )
    description = TextAreaField(_l("Description"), render_kw={"rows": 4, "maxlength": 5000})
    photo = FileField(
        _l("Photo"),
        description=_l("JPEG, PNG or WebP, at most 2 MB."),
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )
    remove_photo = BooleanField(_l("Remove the current photo"))

    def to_input(self) -> ProductInput:
        return ProductInput(
            kind=self.kind.data or None,
            sku=self.sku.data or "",
            name=self.name.data or "",
            list_price=self.list_price.data,
            manufacturer=self.manufacturer.data,
            description=self.description.data,
            valid_from=self.valid_from.data,
            valid_to=self.valid_to.data,
            is_active=self.is_active.data,
        )
