from __future__ import annotations

from flask import Blueprint

bp = Blueprint("offer", __name__, url_prefix="/offer")
