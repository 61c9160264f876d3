"""Forms of the department tree. The rules (names, cost centres, where a unit may go) are the
service's; these forms only carry the input and the CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class UnitForm(FlaskForm):
    """Create a unit, or rename one and change its cost centre."""

    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Enter the unit's name.")),
            Length(max=200, message=_l("The name is too long (at most 200 characters).")),
        ],
        filters=[_strip],
        render_kw={"maxlength": 200, "autocomplete": "off"},
    )
    cost_centre = StringField(
        _l("Cost centre"),
        validators=[
            Length(
                max=40,
                message=_l("A cost centre has at most 40 letters, digits, spaces or . - / _"),
            )
        ],
        filters=[_strip],
        description=_l("Optional. Letters, digits, spaces and . - / _ (at most 40)."),
        render_kw={"maxlength": 40, "autocomplete": "off"},
    )
    back = HiddenField()


class MoveForm(FlaskForm):
    """Move a unit with everything in it under another unit. ``choices`` (SelectChoice) are set
    by the view: the units the user may move it to, each with its full path."""

    parent_id = SelectField(_l("Move to"), coerce=_int_or_none, validate_choice=False, choices=[])
    back = HiddenField()

    def validate_parent_id(self, field):
        allowed = {field.coerce(choice.value) for choice in field.choices}
        if field.data is None or field.data not in allowed:
            raise ValidationError(_l("Choose the target unit from the list."))


class DeleteForm(FlaskForm):
    """The confirmation step of deleting a unit: only the CSRF token and where to go back."""

    back = HiddenField()
