"""Forms of the portal's sign-in pages beyond the sign-in itself (core/forms.py has that)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from services.passwords import MIN_LENGTH


class SetPasswordForm(FlaskForm):
    """A new password, typed twice. The rules (length, not the e-mail) are checked again by
    services.account_links.set_password; also used by the console's staff invitation page."""

    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Enter a password.")),
            Length(
                min=MIN_LENGTH,
                max=200,
                message=_l("The password needs at least %(n)d characters.", n=MIN_LENGTH),
            ),
        ],
        description=_l(
            "At least %(n)d characters. A few unrelated words are easy to remember and hard "
            "to guess.",
            n=MIN_LENGTH,
        ),
        render_kw={"autocomplete": "new-password", "autofocus": True, "minlength": MIN_LENGTH},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(_l("Repeat the password.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Email(_l("This is not a valid e-mail address."), check_deliverability=False),
            Length(max=254),
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
