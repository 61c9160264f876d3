"""Forms of the customer records. The rules live in services/customers.py and
services/portal_users.py; the fields call the same checks (``Check``), so a form shows every
wrong field at once, and the service refuses again whatever gets past (duplicates, races)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from core.web import db
from services import ServiceError
from services import customer_records as records
from services import customers as svc


def strip(value):
    return value.strip() if isinstance(value, str) else value


def int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class Check:
    """A WTForms validator that runs a service's check (which raises ServiceError)."""

    def __init__(self, check):
        self.check = check

    def __call__(self, form, field):
        try:
            self.check(field.data)
        except ServiceError as err:
            raise ValidationError(err.text) from None


def refuse(form, err: ServiceError) -> None:
    """Nothing of a refused change stays; the reason goes on its field or above the form."""
    db().rollback()
    field = getattr(form, err.field, None) if err.field else None
    if field is not None and not field.flags.hidden:
        field.errors = [*field.errors, err.text]
    else:
        form.form_errors.append(err.text)


def _text(label, message, max_length, **kw):
    return StringField(
        label,
        validators=[DataRequired(message), Length(max=max_length)],
        filters=[strip],
        render_kw={"maxlength": max_length, **kw},
    )


class CustomerForm(FlaskForm):
    name = _text(_l("Company name"), _l("Enter the company name."), 200, autocomplete="off")
    nip = StringField(
        _l("NIP (tax ID)"),
        validators=[DataRequired(_l("Enter the NIP.")), Check(svc.normalise_nip)],
        filters=[strip],
        description=_l("10 digits; dashes and spaces are ignored."),
        render_kw={"maxlength": 20, "inputmode": "numeric", "autocomplete": "off"},
    )
    regon = StringField(
        _l("REGON"),
        validators=[Check(svc.normalise_regon)],
        filters=[strip],
        description=_l("Optional. 9 or 14 digits."),
        render_kw={"maxlength": 20, "inputmode": "numeric", "autocomplete": "off"},
    )
    krs = StringField(
        _l("KRS"),
        validators=[Check(svc.normalise_krs)],
        filters=[strip],
        description=_l("Optional. 10 digits, e.g. 0000123456."),
        render_kw={"maxlength": 14, "inputmode": "numeric", "autocomplete": "off"},
    )
    street = _text(_l("Street and number"), _l("Enter the street and number."), 200)
    postal_code = StringField(
        _l("Postal code"),
        validators=[DataRequired(_l("Enter the postal code.")), Check(svc.normalise_postal_code)],
        filters=[strip],
        render_kw={"maxlength": 6, "placeholder": "00-000", "autocomplete": "off"},
    )
    city = _text(_l("Town or city"), _l("Enter the town or city."), 100)
    email = EmailField(
        _l("Company e-mail"),
        validators=[Check(svc.normalise_email)],
        filters=[strip],
        description=_l("Optional. The general address, e.g. biuro@firma.pl."),
        render_kw={"maxlength": 254},
    )
    phone = TelField(
        _l("Company phone"),
        validators=[Check(svc.normalise_phone)],
        filters=[strip],
        description=_l("Optional. Polish numbers may be written without +48."),
        render_kw={"maxlength": 30},
    )
    account_manager_id = SelectField(
        _l("Account manager"), choices=[], validate_choice=False, coerce=str
    )

    def company_data(self) -> svc.CompanyData:
        return svc.CompanyData(
            name=self.name.data,
            nip=self.nip.data,
            street=self.street.data,
            postal_code=self.postal_code.data,
            city=self.city.data,
            regon=self.regon.data,
            krs=self.krs.data,
            email=self.email.data,
            phone=self.phone.data,
        )


class ManagerForm(FlaskForm):
    account_manager_id = SelectField(
        _l("Account manager"), choices=[], validate_choice=False, coerce=str
    )


def address_kinds():
    return [
        ("correspondence", _l("Correspondence address")),
        ("invoice", _l("Invoice address")),
        ("delivery", _l("Delivery address")),
    ]


class AddressForm(FlaskForm):
    kind = SelectField(_l("Used for"), choices=address_kinds)
    label = StringField(
        _l("Label"),
        validators=[Length(max=120)],
        filters=[strip],
        description=_l("Optional, e.g. “Warehouse Poznań” or “Accounts department”."),
        render_kw={"maxlength": 120},
    )
    street = _text(_l("Street and number"), _l("Enter the street and number."), 200)
    postal_code = StringField(
        _l("Postal code"),
        validators=[DataRequired(_l("Enter the postal code.")), Check(svc.normalise_postal_code)],
        filters=[strip],
        render_kw={"maxlength": 6, "placeholder": "00-000", "autocomplete": "off"},
    )
    city = _text(_l("Town or city"), _l("Enter the town or city."), 100)

    def address_data(self) -> records.AddressData:
        return records.AddressData(
            kind=self.kind.data,
            street=self.street.data,
            postal_code=self.postal_code.data,
            city=self.city.data,
            label=self.label.data,
        )


def contact_roles():
    return [
        ("decision_maker", _l("Decision maker")),
        ("fleet_admin", _l("Fleet administrator")),
        ("finance", _l("Finance")),
        ("technical", _l("Technical")),
        ("other", _l("Other")),
    ]


class ContactForm(FlaskForm):
    full_name = _text(_l("Name"), _l("Enter the name."), 200, autocomplete="off")
    role = SelectField(_l("Role"), choices=contact_roles)
    position = StringField(
        _l("Position"),
        validators=[Length(max=120)],
        filters=[strip],
        description=_l("Optional, e.g. “IT manager”."),
        render_kw={"maxlength": 120},
    )
    email = EmailField(
        _l("E-mail"),
        validators=[Check(svc.normalise_email)],
        filters=[strip],
        render_kw={"maxlength": 254, "autocomplete": "off"},
    )
    phone = TelField(
        _l("Phone"),
        validators=[Check(svc.normalise_phone)],
        filters=[strip],
        description=_l("Polish numbers may be written without +48."),
        render_kw={"maxlength": 30, "autocomplete": "off"},
    )
    notes = TextAreaField(
        _l("Notes"),
        validators=[Length(max=2000)],
        filters=[strip],
        render_kw={"rows": 3, "maxlength": 2000},
    )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and not self.email.data and not self.phone.data:
            self.email.errors.append(
                _l("Give an e-mail address or a phone number, so the contact can be reached.")
            )
            return False
        return ok

    def contact_data(self) -> records.ContactData:
        return records.ContactData(
            full_name=self.full_name.data,
            role=self.role.data,
            email=self.email.data,
            phone=self.phone.data,
            position=self.position.data,
            notes=self.notes.data,
        )


def note_kinds():
    return [
        ("note", _l("Note")),
        ("call", _l("Phone call")),
        ("meeting", _l("Meeting")),
        ("visit", _l("Visit")),
    ]


class NoteForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=note_kinds)
    body = TextAreaField(
        _l("Note"),
        validators=[
            DataRequired(_l("Write the note.")),
            Length(max=records.NOTE_MAX, message=_l("The note is too long.")),
        ],
        filters=[strip],
        render_kw={"rows": 3, "maxlength": records.NOTE_MAX},
    )


def portal_roles():
    return [
        ("fleet_admin", _l("Fleet administrator")),
        ("viewer", _l("Viewer (read only)")),
        ("employee", _l("Employee")),
    ]


class AccessForm(FlaskForm):
    full_name = _text(_l("Name"), _l("Enter the name."), 200, autocomplete="off")
    role = SelectField(_l("Role"), choices=portal_roles)
    scope_unit_id = SelectField(
        _l("Limited to the unit"),
        choices=[],
        coerce=str,
        validate_choice=False,
        description=_l(
            "Optional. A fleet administrator or viewer limited to a unit sees only that unit "
            "and the units under it. Employees always see only their own lines."
        ),
    )
    can_approve_orders = BooleanField(
        _l("May approve orders"),
        description=_l(
            "Orders above the contract's approval threshold wait for a person with this right."
        ),
    )


class InviteForm(AccessForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(_l("Enter an e-mail address.")), Check(svc.normalise_email)],
        filters=[strip],
        description=_l("The invitation goes to this address; it is also the sign-in."),
        render_kw={"maxlength": 254, "autocomplete": "off"},
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
