"""Translatable text for code outside the web layer (services, jobs).

Messages are lazy: they are translated when shown, in the language of the request that shows
them (Polish by default); outside a request they read as their English source. Babel extracts
``_l`` (gettext), ``_ln`` (ngettext: singular, plural, count as ``n``) and ``lazy_pgettext``
(a message with its context, when one English word needs two Polish ones).
"""

from __future__ import annotations

from flask_babel import lazy_gettext, lazy_ngettext, lazy_pgettext

__all__ = ["_l", "_ln", "lazy_pgettext"]


def _l(message: str, **params):
    return lazy_gettext(message, **params)


def _ln(singular: str, plural: str, n: int, **params):
    return lazy_ngettext(singular, plural, n, **params)


def in_locale(locale: str | None):
    """A context in which lazy messages read in ``locale`` (mail to a given recipient)."""
    from contextlib import nullcontext

    from flask import current_app, has_app_context
    from flask_babel import force_locale

    if not has_app_context():  # outside the app, messages read as their English source
        return nullcontext()
    return force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"])


def money_text(value) -> str:
    """An amount in PLN as the current language writes it."""
    from decimal import Decimal

    from babel.numbers import format_currency as babel_currency
    from flask import has_app_context
    from flask_babel import format_currency

    if not has_app_context():
        return babel_currency(Decimal(value), "PLN", locale="en")
    return format_currency(Decimal(value), "PLN")
