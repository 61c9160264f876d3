"""Forms of the console's e-mail pages. The rules (placeholders, recipients, limits) are in
services/mail_templates.py and services/mail_compose.py; these forms carry the input."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from models import ContactRole, PortalRole
from services.mail_templates import BODY_MAX, NAME_MAX, SUBJECT_MAX

CONTACT_ROLE_LABELS = {
    ContactRole.decision_maker.value: _l("Decision makers"),
    ContactRole.fleet_admin.value: _l("Fleet administrators"),
    ContactRole.finance.value: _l("Finance"),
    ContactRole.technical.value: _l("Technical"),
    ContactRole.other.value: _l("Other contacts"),
}
PORTAL_ROLE_LABELS = {
    PortalRole.fleet_admin.value: _l("Fleet administrators"),
    PortalRole.employee.value: _l("Employees"),
    PortalRole.viewer.value: _l("Viewers (read only)"),
}
ALL_CONTACTS = "all"


def strip(value):
    return value.strip() if isinstance(value, str) else value


def rstrip(value):
    return value.rstrip() if isinstance(value, str) else value


MAX_ID = 2**63 - 1


def int_or_none(value) -> int | None:
    """An id from a form or a query string: 1 … 2^63-1, anything else None (never a database
    error for an absurd number)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


def _subject():
    return StringField(
        _l("Subject"),
        validators=[Length(max=SUBJECT_MAX)],
        filters=[strip],
        render_kw={"maxlength": SUBJECT_MAX, "autocomplete": "off"},
    )


def _body():
    return TextAreaField(
        _l("Message"),
        validators=[Length(max=BODY_MAX)],
        filters=[rstrip],
        render_kw={"rows": 14, "maxlength": BODY_MAX, "spellcheck": "true"},
    )


class TemplateForm(FlaskForm):
    """A template's name, subject and text. Empty fields and bad placeholders are refused by
    the service, with the message on the field."""

    name = StringField(
        _l("Name"),
        validators=[Length(max=NAME_MAX)],
        filters=[strip],
        description=_l("For you and your colleagues; customers do not see it."),
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
    )
    subject = _subject()
    body = _body()
    preview_customer = SelectField(
        _l("Preview for"), coerce=int_or_none, validate_choice=False, choices=[]
    )


class PreviewForm(FlaskForm):
    """The live preview on the template page (sent by htmx as the text changes)."""

    subject = _subject()
    body = _body()
    preview_customer = SelectField(coerce=int_or_none, validate_choice=False, choices=[])


class ComposeForm(FlaskForm):
    """Writing to customers. The chosen customers are plain checkboxes named ``customer``
    (read by the view through the scope); the rest is here."""

    q = StringField(
        _l("Find customers"),
        validators=[Length(max=100)],
        filters=[strip],
        render_kw={"maxlength": 100, "autocomplete": "off", "type": "search"},
    )
    contact_roles = SelectMultipleField(
        _l("Contacts"),
        choices=[
            SelectChoice(value, label)
            for value, label in [(ALL_CONTACTS, _l("All contacts")), *CONTACT_ROLE_LABELS.items()]
        ],
    )
    portal_roles = SelectMultipleField(
        _l("Portal users"),
        choices=[SelectChoice(v, label) for v, label in PORTAL_ROLE_LABELS.items()],
    )
    template_id = SelectField(_l("Template"), coerce=int_or_none, validate_choice=False, choices=[])
    subject = _subject()
    body = _body()
    # One key per message being written: a second "Send" with the same key (a double click,
    # the browser's Back and Send again) is refused instead of sending everything twice.
    send_key = HiddenField(validators=[Length(max=64)])

    def contact_role_set(self) -> set[ContactRole]:
        chosen = set(self.contact_roles.data or ())
        if ALL_CONTACTS in chosen:
            return set(ContactRole)
        return {ContactRole(v) for v in chosen if v in CONTACT_ROLE_LABELS}

    def portal_role_set(self) -> set[PortalRole]:
        return {PortalRole(v) for v in self.portal_roles.data or () if v in PORTAL_ROLE_LABELS}


class ActionForm(FlaskForm):
    """Buttons that only need the CSRF token (retry, activate/deactivate)."""
