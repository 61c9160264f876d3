"""Forms of the fleet pages. Choices that depend on the customer (units, tariffs) are filled
in by the views; what the choices *mean* is checked by services.fleet, which answers with a
message for the field."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length, Optional

from portal.fleet.labels import ACTION_LABELS, COLUMNS, SERVICE_LABELS
from services import ServiceError
from services.employees import NewEmployee
from services.fleet import Change

# A service's field name -> the form's field that shows its message.
FIELD_OF = {
    "full_name": "new_name",
    "email": "new_email",
    "position": "new_position",
    "employee_id": "employee_q",
    "on": "on",
}


def _choices(pairs) -> list[SelectChoice]:
    """A "Choose…" placeholder, then (value, label) pairs."""
    return [SelectChoice("", _l("Choose…"))] + [SelectChoice(str(v), label) for v, label in pairs]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ChangeForm(FlaskForm):
    """One change for one line or many. Only the fields the chosen action needs are read."""

    action = SelectField(
        _l("Change"),
        choices=_choices(ACTION_LABELS.items()),
        validate_choice=False,
    )
    unit_id = SelectField(_l("Move to unit"), choices=[], validate_choice=False)
    employee_q = StringField(
        _l("Employee"),
        validators=[Optional(), Length(max=100)],
        filters=[_strip],
        description=_l("Type part of the name or e-mail address."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    employee_id = HiddenField()
    new_name = StringField(_l("Full name"), filters=[_strip], render_kw={"maxlength": 200})
    new_email = StringField(
        _l("E-mail (optional)"), filters=[_strip], render_kw={"maxlength": 254, "type": "email"}
    )
    new_position = StringField(
        _l("Position (optional)"), filters=[_strip], render_kw={"maxlength": 120}
    )
    tariff_id = SelectField(_l("New tariff plan"), choices=[], validate_choice=False)
    service = SelectField(
        _l("Service"),
        choices=_choices(SERVICE_LABELS.items()),
        validate_choice=False,
    )
    on = SelectField(
        _l("Turn"),
        choices=[SelectChoice("on", _l("on")), SelectChoice("off", _l("off"))],
        validate_choice=False,
    )
    limit = StringField(
        _l("Monthly limit (PLN)"),
        filters=[_strip],
        description=_l("Leave empty for no limit."),
        render_kw={"inputmode": "decimal", "maxlength": 12, "autocomplete": "off"},
    )

    def set_choices(self, tariff_options) -> None:
        """The tariff plans to offer. (Units are many: the templates list them.)"""
        self.tariff_id.choices = _choices(tariff_options)

    def add_error(self, err: ServiceError) -> None:
        """Show a service's refusal on its field (or above the form)."""
        name = FIELD_OF.get(err.field, err.field)
        field = getattr(self, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), err.text]
        else:
            self.form_errors.append(err.text)

    def employee_id_value(self) -> int | None:
        return _int(self.employee_id.data)

    def to_change(self, employee_id: int | None = None) -> Change:
        """The change asked for; ServiceError for a value that is not even well-formed."""
        action = self.action.data or ""
        if action == "limit":
            return Change(action, limit=parse_amount(self.limit.data))
        if action == "assign_new":
            return Change(
                action,
                new_employee=NewEmployee(
                    full_name=self.new_name.data or "",
                    email=self.new_email.data or None,
                    position=self.new_position.data or None,
                ),
            )
        return Change(
            action,
            unit_id=_int(self.unit_id.data),
            employee_id=employee_id,
            tariff_id=_int(self.tariff_id.data),
            service=self.service.data or None,
            on={"on": True, "off": False}.get(self.on.data or ""),
        )


def _int(raw) -> int | None:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**63 else None


def parse_amount(raw: str | None) -> Decimal | None:
    """ "150", "150,50", "1 500.00 zł" -> Decimal; empty -> None (no limit)."""
    text = re.sub(r"(?i)\s|zł|pln", "", raw or "").replace(",", ".")
    if not text:
        return None
    if not re.fullmatch(r"-?\d{1,9}(\.\d{1,2})?", text):
        raise ServiceError(
            _l("Enter the limit as an amount in PLN, e.g. 150 or 150,50."), field="limit"
        )
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern above rules this out
        raise ServiceError(_l("Enter the limit as an amount in PLN."), field="limit") from exc


class ColumnsForm(FlaskForm):
    columns = SelectMultipleField(
        choices=[SelectChoice(key, label) for key, (label, _sort) in COLUMNS.items()],
        validate_choice=False,
    )
    back = HiddenField()
