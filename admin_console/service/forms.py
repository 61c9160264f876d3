"""Forms of service requests in the console. The rules live in services/service_requests.py;
the fields run the same checks so every wrong field shows at once."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from admin_console.customers.forms import strip
from core.forms import ServiceRequestForm as RequestForm  # shared with the portal
from services import service_requests as svc

__all__ = ["NoteForm", "RequestForm", "StateForm"]


class StateForm(FlaskForm):
    # Checked by the service (with a clear message), not by WTForms' generic one.
    state = SelectField(_l("New state"), choices=[], validate_choice=False)
    note = TextAreaField(
        _l("Note for the customer"),
        validators=[Length(max=svc.NOTE_MAX)],
        filters=[strip],
        description=_l("Optional. The customer sees it with the change."),
        render_kw={"rows": 3, "maxlength": svc.NOTE_MAX},
    )

    def set_choices(self, req) -> None:
        self.state.choices = [(s.value, str(svc.STATE_LABELS[s])) for s in svc.allowed_states(req)]


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Note"),
        validators=[DataRequired(_l("Write the note.")), Length(max=svc.NOTE_MAX)],
        filters=[strip],
        render_kw={"rows": 3, "maxlength": svc.NOTE_MAX},
    )
    internal = BooleanField(_l("Internal (the customer does not see it)"), default=True)
