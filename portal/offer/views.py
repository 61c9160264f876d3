"""The published offer: what the customer may order today and at what price.

With an active contract: exactly the contract's items at the contract's prices, the list price
struck through beside them. Without one: the operator's standard offer at list prices. Fleet
administrators and viewers read it; employees have their own pages (403).

Product photos are served only for products in this customer's offer today; any other photo
name answers 404, so no customer learns what another's contract includes.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from core.web import db, runtime
from models import ProductKind
from portal import scope
from services.catalog import PHOTO_FOLDER, photo_mimetype
from services.contracts import today
from services.offer import offer_for

bp = Blueprint("offer", __name__, url_prefix="/offer")

PHOTO_NAME = re.compile(r"^[0-9a-f]{16,64}\.(jpg|png|webp)$")
SECTIONS = (
    (ProductKind.handset, "bi-phone", _l("Handsets")),
    (ProductKind.accessory, "bi-headphones", _l("Accessories")),
    (ProductKind.addon, "bi-stars", _l("Add-on services")),
)


@bp.app_template_filter("datefmt")
def datefmt(value: date | None, fmt: str = "medium") -> str:
    return format_date(value, fmt) if value else "—"


@bp.route("/")
@login_required
def index():
    scope.require_fleet_reader()
    on = today()
    offer = offer_for(db(), current_user.customer_id, on)
    return render_template(
        "portal/offer/index.html",
        offer=offer,
        sections=[(kind, icon, title, offer.products(kind)) for kind, icon, title in SECTIONS],
        on=on,
    )


@bp.route("/photos/<name>")
@login_required
def photo(name: str):
    """A product photo by its file name, only if the product is in this customer's offer."""
    scope.require_fleet_reader()
    if not PHOTO_NAME.match(name):
        abort(404)
    relative = f"{PHOTO_FOLDER}/{name}"
    offer = offer_for(db(), current_user.customer_id, today())
    if not any(item.product.photo_path == relative for item in offer.products()):
        abort(404)
    path = runtime().files.path(relative)
    if not path.is_file():
        abort(404)
    response = Response(path.read_bytes(), mimetype=photo_mimetype(relative))
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = "inline"
    response.add_etag()
    return response.make_conditional(request)
