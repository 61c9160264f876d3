"""Forms of staff management. The rules are in services/staff.py."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

from admin_console.customers.forms import Check, strip
from services import customers as svc


def staff_roles():
    return [
        ("account_manager", _l("Account manager")),
        ("sales_admin", _l("Sales administrator")),
        ("operator_admin", _l("Operator administrator")),
    ]


class StaffForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(_l("Enter an e-mail address.")), Check(svc.normalise_email)],
        filters=[strip],
        description=_l("The invitation goes to this address; it is also the sign-in."),
        render_kw={"maxlength": 254, "autocomplete": "off"},
    )
    full_name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Enter the name.")), Length(max=200)],
        filters=[strip],
        render_kw={"maxlength": 200, "autocomplete": "off"},
    )
    role = SelectField(_l("Role"), choices=staff_roles)


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=staff_roles)


def _ids(values) -> list[int]:
    return [int(v) for v in values or () if str(v).isdigit()]


class AssignForm(FlaskForm):
    """Customers to give to this account manager (choices: the customers not theirs)."""

    customer_ids = SelectMultipleField(
        _l("Customers"),
        choices=[],
        coerce=str,
        validate_choice=False,
        validators=[DataRequired(_l("Choose at least one customer."))],
        render_kw={"size": 10},
    )

    def ids(self) -> list[int]:
        return _ids(self.customer_ids.data)


class HandoverForm(FlaskForm):
    """This manager's customers (checkboxes on the page) to another manager, or to nobody."""

    customer_ids = SelectMultipleField(
        _l("Customers"), choices=[], coerce=str, validate_choice=False
    )
    target_id = SelectField(_l("Hand over to"), choices=[], coerce=str, validate_choice=False)

    def ids(self) -> list[int]:
        return _ids(self.customer_ids.data)
