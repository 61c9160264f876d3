"""The cart: what a user is about to order, kept on the server (Redis) for the sign-in session.

The Flask session holds only a random token per user (``session["carts"][user id]``); the items
live in a Redis hash whose key names the customer, the user and that token, so a token copied
into another user's session finds nothing. Each item is plain data (kind, ids, quantity, params)
and is trusted for nothing: the cart page and the checkout check and price every item again
through services.order_items. The hash expires with the session (8 hours after the last change).

Fields of the hash: ``i:<item id>`` -> the item as JSON, ``note`` -> the note for the order,
``rev`` -> a counter raised by every change (the checkout form carries it, so an order is
placed only from the cart the user last saw, and only once).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field

from flask import session
from flask_login import current_user

from core.web import runtime
from models import LineKind
from services.order_items import MAX_LINES, CartItem, as_id

TTL = 8 * 3600
CLAIM_TTL = 60
MERGED = (LineKind.handset.value, LineKind.accessory.value)  # same product: one position


@dataclass
class StoredItem:
    id: str
    kind: str
    quantity: int = 1
    product_id: int | None = None
    tariff_id: int | None = None
    line_id: int | None = None
    params: dict = field(default_factory=dict)
    added: float = 0.0

    def as_cart_item(self) -> CartItem:
        return CartItem(
            kind=self.kind,
            quantity=self.quantity,
            product_id=self.product_id,
            tariff_id=self.tariff_id,
            line_id=self.line_id,
            params=dict(self.params),
        )


def _parse(item_id: str, raw: bytes) -> StoredItem:
    """An item as stored; anything unreadable becomes an item the checks refuse."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        return StoredItem(id=item_id, kind="")
    params = data.get("params")
    quantity = data.get("quantity")
    added = data.get("added")
    return StoredItem(
        id=item_id,
        kind=data.get("kind") if isinstance(data.get("kind"), str) else "",
        quantity=quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else 0,
        product_id=as_id(data.get("product_id")) or None,
        tariff_id=as_id(data.get("tariff_id")) or None,
        line_id=as_id(data.get("line_id")) or None,
        params=params if isinstance(params, dict) else {},
        added=added if isinstance(added, int | float) else 0.0,
    )


class Cart:
    """The signed-in user's cart."""

    def __init__(self, create: bool = False) -> None:
        user = current_user
        carts = session.get("carts")
        token = carts.get(str(user.id)) if isinstance(carts, dict) else None
        if not (isinstance(token, str) and token.isalnum() and len(token) == 32):
            token = None
        if token is None and create:
            token = secrets.token_hex(16)
            session["carts"] = {**(carts if isinstance(carts, dict) else {}), str(user.id): token}
        self.key = f"asystent:cart:{user.customer_id}:{user.id}:{token}" if token else None
        self.redis = runtime().redis

    # --- reading ---------------------------------------------------------------------------

    def _all(self) -> dict[bytes, bytes]:
        return self.redis.hgetall(self.key) if self.key else {}

    def items(self) -> list[StoredItem]:
        found = [_parse(k.decode()[2:], v) for k, v in self._all().items() if k.startswith(b"i:")]
        return sorted(found, key=lambda i: (i.added, i.id))

    def count(self) -> int:
        if not self.key:
            return 0
        return sum(1 for k in self.redis.hkeys(self.key) if k.startswith(b"i:"))

    def note(self) -> str:
        raw = self.redis.hget(self.key, "note") if self.key else None
        return raw.decode(errors="replace") if raw else ""

    def revision(self) -> int:
        raw = self.redis.hget(self.key, "rev") if self.key else None
        return int(raw) if raw and raw.isdigit() else 0

    def get(self, item_id: str) -> StoredItem | None:
        raw = self.redis.hget(self.key, f"i:{item_id}") if self.key else None
        return _parse(item_id, raw) if raw is not None else None

    # --- changing --------------------------------------------------------------------------

    def _touch(self, pipe) -> None:
        pipe.hincrby(self.key, "rev", 1)
        pipe.expire(self.key, TTL)

    def _save(self, item: StoredItem) -> None:
        data = asdict(item)
        data.pop("id")
        pipe = self.redis.pipeline()
        pipe.hset(self.key, f"i:{item.id}", json.dumps(data, separators=(",", ":")))
        self._touch(pipe)
        pipe.execute()

    def is_full(self) -> bool:
        return self.count() >= MAX_LINES

    def add(self, item: CartItem) -> StoredItem:
        """Put an item in the cart (checked by the caller); a product already there as a
        handset or accessory gets the quantity added."""
        if item.kind in MERGED:
            for existing in self.items():
                if existing.kind == item.kind and existing.product_id == item.product_id:
                    existing.quantity += item.quantity
                    self._save(existing)
                    return existing
        stored = StoredItem(
            id=secrets.token_hex(4),
            kind=item.kind,
            quantity=item.quantity,
            product_id=item.product_id,
            tariff_id=item.tariff_id,
            line_id=item.line_id,
            params=dict(item.params),
            added=time.time(),
        )
        self._save(stored)
        return stored

    def set_quantity(self, item_id: str, quantity: int) -> None:
        item = self.get(item_id)
        if item is not None and item.quantity != quantity:
            item.quantity = quantity
            self._save(item)

    def remove(self, item_id: str) -> bool:
        if not self.key:
            return False
        pipe = self.redis.pipeline()
        pipe.hdel(self.key, f"i:{item_id}")
        self._touch(pipe)
        removed, *_ = pipe.execute()
        return bool(removed)

    def set_note(self, text: str) -> None:
        if not self.key or text == self.note():
            return
        pipe = self.redis.pipeline()
        if text:
            pipe.hset(self.key, "note", text)
        else:
            pipe.hdel(self.key, "note")
        self._touch(pipe)
        pipe.execute()

    def clear(self) -> None:
        """Empty the cart. The revision goes on counting: the next cart must not reuse the
        revision of an order already placed (``claim`` would take it for that order)."""
        if self.key:
            pipe = self.redis.pipeline()
            pipe.delete(self.key)
            pipe.hset(self.key, "rev", self.revision() + 1)
            pipe.expire(self.key, TTL)
            pipe.execute()

    # --- placing it once -------------------------------------------------------------------

    def claim(self, revision: int) -> str | None:
        """Take the right to place the order of this revision: None when this request has it;
        otherwise what the request that has it left ("pending", or the id of its order)."""
        name = f"{self.key}:placed:{revision}"
        if self.redis.set(name, "pending", nx=True, ex=CLAIM_TTL):
            return None
        raw = self.redis.get(name)
        return raw.decode() if raw else "pending"

    def placed(self, revision: int, order_id: int) -> None:
        self.redis.set(f"{self.key}:placed:{revision}", str(order_id), ex=CLAIM_TTL * 10)

    def unclaim(self, revision: int) -> None:
        self.redis.delete(f"{self.key}:placed:{revision}")
