from __future__ import annotations

from flask import Blueprint

bp = Blueprint("phonebook", __name__, url_prefix="/phonebook")
