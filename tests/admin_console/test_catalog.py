"""The catalogue in the console: sales administrators change it, account managers read it, and
every form refuses bad input with a message on the field and nothing saved."""

from __future__ import annotations

import io
import os
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from models import Product, ProductKind, StaffRole, StockLevel, TariffPlan, Warehouse
from tests.conftest import csrf_token, login_console, post_form
from tests.factories import PASSWORD, make_staff
from tests.fleet_factories import make_handset, make_tariff


def picture(fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (40, 40), os.urandom(40 * 40 * 3)).save(out, fmt)
    return out.getvalue()


def sign_in(client, db, role):
    staff = make_staff(db, role)
    login_console(client, staff.email, PASSWORD)
    client.get("/admin/lang/en")
    return staff


@pytest.fixture
def sales(client, db):
    return sign_in(client, db, StaffRole.sales_admin)


TARIFF_FORM = {
    "code": "biz-xl",
    "name": "Biznes XL",
    "monthly_fee": "149,99",
    "included_minutes": "",
    "included_sms": "1 000",
    "included_data_gb": "0,5",
    "description": "Dla zarządu",
    "rate_voice_domestic": "0,29",
    "rate_sms_domestic": "0.2",
    "rate_mms_domestic": "0.4",
    "rate_data_domestic_mb": "0.01",
    "rate_voice_eu": "0.29",
    "rate_data_eu_mb": "0.0123",
    "rate_voice_world": "6.99",
    "rate_sms_world": "1.29",
    "rate_data_world_mb": "15",
    "valid_from": "2026-01-01",
    "valid_to": "",
    "is_active": "y",
}

PRODUCT_FORM = {
    "kind": "handset",
    "sku": "fair-5",
    "manufacturer": "Fairphone",
    "name": "Fairphone 5 256 GB",
    "list_price": "2 799,00",
    "description": "Modularny, naprawialny.",
    "valid_from": "",
    "valid_to": "",
    "is_active": "y",
}


def test_sales_admin_adds_a_tariff_typed_the_polish_way(client, db, sales):
    r = post_form(client, "/admin/catalog/tariffs/new", TARIFF_FORM)
    assert r.status_code == 302
    t = db.scalar(select(TariffPlan).where(TariffPlan.code == "BIZ-XL"))
    assert t.monthly_fee == Decimal("149.99")
    assert (t.included_minutes, t.included_sms, t.included_data_mb) == (None, 1000, 512)
    assert t.rate_data_eu_mb == Decimal("0.0123")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Biznes XL" in page and "PLN149.99" in page.replace("\xa0", "")
    assert "unlimited minutes" in page and "512 MB" in page
    listing = client.get("/admin/catalog/").get_data(as_text=True)
    assert "BIZ-XL" in listing


def test_edit_form_shows_data_in_gigabytes(client, db, sales):
    t = make_tariff(db, code="BIZ-M")  # 10240 MB
    page = client.get(f"/admin/catalog/tariffs/{t.id}/edit").get_data(as_text=True)
    assert 'name="included_data_gb"' in page and 'value="10"' in page
    r = post_form(
        client,
        f"/admin/catalog/tariffs/{t.id}/edit",
        {**TARIFF_FORM, "code": "BIZ-M", "included_data_gb": "30", "is_active": ""},
    )
    assert r.status_code == 302
    db.refresh(t)
    assert t.included_data_mb == 30 * 1024 and t.is_active is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("monthly_fee", "-10", "cannot be negative"),
        ("monthly_fee", "abc", "Enter an amount such as 49.99."),
        ("monthly_fee", "", "Enter the monthly fee."),
        ("included_sms", "dużo", "Enter a whole number."),
        ("included_minutes", "-1", "cannot be negative"),
        ("included_data_gb", "-2", "cannot be negative"),
        ("rate_voice_eu", "0,12345", "at most 4 decimal places"),
        ("rate_voice_eu", "x", "Enter a rate such as 0.2900."),
        ("code", "BIZ XL!", "Use letters, digits"),
        ("valid_to", "2025-12-31", "The last day of sale is before the first one."),
        ("valid_from", "31/31/2026", "Enter a date such as 31.12.2026."),
    ],
)
def test_bad_tariff_input_is_refused_with_a_clear_message(client, db, sales, field, value, message):
    r = post_form(client, "/admin/catalog/tariffs/new", {**TARIFF_FORM, field: value})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert message in page
    assert f'id="{field}-errors"' in page  # the message sits on its field
    assert db.scalar(select(TariffPlan).where(TariffPlan.code == "BIZ-XL")) is None


def test_duplicate_tariff_code_is_refused_with_every_other_mistake_at_once(client, db, sales):
    make_tariff(db, code="BIZ-XL")
    form = {**TARIFF_FORM, "monthly_fee": "-1", "valid_to": "2025-01-01"}
    r = post_form(client, "/admin/catalog/tariffs/new", form)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "Another tariff already has the code BIZ-XL." in page
    for field in ("code", "monthly_fee", "valid_to"):
        assert f'id="{field}-errors"' in page


def test_sales_admin_adds_a_product_with_a_photo_served_to_staff(client, db, sales):
    data = picture("JPEG")
    r = post_form(
        client,
        "/admin/catalog/products/new",
        {**PRODUCT_FORM, "photo": (io.BytesIO(data), "fairphone.jpg")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    p = db.scalar(select(Product).where(Product.sku == "FAIR-5"))
    assert p.list_price == Decimal("2799.00") and p.kind == ProductKind.handset
    photo = client.get(f"/admin/catalog/products/{p.id}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.data == data
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    # Not to someone who is not signed in to the console.
    client.post("/admin/logout", data={"csrf_token": csrf_token(client.get("/admin/").text)})
    assert client.get(f"/admin/catalog/products/{p.id}/photo").status_code == 302


def test_replacing_and_removing_the_photo(client, db, rt, sales):
    p = make_handset(db)
    post_form(
        client,
        f"/admin/catalog/products/{p.id}/edit",
        {**PRODUCT_FORM, "sku": p.sku, "photo": (io.BytesIO(picture("PNG")), "a.png")},
        content_type="multipart/form-data",
    )
    db.refresh(p)
    first = p.photo_path
    post_form(
        client,
        f"/admin/catalog/products/{p.id}/edit",
        {**PRODUCT_FORM, "sku": p.sku, "photo": (io.BytesIO(picture("WEBP")), "b.webp")},
        content_type="multipart/form-data",
    )
    db.refresh(p)
    assert p.photo_path != first and p.photo_path.endswith(".webp")
    assert not rt.files.path(first).exists()  # the old file went once the change committed
    second = p.photo_path
    r = post_form(
        client,
        f"/admin/catalog/products/{p.id}/edit",
        {**PRODUCT_FORM, "sku": p.sku, "remove_photo": "y"},
    )
    assert r.status_code == 302
    db.refresh(p)
    assert p.photo_path is None and not rt.files.path(second).exists()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        ((b"%PDF-1.7 not a picture", "photo.jpg"), "not a JPEG, PNG or WebP picture"),
        ((b"\xff\xd8\xff" + b"junk" * 50, "photo.jpg"), "not a JPEG, PNG or WebP picture"),
        ((b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024 + 10), "big.png"), "larger than 2 MB"),
    ],
)
def test_fake_or_oversized_photo_is_refused_and_nothing_saved(client, db, sales, upload, message):
    data, name = upload
    r = post_form(
        client,
        "/admin/catalog/products/new",
        {**PRODUCT_FORM, "photo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    r.request.environ["wsgi.input"].close()  # the test client spools big bodies to a file
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert message in page and 'id="photo-errors"' in page
    assert db.scalar(select(Product).where(Product.sku == "FAIR-5")) is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("list_price", "-1", "cannot be negative"),
        ("list_price", "dwa tysiące", "Enter an amount such as 1999.00."),
        ("kind", "spaceship", "Choose the kind of product."),
        ("sku", "", "Enter the SKU."),
        ("name", "", "Enter the product&#39;s name."),
    ],
)
def test_bad_product_input_is_refused(client, db, sales, field, value, message):
    r = post_form(client, "/admin/catalog/products/new", {**PRODUCT_FORM, field: value})
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)


def test_duplicate_sku_and_reversed_dates_are_refused(client, db, sales):
    existing = make_handset(db)
    r = post_form(
        client, "/admin/catalog/products/new", {**PRODUCT_FORM, "sku": existing.sku.lower()}
    )
    assert r.status_code == 422
    assert f"Another product already has the SKU {existing.sku}." in r.get_data(as_text=True)
    r = post_form(
        client,
        "/admin/catalog/products/new",
        {**PRODUCT_FORM, "valid_from": "2026-06-01", "valid_to": "2026-05-01"},
    )
    assert r.status_code == 422
    assert "The last day of sale is before the first one." in r.get_data(as_text=True)


def test_account_manager_reads_but_may_not_change_the_catalogue(client, db):
    t = make_tariff(db)
    p = make_handset(db)
    sign_in(client, db, StaffRole.account_manager)
    assert client.get("/admin/catalog/").status_code == 200
    assert client.get(f"/admin/catalog/tariffs/{t.id}").status_code == 200
    page = client.get(f"/admin/catalog/products/{p.id}").get_data(as_text=True)
    assert p.name in page and f"/admin/catalog/products/{p.id}/edit" not in page
    for url in (
        "/admin/catalog/tariffs/new",
        f"/admin/catalog/tariffs/{t.id}/edit",
        "/admin/catalog/products/new",
        f"/admin/catalog/products/{p.id}/edit",
    ):
        assert client.get(url).status_code == 403, url
    token = csrf_token(client.get("/admin/catalog/").get_data(as_text=True))
    r = client.post(
        f"/admin/catalog/tariffs/{t.id}/edit", data={**TARIFF_FORM, "csrf_token": token}
    )
    assert r.status_code == 403
    db.refresh(t)
    assert t.code != "BIZ-XL"


def test_products_filter_by_kind_and_search_and_show_stock(client, db, sales):
    phone = make_handset(db, name="Galaxy S25")
    db.add(Product(sku="ACC-1", kind=ProductKind.accessory, name="Etui Galaxy", list_price=9))
    store = Warehouse(code="WAW", name="Warszawa")
    db.add(store)
    db.flush()
    db.add(StockLevel(product_id=phone.id, warehouse_id=store.id, on_hand=15, reserved=4))
    db.flush()
    page = client.get("/admin/catalog/products?kind=handset").get_data(as_text=True)
    assert "Galaxy S25" in page and "Etui Galaxy" not in page
    assert ">11<" in page and "15 on hand, 4 reserved" in page  # available beside the product
    page = client.get("/admin/catalog/products?q=etui").get_data(as_text=True)
    assert "Etui Galaxy" in page and "Galaxy S25" not in page
    detail = client.get(f"/admin/catalog/products/{phone.id}").get_data(as_text=True)
    assert "Warszawa" in detail


def test_unknown_ids_are_404(client, db, sales):
    assert client.get("/admin/catalog/tariffs/999999").status_code == 404
    assert client.get("/admin/catalog/products/999999/photo").status_code == 404
    p = make_handset(db)
    assert client.get(f"/admin/catalog/products/{p.id}/photo").status_code == 404  # no photo
