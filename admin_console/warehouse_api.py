"""The warehouse push: the ERP reports deliveries as JSON, authenticated by a bearer token.

POST /admin/api/warehouse/receipts
    Authorization: Bearer <WAREHOUSE_API_TOKEN>
    {"receipts": [{"warehouse": "STR", "sku": "APL-IP16P-256", "quantity": 30,
                   "reference": "WZ/2026/11/0042"}]}
200: {"receipts": [{"reference": …, "created": true|false, …}]} — false: already recorded.
400: {"error": "…"} and nothing recorded. 401: wrong token. 404: the push is not configured.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, abort, jsonify, request

from core.web import commit, db, runtime
from integrations.warehouse import ReceiptNotice
from services import ServiceError, stock
from services.audit import Actor

bp = Blueprint("warehouse_api", __name__, url_prefix="/api/warehouse")
MAX_RECEIPTS = 1000


def _authorised() -> bool:
    token = runtime().settings.warehouse_api_token
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    return given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode())


def _notices(payload) -> list[ReceiptNotice]:
    if not isinstance(payload, dict) or not isinstance(payload.get("receipts"), list):
        raise ValueError('the body must be {"receipts": [...]}')
    items = payload["receipts"]
    if not 1 <= len(items) <= MAX_RECEIPTS:
        raise ValueError(f"send between 1 and {MAX_RECEIPTS} receipts")
    notices = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"receipt {i}: not an object")
        qty = item.get("quantity")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            raise ValueError(f"receipt {i}: quantity must be a positive integer")
        fields = [item.get(k) for k in ("warehouse", "sku", "reference")]
        if not all(isinstance(v, str) and v.strip() and len(v) <= 80 for v in fields):
            raise ValueError(f"receipt {i}: warehouse, sku and reference are required text")
        line = item.get("line", 1)
        if not isinstance(line, int) or isinstance(line, bool) or not 1 <= line <= 9999:
            raise ValueError(f"receipt {i}: line must be an integer from 1 to 9999")
        notices.append(
            ReceiptNotice(
                fields[0].strip().upper(), fields[1].strip().upper(), qty, fields[2].strip(), line
            )
        )
    return notices


@bp.route("/receipts", methods=["POST"])
def receipts():
    if not _authorised():
        return jsonify(error="unauthorised"), 401
    try:
        notices = _notices(request.get_json(silent=True))
        results = stock.receive_notices(
            db(), Actor("system", None, "warehouse-api", request.remote_addr), notices, "warehouse"
        )
    except ValueError as exc:
        return jsonify(error=str(exc)), 400
    except ServiceError as exc:
        return jsonify(error=exc.text), 400
    commit()
    return jsonify(receipts=results)
