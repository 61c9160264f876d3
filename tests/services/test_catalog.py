"""The catalogue's rules: codes and SKUs unique whatever the case, money and rates in range,
sale dates in order, and photos that are really pictures."""

from __future__ import annotations

import io
import os
from datetime import date
from decimal import Decimal

import pytest
from PIL import Image

from models import AuditEvent, ProductKind
from services import ServiceError, catalog
from services.audit import Actor
from services.catalog import ProductInput, TariffInput
from tests.fleet_factories import make_handset, make_tariff

ACTOR = Actor("staff", 1, "sprzedaz@operator.example")


def picture(fmt: str = "PNG", size=(64, 48)) -> bytes:
    """A small picture of noise (so it does not compress to nothing)."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, fmt)
    return out.getvalue()


def tariff_input(**kw) -> TariffInput:
    values = {"code": "biz-xl", "name": "Biznes XL", "monthly_fee": Decimal("99.99")}
    return TariffInput(**{**values, **kw})


def product_input(**kw) -> ProductInput:
    values = {
        "kind": ProductKind.handset,
        "sku": "apl-ip17-256",
        "name": "iPhone 17 256 GB",
        "list_price": Decimal("4999.00"),
        "manufacturer": "Apple",
    }
    return ProductInput(**{**values, **kw})


def refusal(fn, *args) -> ServiceError:
    with pytest.raises(ServiceError) as err:
        fn(*args)
    return err.value


def test_tariff_is_created_with_upper_case_code_rates_and_audit(db):
    t = catalog.create_tariff(
        db,
        ACTOR,
        tariff_input(
            included_minutes=None,
            included_sms=0,
            included_data_mb=51200,
            rates={"rate_voice_world": Decimal("4.5"), "rate_data_eu_mb": Decimal("0.0123")},
            valid_from=date(2026, 1, 1),
        ),
    )
    assert t.code == "BIZ-XL"
    assert (t.included_minutes, t.included_sms, t.included_data_mb) == (None, 0, 51200)
    assert t.rate_voice_world == Decimal("4.5000") and t.rate_data_eu_mb == Decimal("0.0123")
    assert t.rate_sms_domestic == Decimal("0.20")  # not given: the operator's standard rate
    event = db.query(AuditEvent).filter_by(action="catalog.tariff_created").one()
    assert event.after["code"] == "BIZ-XL"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "BIZ XL"}, "code"),
        ({"name": "   "}, "name"),
        ({"monthly_fee": None}, "monthly_fee"),
        ({"monthly_fee": Decimal("-1")}, "monthly_fee"),
        ({"monthly_fee": Decimal("9.999")}, "monthly_fee"),
        ({"monthly_fee": Decimal("1e12")}, "monthly_fee"),
        ({"included_minutes": -5}, "included_minutes"),
        ({"rates": {"rate_voice_eu": Decimal("0.12345")}}, "rate_voice_eu"),
        ({"rates": {"rate_voice_eu": Decimal("-0.01")}}, "rate_voice_eu"),
        ({"valid_from": date(2026, 5, 1), "valid_to": date(2026, 4, 30)}, "valid_to"),
    ],
)
def test_bad_tariff_input_is_refused_on_its_field(db, changes, field):
    err = refusal(catalog.create_tariff, db, ACTOR, tariff_input(**changes))
    assert err.field == field


def test_tariff_code_is_unique_whatever_the_case(db):
    make_tariff(db, code="BIZ-M")
    err = refusal(catalog.create_tariff, db, ACTOR, tariff_input(code="biz-m"))
    assert err.field == "code" and "BIZ-M" in err.text
    other = make_tariff(db, code="BIZ-S")
    err = refusal(catalog.update_tariff, db, ACTOR, other, tariff_input(code="Biz-M"))
    assert err.field == "code"
    # Its own code is no clash.
    catalog.update_tariff(db, ACTOR, other, tariff_input(code="biz-s", name="Biznes S+"))
    assert other.name == "Biznes S+"


def test_tariff_change_is_audited_with_what_changed(db):
    t = make_tariff(db, code="BIZ-L", name="Biznes L", fee="79.99")
    catalog.update_tariff(
        db, ACTOR, t, tariff_input(code="BIZ-L", name="Biznes L", monthly_fee=Decimal("74.99"))
    )
    event = db.query(AuditEvent).filter_by(action="catalog.tariff_changed").one()
    assert event.before["monthly_fee"] == "79.99" and event.after["monthly_fee"] == "74.99"
    assert "name" not in event.after


def test_product_sku_is_unique_and_price_checked(db):
    make_handset(db, name="Galaxy")
    p = catalog.create_product(db, ACTOR, product_input())
    assert p.sku == "APL-IP17-256" and p.kind == ProductKind.handset
    assert refusal(catalog.create_product, db, ACTOR, product_input()).field == "sku"
    assert (
        refusal(
            catalog.create_product, db, ACTOR, product_input(sku="X1", list_price=Decimal("-0.01"))
        ).field
        == "list_price"
    )
    assert refusal(
        catalog.create_product, db, ACTOR, product_input(sku="X2", kind="phone")
    ).field == ("kind")
    err = refusal(
        catalog.create_product,
        db,
        ACTOR,
        product_input(sku="X3", valid_from=date(2026, 3, 1), valid_to=date(2026, 2, 1)),
    )
    assert err.field == "valid_to"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_real_pictures_are_stored_in_the_file_store(db, rt, fmt):
    p = make_handset(db)
    data = picture(fmt)
    path = catalog.set_product_photo(db, ACTOR, rt.files, p, data)
    assert p.photo_path == path and path.startswith("products/")
    assert path.endswith({"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}[fmt])
    assert rt.files.path(path).read_bytes() == data
    assert catalog.photo_mimetype(path) == f"image/{fmt.lower()}"


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a" + b"\x00" * 100,  # a real format, not one we accept
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"\x89PNG\r\n\x1a\n" + b"this is not a picture at all" * 10,  # the right magic only
        picture("PNG")[:200],  # a truncated picture
        b"MZ\x90\x00" + b"\x00" * 500,  # a program renamed .jpg
    ],
)
def test_fake_or_broken_pictures_are_refused(db, rt, data):
    p = make_handset(db)
    err = refusal(catalog.set_product_photo, db, ACTOR, rt.files, p, data)
    assert err.field == "photo" and "JPEG, PNG or WebP" in err.text
    assert p.photo_path is None


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_pictures_are_refused_even_after_a_pdf_was_rendered(db, rt, fmt):
    from core.pdf import render_pdf

    render_pdf("<p>WeasyPrint is imported now.</p>")  # it relaxes Pillow's truncation check
    p = make_handset(db)
    whole = picture(fmt, size=(120, 90))
    err = refusal(catalog.set_product_photo, db, ACTOR, rt.files, p, whole[: len(whole) // 2])
    assert err.field == "photo"


def test_picture_over_two_megabytes_is_refused(db, rt):
    p = make_handset(db)
    big = picture("PNG") + b"\x00" * (2 * 1024 * 1024)
    err = refusal(catalog.set_product_photo, db, ACTOR, rt.files, p, big)
    assert "2 MB" in err.text


def test_sniffing_reads_the_bytes_not_the_name():
    assert catalog.sniff_image(picture("JPEG")) == "jpeg"
    assert catalog.sniff_image(picture("PNG")) == "png"
    assert catalog.sniff_image(picture("WEBP")) == "webp"
    assert catalog.sniff_image(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
