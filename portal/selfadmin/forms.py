"""Forms of the fleet admin's self-service pages. The policy form is read rule by rule from
``services.policies.RULES`` (the service checks the values)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length


class CsrfForm(FlaskForm):
    """Buttons that post nothing but the token (approve, invite)."""


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Length(max=500)])


class PolicyForm(FlaskForm):
    """The rule fields are named after the rules (``rule:<key>``, with ``set:<key>`` checked
    when the unit sets the rule itself); the view reads them from the request and the service
    checks them."""
