from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SearchField, SelectField
from wtforms.validators import Length, Optional

from services.phonebook import MAX_QUERY


def _strip(value):
    return " ".join(value.split()) if isinstance(value, str) else value


def _unit_id(value) -> int | None:
    """A unit id from the query string; anything that is not a plausible id means "all"."""
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


class SearchForm(FlaskForm):
    """The search of the phone book: a GET form, read from the query string (no CSRF)."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Search"),
        validators=[
            Optional(),
            Length(max=MAX_QUERY, message=_l("Enter at most %(max)d characters.")),
        ],
        filters=[_strip],
        render_kw={
            "maxlength": MAX_QUERY,
            "autocomplete": "off",
            "spellcheck": "false",
        },
    )
    unit = SelectField(_l("Department"), coerce=_unit_id, validate_choice=False)
    hidden = BooleanField(_l("Include hidden entries"))


class VisibilityForm(FlaskForm):
    """Hide an entry from the phone book (checked) or show it again (unchecked)."""

    hidden = BooleanField(_l("Hide my entry from the phone book"))
    next = HiddenField()
