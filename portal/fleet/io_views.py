from __future__ import annotations

from flask import Blueprint

bp = Blueprint("fleet_io", __name__, url_prefix="/fleet")
