"""Form pieces shared by both apps."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Regexp, ValidationError


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Email(_l("This is not a valid e-mail address."), check_deliverability=False),
            Length(max=254),
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class TotpForm(FlaskForm):
    code = StringField(
        _l("Code from the authenticator app"),
        validators=[
            DataRequired(_l("Enter the 6-digit code.")),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("The code has 6 digits.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True},
    )


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ServiceRequestForm(FlaskForm):
    """Opening a service request, in the console (for a customer) and in the portal."""

    category = SelectField(_l("What is it about"), choices=[], validate_choice=False)
    msisdn = StringField(
        _l("Phone number of the line"),
        filters=[_strip],
        description=_l("Optional: leave empty when the request is not about one line."),
        render_kw={"maxlength": 20, "inputmode": "tel", "autocomplete": "off"},
    )
    subject = StringField(
        _l("Subject"),
        validators=[DataRequired(_l("Enter a subject.")), Length(max=200)],
        filters=[_strip],
        render_kw={"maxlength": 200},
    )
    description = TextAreaField(
        _l("Description"),
        validators=[DataRequired(_l("Describe what happened.")), Length(max=5000)],
        filters=[_strip],
        render_kw={"rows": 6, "maxlength": 5000},
    )

    def __init__(self, *args, **kwargs):
        from services.service_requests import CATEGORY_LABELS

        super().__init__(*args, **kwargs)
        self.category.choices = [(c.value, str(label)) for c, label in CATEGORY_LABELS.items()]

    def validate_category(self, field):
        from services import ServiceError
        from services.service_requests import check_category

        try:
            check_category(field.data)
        except ServiceError as err:
            raise ValidationError(err.text) from None
