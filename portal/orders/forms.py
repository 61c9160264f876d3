"""Forms of the order pages: the buttons (CSRF only) and the rejection with its reason."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ActionForm(FlaskForm):
    """Approve, cancel: a button and the CSRF token."""


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for rejecting"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Give the reason for rejecting the order.")),
            Length(max=500, message=_l("The reason is too long (at most 500 characters).")),
        ],
        description=_l("Whoever placed the order sees it on the order's page."),
        render_kw={"rows": 2, "maxlength": 500},
    )
