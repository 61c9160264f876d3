"""Forms an employee fills on "my line"."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectChoice, SelectField
from wtforms.validators import DataRequired, InputRequired

ZONE_CHOICES = [
    SelectChoice("eu", _l("EU")),
    SelectChoice("europe", _l("Europe")),
    SelectChoice("world", _l("World")),
]


class RoamingForm(FlaskForm):
    zone = SelectField(_l("Zone"), choices=ZONE_CHOICES, validators=[DataRequired()])
    start = DateField(
        _l("First day"), validators=[InputRequired(_l("Enter the first day of the trip."))]
    )
    end = DateField(
        _l("Last day"), validators=[InputRequired(_l("Enter the last day of the trip."))]
    )


class ServiceForm(FlaskForm):
    service = HiddenField(validators=[DataRequired()])
    on = HiddenField(validators=[DataRequired()])


class ExchangeForm(FlaskForm):
    product_id = HiddenField(validators=[DataRequired(_l("Choose a handset."))])


class CancelForm(FlaskForm):
    """Withdrawing a request or ending a trip early: the token only."""
