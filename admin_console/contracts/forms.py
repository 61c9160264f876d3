"""Forms of the contracts pages. They carry input; services.contracts decides and refuses."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from admin_console.catalog.fields import DateInput, DecimalInput, IntegerInput


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class NewContractForm(FlaskForm):
    customer = StringField(
        _l("Customer"),
        validators=[DataRequired(_l("Enter the customer's number or NIP."))],
        filters=[_strip],
        description=_l("Customer number or NIP; start typing to choose from your customers."),
        render_kw={"list": "customer-options", "autocomplete": "off", "maxlength": 40},
    )
    valid_from = DateInput(_l("Valid from"))
    valid_to = DateInput(_l("Valid until"), description=_l("Empty: an open-ended contract."))


class TermsForm(FlaskForm):
    valid_from = DateInput(_l("Valid from"))
    valid_to = DateInput(_l("Valid until"), description=_l("Empty: an open-ended contract."))
    subsidy_budget = DecimalInput(
        _l("Handset subsidy budget (net PLN)"),
        description=_l("For the whole contract period; 0 if none."),
        message=_l("Enter an amount such as 10000.00."),
    )
    approval_threshold = DecimalInput(
        _l("Order approval threshold (net PLN)"),
        description=_l("Orders above it wait for the customer's approver. Empty: no approval."),
        message=_l("Enter an amount such as 5000.00."),
    )
    repair_time_hours = IntegerInput(
        _l("Repair time (hours)"), description=_l("Service level: a handset repaired within.")
    )
    response_time_hours = IntegerInput(
        _l("Response time (hours)"), description=_l("Service level: a fault answered within.")
    )
    tariff_discount_percent = DecimalInput(
        _l("Discount on tariffs and add-ons (%)"), message=_l("Enter a percentage such as 10.")
    )
    handset_discount_percent = DecimalInput(
        _l("Discount on handsets (%)"), message=_l("Enter a percentage such as 10.")
    )
    accessory_discount_percent = DecimalInput(
        _l("Discount on accessories (%)"), message=_l("Enter a percentage such as 10.")
    )
    note = TextAreaField(
        _l("Note"),
        validators=[Length(max=2000)],
        description=_l("For an amendment: what it changes, in words. It is printed on the PDF."),
        render_kw={"rows": 2, "maxlength": 2000},
    )


class ItemForm(FlaskForm):
    """Allow a tariff or product (value "t:<id>" or "p:<id>") with an individual price or a
    discount; neither: the list price less the contract's discount for its kind."""

    item = SelectField(_l("Tariff or product"), choices=[], validate_choice=False)
    price = DecimalInput(
        _l("Individual price (net PLN)"), message=_l("Enter an amount such as 39.00.")
    )
    discount_percent = DecimalInput(
        _l("or a discount (%)"), message=_l("Enter a percentage such as 12.5.")
    )

    def target(self) -> tuple[str, int] | None:
        raw = self.item.data or ""
        kind, _sep, ident = raw.partition(":")
        if kind in ("t", "p") and ident.isdigit() and len(ident) < 12:
            return kind, int(ident)
        return None


class ActionForm(FlaskForm):
    """Buttons that change state (activate, remove an item): only the CSRF token."""


class AmendForm(FlaskForm):
    effective_from = DateInput(_l("In force from"), description=_l("Tomorrow at the earliest."))
    amendment_note = TextAreaField(
        _l("What the amendment changes"),
        validators=[Length(max=2000)],
        render_kw={"rows": 2, "maxlength": 2000},
    )


class TerminateForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(_l("Give the reason for ending the contract.")),
            Length(max=500),
        ],
        filters=[_strip],
        render_kw={"rows": 2, "maxlength": 500},
    )
