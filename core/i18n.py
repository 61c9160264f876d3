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
