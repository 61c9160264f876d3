"""Forms of the billing pages. They carry input; services.billing and services.payments decide."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp


class RunForm(FlaskForm):
    customer = SelectField(_l("Customer"), coerce=int, validate_choice=True)
    period = StringField(
        _l("Month"),
        validators=[
            DataRequired(_l("Choose the month to bill.")),
            Regexp(r"^\d{4}-\d{2}$", message=_l("Enter the month as YYYY-MM.")),
        ],
        render_kw={"type": "month"},
    )


class PaymentsForm(FlaskForm):
    file = FileField(
        _l("Payments file (CSV)"),
        validators=[FileRequired(_l("Choose the CSV file with the payments."))],
        description=_l("One payment per row: invoice number, date, amount."),
        render_kw={"accept": ".csv,text/csv"},
    )


class CorrectionForm(FlaskForm):
    """The reason; the amounts are the page's per-line inputs (services.corrections checks)."""

    reason = TextAreaField(
        _l("Reason for the correction"),
        validators=[
            DataRequired(_l("Give the reason for the correction.")),
            Length(max=500, message=_l("At most 500 characters.")),
        ],
    )
