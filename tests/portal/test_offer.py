"""The published offer in the portal: exactly what the active contract allows, at its prices
with the list price beside them; the standard offer without a contract; photos only for
products in the customer's own offer."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image

from models import PortalRole, Product, ProductKind
from services import catalog
from services import contracts as ct
from services.audit import Actor
from tests.conftest import login_portal
from tests.factories import PASSWORD, make_customer, make_portal_user
from tests.fleet_factories import make_handset, make_tariff

SYSTEM = Actor.system("test")


def picture() -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (32, 32), os.urandom(32 * 32 * 3)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def shop(db, rt):
    t_m = make_tariff(db, code="BIZ-M", name="Biznes M", fee="49.99")
    t_l = make_tariff(db, code="BIZ-L", name="Biznes L", fee="79.99")
    galaxy = make_handset(db, name="Galaxy S25", price="4299.00")
    iphone = make_handset(db, name="iPhone 16", price="3999.00")
    case = Product(
        sku="ACC-CASE", kind=ProductKind.accessory, name="Etui", list_price=Decimal("100.00")
    )
    withdrawn = Product(
        sku="OLD-1",
        kind=ProductKind.handset,
        name="Nokia 3310",
        list_price=Decimal("99.00"),
        is_active=False,
    )
    db.add_all([case, withdrawn])
    db.flush()
    catalog.set_product_photo(db, SYSTEM, rt.files, galaxy, picture())
    catalog.set_product_photo(db, SYSTEM, rt.files, iphone, picture())
    return locals()


def offer_items(html: str) -> set[str]:
    return set(re.findall(r'data-offer-item="([a-z]+-\d+)"', html))


def signed_contract(db, customer, shop):
    contract = ct.create_draft(
        db, SYSTEM, customer, valid_from=ct.today() - timedelta(days=1), valid_to=None
    )
    version = ct.versions(db, contract)[0]
    ct.set_item(db, SYSTEM, contract, version, tariff=shop["t_m"], price=Decimal("39.00"))
    ct.set_item(
        db, SYSTEM, contract, version, product=shop["galaxy"], discount_percent=Decimal("10")
    )
    ct.set_item(db, SYSTEM, contract, version, product=shop["case"])
    ct.update_terms(
        db,
        SYSTEM,
        contract,
        version,
        subsidy_budget=Decimal("0"),
        approval_threshold=None,
        repair_time_hours=None,
        response_time_hours=None,
        tariff_discount_percent=Decimal("0"),
        handset_discount_percent=Decimal("0"),
        accessory_discount_percent=Decimal("20"),
    )
    ct.activate(db, SYSTEM, contract)
    return contract


def open_offer(client, db, customer, role=PortalRole.fleet_admin):
    user = make_portal_user(db, customer, role=role)
    login_portal(client, user.email, PASSWORD)
    client.get("/lang/en")
    return client.get("/offer/")


def test_contract_customer_sees_exactly_its_items_at_its_prices(client, db, shop):
    customer = make_customer(db)
    contract = signed_contract(db, customer, shop)
    r = open_offer(client, db, customer)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert offer_items(html) == {
        f"tariff-{shop['t_m'].id}",
        f"product-{shop['galaxy'].id}",
        f"product-{shop['case'].id}",
    }
    assert f"Contract {contract.number}" in html and "Version 1" in html
    assert "Standard offer" not in html
    flat = html.replace("\xa0", "").replace(" ", "")
    # Contract price, the list price struck through beside it, and the saving.
    assert "PLN39.00" in flat and "<del>PLN49.99</del>" in flat and "yousavePLN10.99" in flat
    assert "PLN3,869.10" in flat and "<del>PLN4,299.00</del>" in flat  # 10 % off
    assert "PLN80.00" in flat and "<del>PLN100.00</del>" in flat  # the accessory discount
    assert "iPhone 16" not in html and "Biznes L" not in html


def test_without_a_contract_the_standard_offer_at_list_prices(client, db, shop):
    customer = make_customer(db)
    html = open_offer(client, db, customer).get_data(as_text=True)
    assert "Standard offer" in html
    items = offer_items(html)
    expected = {
        f"tariff-{shop['t_m'].id}",
        f"tariff-{shop['t_l'].id}",
        f"product-{shop['galaxy'].id}",
        f"product-{shop['iphone'].id}",
        f"product-{shop['case'].id}",
    }
    assert expected <= items
    assert f"product-{shop['withdrawn'].id}" not in items
    assert "<del>" not in html  # list prices only, nothing struck through


def test_another_customers_contract_changes_nothing_here(client, db, shop):
    signed_contract(db, make_customer(db), shop)
    html = open_offer(client, db, make_customer(db)).get_data(as_text=True)
    assert "Standard offer" in html and "PLN39.00" not in html.replace("\xa0", "")


def test_terminated_contract_falls_back_to_the_standard_offer(client, db, shop):
    customer = make_customer(db)
    contract = signed_contract(db, customer, shop)
    ct.terminate(db, SYSTEM, contract, "Koniec współpracy")
    html = open_offer(client, db, customer).get_data(as_text=True)
    assert "Standard offer" in html and f"product-{shop['iphone'].id}" in offer_items(html)


def test_a_product_withdrawn_after_signing_is_no_longer_offered(client, db, shop):
    customer = make_customer(db)
    signed_contract(db, customer, shop)
    shop["case"].is_active = False
    db.flush()
    items = offer_items(open_offer(client, db, customer).get_data(as_text=True))
    assert f"product-{shop['case'].id}" not in items and f"product-{shop['galaxy'].id}" in items


def test_viewer_reads_the_offer_and_employee_may_not(client, db, shop):
    customer = make_customer(db)
    assert open_offer(client, db, customer, PortalRole.viewer).status_code == 200
    client.post("/logout", data={"csrf_token": _token(client)})
    assert open_offer(client, db, customer, PortalRole.employee).status_code == 403


def _token(client):
    from tests.conftest import csrf_token

    return csrf_token(client.get("/offer/").get_data(as_text=True))


def test_photos_only_for_products_in_the_customers_offer(client, db, shop):
    customer = make_customer(db)
    signed_contract(db, customer, shop)
    html = open_offer(client, db, customer).get_data(as_text=True)
    galaxy = shop["galaxy"].photo_path.rsplit("/", 1)[1]
    iphone = shop["iphone"].photo_path.rsplit("/", 1)[1]
    assert f"/offer/photos/{galaxy}" in html
    r = client.get(f"/offer/photos/{galaxy}")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.data.startswith(b"\x89PNG")
    # The iPhone is in the catalogue, but not in this customer's contract.
    assert client.get(f"/offer/photos/{iphone}").status_code == 404
    for name in ("..%2F..%2Fsecret_key", "nope.png", "0123456789abcdef0123.gif"):
        assert client.get(f"/offer/photos/{name}").status_code == 404


def test_photos_need_a_signed_in_portal_user(client, db, shop):
    name = shop["galaxy"].photo_path.rsplit("/", 1)[1]
    r = client.get(f"/offer/photos/{name}")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
