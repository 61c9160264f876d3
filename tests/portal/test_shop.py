"""The shop as a fleet administrator uses it: the catalogue with contract prices and live stock,
the cart (server-side, checked again at checkout), new lines with pool, chosen and ported
numbers, handset exchanges, and bad or tampered input that must create nothing."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import (
    Line,
    LineKind,
    LineStatus,
    NumberStatus,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    PoolNumber,
    PortalRole,
    Product,
    ProductKind,
    StockExpectation,
    StockLevel,
    Warehouse,
)
from services import contracts as ct
from services import orders
from services.audit import Actor
from services.contracts import today
from services.fleet import FleetScope
from tests.conftest import csrf_token, login_portal
from tests.factories import PASSWORD, make_customer, make_portal_user, make_staff, make_unit
from tests.fleet_factories import make_employee, make_handset, make_line, make_tariff

STAFF = Actor("staff", 1, "opiekun@operator.example")


def build_shop(db) -> dict:
    """Customer A under contract (approval above 6,000 PLN): a tariff, a sold-out phone with a
    delivery expected, a phone in stock, an accessory; departments Centrala > Sprzedaż, IT;
    lines; a number pool. Customer B: a unit and a line."""
    a = make_customer(db, name="Klient A")
    root = make_unit(db, a, "Centrala")
    sales = make_unit(db, a, "Sprzedaż", root)
    it = make_unit(db, a, "IT", root)
    tariff = make_tariff(db, name="Biznes M", fee="49.99")
    phone = make_handset(db, name="Fon Pro", price="3000.00")
    cheap = make_handset(db, name="Fon Lite", price="900.00")
    outside = make_handset(db, name="Fon Spoza", price="100.00")
    case = Product(
        sku=f"ACC-{phone.id}", kind=ProductKind.accessory, name="Etui", list_price=Decimal("50")
    )
    db.add(case)
    db.flush()
    contract = ct.create_draft(db, STAFF, a, valid_from=today() - timedelta(1), valid_to=None)
    version = ct.versions(db, contract)[0]
    ct.set_item(db, STAFF, contract, version, tariff=tariff, price=Decimal("40.00"))
    ct.set_item(db, STAFF, contract, version, product=phone, price=Decimal("2500.00"))
    ct.set_item(db, STAFF, contract, version, product=cheap)
    ct.set_item(db, STAFF, contract, version, product=case)
    ct.update_terms(
        db,
        STAFF,
        contract,
        version,
        subsidy_budget=Decimal("0"),
        approval_threshold=Decimal("6000"),
        repair_time_hours=None,
        response_time_hours=None,
        tariff_discount_percent=Decimal("0"),
        handset_discount_percent=Decimal("0"),
        accessory_discount_percent=Decimal("0"),
    )
    ct.activate(db, STAFF, contract)
    warehouse = Warehouse(code=f"W{phone.id}", name="Stryków")
    db.add(warehouse)
    db.flush()
    db.add_all(
        [
            StockLevel(product_id=phone.id, warehouse_id=warehouse.id, on_hand=0, reserved=0),
            StockLevel(product_id=cheap.id, warehouse_id=warehouse.id, on_hand=4, reserved=0),
            StockLevel(product_id=case.id, warehouse_id=warehouse.id, on_hand=80, reserved=0),
            StockExpectation(
                product_id=phone.id,
                warehouse_id=warehouse.id,
                quantity=10,
                expected_on=today() + timedelta(days=9),
            ),
        ]
    )
    numbers = [f"+4851200{i:04d}" for i in range(1, 6)]
    db.add_all([PoolNumber(msisdn=n, status=NumberStatus.free) for n in numbers])
    db.add(PoolNumber(msisdn="+48512777777", status=NumberStatus.free, is_golden=True))
    emp = make_employee(db, a, sales, name="Jan Handlowiec")
    b = make_customer(db, name="Klient B")
    b_unit = make_unit(db, b, "Obca centrala")
    make_staff(db)
    world = {
        "a": a,
        "b": b,
        "root": root,
        "sales": sales,
        "it": it,
        "b_unit": b_unit,
        "tariff": tariff,
        "phone": phone,
        "cheap": cheap,
        "outside": outside,
        "case": case,
        "warehouse": warehouse,
        "numbers": numbers,
        "sales_line": make_line(db, a, sales, tariff, emp, msisdn="+48601100200"),
        "it_line": make_line(db, a, it, tariff, msisdn="+48601100300"),
        "suspended": make_line(db, a, sales, tariff, status=LineStatus.suspended),
        "foreign_line": make_line(db, b, b_unit, tariff, msisdn="+48601100900"),
        "admin": make_portal_user(db, a, email="admin@a.example", full_name="Anna Admin"),
        "approver": make_portal_user(
            db, a, email="szef@a.example", full_name="Szymon Szef", can_approve_orders=True
        ),
        "it_admin": make_portal_user(db, a, scope_unit=it, email="it@a.example"),
        "viewer": make_portal_user(db, a, role=PortalRole.viewer, email="viewer@a.example"),
        "employee": make_portal_user(db, a, role=PortalRole.employee, email="emp@a.example"),
        "b_admin": make_portal_user(db, b, email="admin@b.example"),
    }
    return world


@pytest.fixture
def shop(db, redis_clean):
    return build_shop(db)


def sign_in(client, user):
    client.get("/lang/en")
    assert login_portal(client, user.email, PASSWORD).status_code == 302


def text(response) -> str:
    body = html.unescape(response.get_data(as_text=True)).replace("\xa0", " ")
    return re.sub(r"\s+", " ", body)


def plain(page: str) -> str:
    """The page's words without its tags."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace(" :", ":").replace(" .", ".")


def get(client, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code)
    return text(r)


def post(client, url: str, data: dict, form_url: str | None = None):
    page = client.get(form_url or url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})


def add_product(client, product, quantity="1"):
    return post(
        client, "/shop/add", {"product_id": product.id, "quantity": quantity}, form_url="/shop/"
    )


def add_line(client, shop, **fields):
    data = {"tariff_id": shop["tariff"].id, "unit_id": shop["sales"].id, "number": "pool"}
    return post(client, "/shop/new-line", {**data, **fields})


def cart_form(client) -> tuple[str, dict]:
    page = client.get("/shop/cart").get_data(as_text=True)
    rev = re.search(r'name="rev" type="hidden" value="(\d*)"', page)
    data = {"csrf_token": csrf_token(page), "rev": rev.group(1) if rev else ""}
    for name, value in re.findall(r'name="(qty-[0-9a-f]{8})"[^>]*value="([^"]*)"', page):
        data[name] = value
    return page, data


def checkout(client, **extra):
    _page, data = cart_form(client)
    return client.post("/shop/checkout", data={**data, **extra})


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_catalogue_shows_contract_prices_and_live_stock(client, db, shop):
    orders.place_order(  # someone is already waiting for the sold-out phone
        db,
        STAFF,
        shop["a"],
        FleetScope(shop["a"].id),
        [orders.CartItem("handset", 2, product_id=shop["phone"].id)],
        placed_by=shop["approver"],
    )
    sign_in(client, shop["admin"])
    page = get(client, "/shop/")
    assert "Fon Pro" in page and "PLN2,500.00" in page and "PLN3,000.00" in page
    assert "Fon Spoza" not in page  # not in the contract
    expected = (today() + timedelta(days=9)).strftime("%b %-d, %Y")
    assert (
        "Back-order: you would be number 2 in the queue (2 units ordered before you), "
        f"expected around {expected}" in page
    )
    assert "4 in stock" in page  # Fon Lite
    accessories = get(client, "/shop/accessories")
    assert "Etui" in accessories and "Available" in accessories and "Fon Pro" not in accessories


def test_viewers_and_employees_cannot_order(app, db, shop):
    for user in (shop["viewer"], shop["employee"]):
        client = app.test_client()
        client.get("/lang/en")
        token = csrf_token(client.get("/login").get_data(as_text=True))  # the session's token
        r = client.post(
            "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
        )
        assert r.status_code == 302
        for url in ("/shop/", "/shop/new-line", "/shop/exchange", "/shop/cart"):
            assert client.get(url).status_code == 403, url
        r = client.post("/shop/add", data={"csrf_token": token, "product_id": shop["phone"].id})
        assert r.status_code == 403
        assert client.post("/shop/checkout", data={"csrf_token": token}).status_code == 403
    assert count(db, Order) == 0


def test_handsets_and_accessories_through_the_cart(client, db, shop):
    sign_in(client, shop["admin"])
    r = add_product(client, shop["phone"], "2")
    assert r.status_code == 302 and r.headers["Location"] == "/shop/"
    assert "Added to your cart: Fon Pro × 2." in get(client, "/shop/")
    assert add_product(client, shop["case"], "3").headers["Location"] == "/shop/accessories"
    add_product(client, shop["case"], "1")  # the same accessory again: one position of 4
    page = get(client, "/shop/cart")
    assert page.count("data-cart-item=") == 2
    # 2 × 2,500.00 + 4 × 50.00 = 5,200.00 net; VAT 23 % = 1,196.00; gross 6,396.00
    assert 'data-total="net">PLN5,200.00' in page
    assert 'data-total="vat">PLN1,196.00' in page
    assert 'data-total="gross">PLN6,396.00' in page
    assert "waits for approval" not in page and "will wait for approval" not in page

    r = checkout(client, note="  Dostawa: recepcja, 3 piętro ")
    assert r.status_code == 302
    order = db.scalar(select(Order))
    assert r.headers["Location"] == f"/orders/{order.id}"
    assert order.state == OrderState.inProgress and order.total_net == Decimal("5200.00")
    assert order.placed_by_id == shop["admin"].id and order.note == "Dostawa: recepcja, 3 piętro"
    lines = db.scalars(select(OrderLine).order_by(OrderLine.id)).all()
    assert [(ln.product_id, ln.quantity, ln.unit_price, ln.state) for ln in lines] == [
        (shop["phone"].id, 2, Decimal("2500.00"), OrderLineState.waiting),
        (shop["case"].id, 4, Decimal("50.00"), OrderLineState.waiting),
    ]
    page = get(client, r.headers["Location"])
    assert f"Order {order.number} is placed." in page
    assert "Your cart is empty." in get(client, "/shop/cart")


def test_rounding_of_vat_is_half_up_to_the_grosz(client, db, shop):
    # 1,103.08 net (an 8 % discount of 1,199.00) -> VAT 253.7084 -> 253.71
    shop["cheap"].list_price = Decimal("1199.00")
    version = ct.versions(db, ct.active_contract(db, shop["a"].id))[0]
    version.handset_discount_percent = Decimal("8")
    db.flush()
    sign_in(client, shop["admin"])
    add_product(client, shop["cheap"], "1")
    page = get(client, "/shop/cart")
    assert 'data-total="net">PLN1,103.08' in page
    assert 'data-total="vat">PLN253.71' in page and 'data-total="gross">PLN1,356.79' in page


def test_new_lines_with_pool_chosen_and_ported_numbers(client, db, shop):
    sign_in(client, shop["admin"])
    page = get(client, "/shop/new-line")
    assert "+48 512 777 777" in page and "easy to remember" in page
    more = client.get("/shop/new-line/numbers", headers={"HX-Request": "true"})
    assert more.status_code == 200 and 'id="number-choices"' in more.get_data(as_text=True)
    assert client.get("/shop/new-line/numbers").headers["Location"] == "/shop/new-line"
    r = add_line(
        client,
        shop,
        employee_name="  Ola   Nowak ",
        employee_email="Ola.Nowak@Firma.example",
        employee_position="Handlowiec",
    )
    assert r.status_code == 302, text(r)
    r = add_line(client, shop, number="choose", msisdn="+48512777777", unit_id=shop["it"].id)
    assert r.status_code == 302, text(r)
    r = add_line(client, shop, number="port", port_msisdn="0048 603 123 456", port_from="Play")
    assert r.status_code == 302, text(r)
    # The chosen number is no longer offered to this cart's next line.
    assert "+48 512 777 777" not in get(client, "/shop/new-line")
    page = plain(get(client, "/shop/cart"))
    assert "Employee: Ola Nowak (Handlowiec, Ola.Nowak@firma.example)" in page
    assert "+48 512 777 777 (chosen)" in page and "+48 603 123 456, kept from Play" in page
    assert "New lines add PLN120.00 net a month to your invoices." in page

    r = checkout(client)
    assert r.status_code == 302, text(r)
    order = db.scalar(select(Order))
    lines = db.scalars(select(OrderLine).order_by(OrderLine.id)).all()
    assert [ln.state for ln in lines] == [OrderLineState.inProgress] * 3
    new = [db.get(Line, ln.line_id) for ln in lines]
    assert [n.msisdn for n in new] == [shop["numbers"][0], "+48512777777", "+48603123456"]
    assert {n.status for n in new} == {LineStatus.pendingActive}
    assert new[1].unit_id == shop["it"].id and new[0].employee_id is not None
    golden = db.scalar(select(PoolNumber).where(PoolNumber.msisdn == "+48512777777"))
    assert golden.status == NumberStatus.reserved and golden.order_line_id == lines[1].id
    page = plain(get(client, f"/orders/{order.id}"))
    assert "Being activated" in page and "+48 603 123 456" in page and "kept from Play" in page


def test_exchange_of_an_active_line_in_scope(client, db, shop):
    sign_in(client, shop["admin"])
    page = get(client, "/shop/exchange?q=Handlowiec")
    assert "+48 601 100 200" in page and "+48 601 100 900" not in page
    partial = client.get("/shop/exchange?q=601 100", headers={"HX-Request": "true"})
    found = partial.get_data(as_text=True)
    assert "<html" not in found and "+48 601 100 200" in found and "+48 601 100 300" in found
    assert "+48 601 100 900" not in found  # another customer's
    # Coming from a line's page: the line is picked already; someone else's is not shown.
    picked = get(client, f"/shop/exchange?line={shop['sales_line'].id}")
    assert re.search(rf'value="{shop["sales_line"].id}" form="exchange-form" checked', picked)
    assert "+48 601 100 900" not in get(client, f"/shop/exchange?line={shop['foreign_line'].id}")
    data = {"line_id": shop["sales_line"].id, "product_id": shop["phone"].id}
    r = post(client, "/shop/exchange", data)
    assert r.status_code == 302
    r = post(client, "/shop/exchange", data)
    assert r.status_code == 422 and "already in your cart for an exchange" in text(r)
    assert "Handset exchange: Fon Pro" in get(client, "/shop/cart")
    r = checkout(client)
    assert r.status_code == 302, text(r)
    line = db.scalar(select(OrderLine))
    assert line.kind == LineKind.exchange and line.line_id == shop["sales_line"].id
    assert line.state == OrderLineState.waiting and line.params["line_msisdn"] == "+48601100200"
    # The same line cannot get a second exchange while this one is open.
    r = post(client, "/shop/exchange", data)
    assert r.status_code == 422 and "already has a handset exchange on order" in text(r)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [("0", "Enter a whole number from 1 to 500."), ("1000", "from 1 to 500"), ("abc", "1 to 500")],
)
def test_bad_quantities_are_refused(client, db, shop, quantity, message):
    sign_in(client, shop["admin"])
    r = add_product(client, shop["phone"], quantity)
    assert r.status_code == 422 and message in text(r)
    assert 'aria-invalid="true"' in r.get_data(as_text=True)
    assert "Your cart is empty." in get(client, "/shop/cart")


def test_bad_items_are_refused_with_a_message_and_nothing_is_created(app, client, db, shop):
    sign_in(client, shop["admin"])
    cases = [
        (add_product(client, shop["outside"]), "This product is not in your offer."),
        (add_product(client, shop["phone"], "-1"), "Enter a whole number from 1 to 500."),
        (
            post(
                client,
                "/shop/exchange",
                {"line_id": shop["foreign_line"].id, "product_id": shop["phone"].id},
            ),
            "Choose an active line for the exchange.",
        ),
        (
            post(
                client,
                "/shop/exchange",
                {"line_id": shop["suspended"].id, "product_id": shop["phone"].id},
            ),
            "Choose an active line for the exchange.",
        ),
        (
            post(
                client,
                "/shop/exchange",
                {"line_id": shop["sales_line"].id, "product_id": shop["case"].id},
            ),
            "Only a handset can replace a handset.",
        ),
        (add_line(client, shop, unit_id=shop["b_unit"].id), "Choose the department"),
        (add_line(client, shop, tariff_id=make_tariff(db).id), "This tariff is not in your offer."),
        (add_line(client, shop, tariff_id=""), "Choose a tariff plan."),
        (add_line(client, shop, employee_name="X", employee_email="nie-mail"), "valid e-mail"),
        (add_line(client, shop, employee_email="a@b.example"), "Enter the employee's name."),
        (add_line(client, shop, number="choose"), "Choose one of the free numbers."),
        (add_line(client, shop, number="choose", msisdn="+48601100200"), "no longer available"),
        (add_line(client, shop, number="port", port_msisdn="12"), "phone number"),
        (
            add_line(client, shop, number="port", port_msisdn="+48601100900", port_from="Play"),
            "already one of our lines",
        ),
        (
            add_line(client, shop, number="port", port_msisdn="+48603000111"),
            "Enter the operator the number comes from.",
        ),
    ]
    for response, message in cases:
        assert response.status_code == 422, (message, response.status_code)
        assert message in text(response), message
    # A division's administrator: a line or a unit outside the division is refused too.
    it_client = app.test_client()
    sign_in(it_client, shop["it_admin"])
    r = post(
        it_client,
        "/shop/exchange",
        {"line_id": shop["sales_line"].id, "product_id": shop["phone"].id},
    )
    assert r.status_code == 422 and "Choose an active line for the exchange." in text(r)
    r = add_line(it_client, shop, unit_id=shop["sales"].id)
    assert r.status_code == 422 and "Choose the department for the new line." in text(r)
    assert "Your cart is empty." in get(client, "/shop/cart")
    assert "Your cart is empty." in get(it_client, "/shop/cart")
    assert count(db, Order) == 0 and count(db, OrderLine) == 0
    assert count(db, Line) == 4
