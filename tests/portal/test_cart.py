"""The cart: checked again at checkout whatever is stored in it, kept per user, changed in
place, placed once; the approval notice; a number taken between the cart and the checkout."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from models import NumberStatus, Order, OrderLine, OrderState, PoolNumber
from tests.portal.test_shop import (
    add_line,
    add_product,
    build_shop,
    cart_form,
    checkout,
    count,
    get,
    sign_in,
    text,
)


@pytest.fixture
def shop(db, redis_clean):
    return build_shop(db)


def _stored_cart(app, client) -> str:
    """The Redis key of the signed-in user's cart (an item is added first to create it)."""
    with client.session_transaction() as sess:
        ((user_id, token),) = sess["carts"].items()
        user = sess.get("_user_id")
    assert user.split(".")[0] == f"p{user_id}"  # "p12.0": account 12, session version 0
    keys = app.extensions["asystent.runtime"].redis.keys(f"asystent:cart:*:{user_id}:{token}")
    assert len(keys) == 1
    return keys[0].decode()


def test_tampered_cart_is_checked_again_at_checkout(app, client, db, shop, redis_clean):
    sign_in(client, shop["admin"])
    add_product(client, shop["case"], "1")
    key = _stored_cart(app, client)
    junk = {
        "i:0000000a": json.dumps(
            {"kind": "handset", "quantity": 1, "product_id": shop["outside"].id}
        ),
        "i:0000000b": json.dumps(
            {"kind": "handset", "quantity": 100000, "product_id": shop["phone"].id}
        ),
        "i:0000000c": json.dumps(
            {
                "kind": "exchange",
                "quantity": 1,
                "product_id": shop["phone"].id,
                "line_id": shop["foreign_line"].id,
            }
        ),
        "i:0000000d": json.dumps(
            {
                "kind": "activation",
                "quantity": 1,
                "tariff_id": shop["tariff"].id,
                "params": {"unit_id": "../1", "employee_name": ["x"]},
            }
        ),
        "i:0000000e": "{not json",
        "i:0000000f": json.dumps({"kind": "addon", "quantity": True, "product_id": "1; drop"}),
    }
    redis_clean.hset(key, mapping=junk)
    page = get(client, "/shop/cart")
    for message in (
        "This product is not in your offer.",
        "The quantity must be between 1 and 500.",
        "Choose an active line for the exchange.",
        "Choose the department for the new line.",
        "This is not something you can order.",
    ):
        assert message in page, message
    assert "Klient B" not in page and "+48 601 100 900" not in page
    assert "Remove or correct the positions marked in red" in page
    r = checkout(client)
    assert r.status_code == 422 and "This product is not in your offer." in text(r)
    assert count(db, Order) == 0 and count(db, OrderLine) == 0
    # Removing the bad positions leaves an order that can be placed.
    _page, data = cart_form(client)
    for item in ("0000000a", "0000000b", "0000000c", "0000000d", "0000000e", "0000000f"):
        _page, data = cart_form(client)
        assert client.post(f"/shop/cart/{item}/remove", data=data).status_code == 302
    assert checkout(client).status_code == 302
    assert count(db, Order) == 1


def test_another_users_cart_token_finds_nothing(app, client, db, shop):
    sign_in(client, shop["admin"])
    add_product(client, shop["phone"], "3")
    with client.session_transaction() as sess:
        token = sess["carts"][str(shop["admin"].id)]
    other = app.test_client()
    sign_in(other, shop["approver"])
    with other.session_transaction() as sess:
        sess["carts"] = {str(shop["approver"].id): token}
    assert "Your cart is empty." in get(other, "/shop/cart")
    with other.session_transaction() as sess:
        sess["carts"] = ["not", "a", "dict"]
    assert "Your cart is empty." in get(other, "/shop/cart")
    assert add_product(other, shop["case"], "1").status_code == 302
    assert "Etui" in get(other, "/shop/cart") and "Fon Pro" not in get(other, "/shop/cart")


def test_quantities_note_and_removal_in_the_cart(client, db, shop):
    sign_in(client, shop["admin"])
    add_product(client, shop["phone"], "1")
    add_product(client, shop["case"], "2")
    page, data = cart_form(client)
    phone_field = next(k for k in data if k.startswith("qty-"))
    r = client.post("/shop/cart", data={**data, phone_field: "0", "note": "Pilne"})
    assert r.status_code == 422 and "Enter a whole number from 1 to 500." in text(r)
    assert 'value="0"' in r.get_data(as_text=True)  # what was typed stays on the page
    _page, data = cart_form(client)
    r = client.post("/shop/cart", data={**data, phone_field: "3", "note": "Pilne"})
    assert r.status_code == 302
    page = get(client, "/shop/cart")
    assert 'data-total="net">PLN7,600.00' in page and "Pilne" in page
    _page, data = cart_form(client)
    item = phone_field[4:]
    assert client.post(f"/shop/cart/{item}/remove", data=data).status_code == 302
    page = get(client, "/shop/cart")
    assert "Fon Pro" not in page and 'data-total="net">PLN100.00' in page
    assert client.post("/shop/cart/zzz/remove", data=data).status_code == 404


def test_the_cart_shows_who_must_approve_and_the_order_waits(client, db, shop):
    sign_in(client, shop["admin"])
    add_product(client, shop["phone"], "3")  # 7,500.00 > 6,000.00
    page = get(client, "/shop/cart")
    assert "exceeds your contract's approval threshold of PLN6,000.00" in page
    assert "This order will wait for approval by Szymon Szef." in page
    r = checkout(client)
    order = db.scalar(select(Order))
    assert order.state == OrderState.pending
    assert "is placed and waits for approval" in get(client, r.headers["Location"])


def test_an_approver_alone_cannot_place_an_order_above_the_threshold(client, db, shop):
    sign_in(client, shop["approver"])
    add_product(client, shop["phone"], "3")
    assert "Nobody else in your company may approve orders" in get(client, "/shop/cart")
    r = checkout(client)
    assert r.status_code == 422 and "nobody else in your company may approve" in text(r)
    assert count(db, Order) == 0


def test_a_second_press_of_the_button_places_one_order(client, db, shop):
    sign_in(client, shop["admin"])
    add_product(client, shop["case"], "2")
    _page, data = cart_form(client)
    first = client.post("/shop/checkout", data=data)
    second = client.post("/shop/checkout", data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert "This order has already been placed." in get(client, second.headers["Location"])
    assert count(db, Order) == 1


def test_a_cart_changed_in_another_window_is_not_ordered_unseen(client, db, shop):
    sign_in(client, shop["admin"])
    add_product(client, shop["case"], "2")
    _page, data = cart_form(client)
    add_product(client, shop["phone"], "1")  # "another window"
    r = client.post("/shop/checkout", data=data)
    assert r.status_code == 422 and "Your cart was changed in another window" in text(r)
    assert count(db, Order) == 0
    assert checkout(client).status_code == 302
    assert {ln.product_id for ln in db.scalars(select(OrderLine))} == {
        shop["case"].id,
        shop["phone"].id,
    }


def test_a_number_taken_meanwhile_refuses_the_order(client, db, shop):
    sign_in(client, shop["admin"])
    add_line(client, shop, number="choose", msisdn=shop["numbers"][2])
    db.execute(  # another customer's order took it a moment ago
        PoolNumber.__table__.update()
        .where(PoolNumber.msisdn == shop["numbers"][2])
        .values(status=NumberStatus.reserved)
    )
    r = checkout(client)
    assert r.status_code == 422
    assert "This number is no longer available; choose another." in text(r)
    assert count(db, Order) == 0


def test_the_next_cart_is_a_new_order_even_when_it_looks_the_same(client, db, shop):
    sign_in(client, shop["admin"])
    add_product(client, shop["case"], "2")
    first = checkout(client)
    assert first.status_code == 302
    add_product(client, shop["case"], "2")  # the same cart again, as many changes as before
    second = checkout(client)
    assert second.status_code == 302
    assert second.headers["Location"] != first.headers["Location"]
    assert "This order has already been placed." not in get(client, second.headers["Location"])
    assert count(db, Order) == 2
