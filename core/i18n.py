"""Translatable text for code outside the web layer (services, jobs).

Messages are lazy: they are translated when shown, in the language of the request that shows
them (Polish by default); outside a request they read as their English source. Babel extracts
``_l`` (gettext) and ``_ln`` (ngettext: singular, plural, count as ``n``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext, lazy_ngettext


def _l(message: str, **params):
    return lazy_gettext(message, **params)


def _ln(singular: str, plural: str, n: int, **params):
    return lazy_ngettext(singular, plural, n, **params)
