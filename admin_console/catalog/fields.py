"""Form fields for amounts, counts and dates as people type them in Poland.

"1 234,50", "1234.50" and "1234,5 zł" are the same amount; an empty field is None (the
service decides whether that is allowed and says so). A value that is not a number is refused
here, on its field, with one clear sentence. Used by the catalogue and contract forms.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField

_SPACES = re.compile(r"[\s\u00a0\u202f']")
_SUFFIXES = ("zł", "zl", "pln", "%", "gb")


def _clean_number(raw: str) -> str:
    text = _SPACES.sub("", raw or "").lower()
    for suffix in _SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text.replace(",", ".")


class DecimalInput(StringField):
    """A decimal number; None when empty."""

    def __init__(self, label=None, validators=None, message=None, **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault("inputmode", "decimal")
        super().__init__(label, validators, **kwargs)
        self.message = message or _l("Enter a number such as 49.99.")

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = _clean_number(valuelist[0])
        self.data = None
        if not text:
            return
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(self.message) from None
        if not value.is_finite() or len(text) > 20:
            raise ValueError(self.message)
        self.data = value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else format(Decimal(self.data), "f")


class IntegerInput(StringField):
    """A whole number; None when empty."""

    def __init__(self, label=None, validators=None, message=None, **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault("inputmode", "numeric")
        super().__init__(label, validators, **kwargs)
        self.message = message or _l("Enter a whole number.")

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = _SPACES.sub("", valuelist[0] or "")
        self.data = None
        if not text:
            return
        if not re.fullmatch(r"-?\d{1,12}", text):
            raise ValueError(self.message)
        self.data = int(text)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class DateInput(DateField):
    """A date from the browser's date picker (YYYY-MM-DD) or typed as DD.MM.YYYY; None when
    empty."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%d", "%d.%m.%Y"])
        kwargs.setdefault("invalid_value_message", _l("Enter a date such as 31.12.2026."))
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist or not " ".join(valuelist).strip():
            self.data = None
            return
        super().process_formdata([" ".join(valuelist).strip()])

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.isoformat() if self.data else ""


def show_refusal(form, err, aliases: dict[str, str] | None = None) -> str:
    """Put a service's refusal on the field it names (``aliases`` maps service field names to
    form field names), or over the form when no visible field matches. A refusal that lists
    several fields (``details["errors"]``) puts each message on its own field."""
    errors = err.details.get("errors") or {err.field: err.message}
    for service_field, message in errors.items():
        name = (aliases or {}).get(service_field, service_field) if service_field else None
        field = getattr(form, name, None) if name else None
        if field is not None and not field.flags.hidden and hasattr(field, "errors"):
            field.errors = [*field.errors, str(message)]
        else:
            form.form_errors.append(str(message))
    return err.text
