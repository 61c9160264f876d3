"""Forms of service requests in the portal; opening one uses the form shared with the console
(core.forms.ServiceRequestForm)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from core.forms import ServiceRequestForm
from services.service_requests import NOTE_MAX

__all__ = ["CommentForm", "ServiceRequestForm"]


class CommentForm(FlaskForm):
    body = TextAreaField(
        _l("Add information"),
        validators=[DataRequired(_l("Write the note.")), Length(max=NOTE_MAX)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        render_kw={"rows": 3, "maxlength": NOTE_MAX},
    )
