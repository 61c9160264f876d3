"""The ERP pushes deliveries: token required, all-or-nothing, a repeated notice adds nothing."""

from __future__ import annotations

from sqlalchemy import select

from integrations.warehouse import parse_csv
from models import StockLevel, Warehouse
from services import stock_admin
from services.audit import Actor
from tests.conftest import WAREHOUSE_TOKEN
from tests.fleet_factories import make_handset

URL = "/admin/api/warehouse/receipts"
AUTH = {"Authorization": f"Bearer {WAREHOUSE_TOKEN}"}


def _setup(db):
    phone = make_handset(db)
    db.add(Warehouse(code="STR", name="Stryków"))
    db.flush()
    return phone


def _on_hand(db, product) -> int:
    db.expire_all()
    return sum(db.scalars(select(StockLevel.on_hand).where(StockLevel.product_id == product.id)))


def test_push_records_a_delivery_once(client, db):
    phone = _setup(db)
    body = {
        "receipts": [
            {"warehouse": "str", "sku": phone.sku, "quantity": 30, "reference": "WZ/2026/42"}
        ]
    }
    r = client.post(URL, json=body, headers=AUTH)
    assert r.status_code == 200 and r.get_json()["receipts"][0]["created"] is True
    r = client.post(URL, json=body, headers=AUTH)
    assert r.status_code == 200 and r.get_json()["receipts"][0]["created"] is False
    assert _on_hand(db, phone) == 30


def test_push_needs_the_token(client, db):
    phone = _setup(db)
    body = {"receipts": [{"warehouse": "STR", "sku": phone.sku, "quantity": 1, "reference": "X"}]}
    assert client.post(URL, json=body).status_code == 401
    assert client.post(URL, json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert _on_hand(db, phone) == 0


def test_bad_push_changes_nothing(client, db):
    phone = _setup(db)
    good = {"warehouse": "STR", "sku": phone.sku, "quantity": 5, "reference": "A"}
    for body in (
        {"receipts": [good, {**good, "sku": "NO-SUCH", "reference": "B"}]},
        {"receipts": [good, {**good, "quantity": -3, "reference": "C"}]},
        {"receipts": [good, {**good, "quantity": "5", "reference": "D"}]},
        {"receipts": []},
        ["not", "an", "object"],
    ):
        r = client.post(URL, json=body, headers=AUTH)
        assert r.status_code == 400, body
        assert r.get_json()["error"]
    r = client.post(URL, data="{broken", headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert _on_hand(db, phone) == 0


def test_a_document_line_counts_once_whatever_the_channel(client, db):
    """Typed in the console, then pushed by the ERP: the same delivery note line is one
    delivery; its second line, with the same product, is another."""
    phone = _setup(db)
    warehouse = db.scalar(select(Warehouse).where(Warehouse.code == "STR"))
    staff = Actor("staff", 1, "magazyn@operator.example")
    _receipt, created = stock_admin.receive_document(
        db, staff, product=phone, warehouse=warehouse, quantity=5, reference="WZ/7"
    )
    assert created and _on_hand(db, phone) == 5
    body = {
        "receipts": [
            {"warehouse": "STR", "sku": phone.sku, "quantity": 5, "reference": "WZ/7"},
            {"warehouse": "STR", "sku": phone.sku, "quantity": 3, "reference": "WZ/7", "line": 2},
        ]
    }
    r = client.post(URL, json=body, headers=AUTH)
    assert r.status_code == 200
    assert [x["created"] for x in r.get_json()["receipts"]] == [False, True]
    assert _on_hand(db, phone) == 8
    notices, errors = parse_csv(
        f"magazyn;indeks;ilość;dokument;pozycja\nSTR;{phone.sku};3;WZ/7;2\n"
        f"STR;{phone.sku};4;WZ/7;3\n".encode()
    )
    assert not errors and [n.line for n in notices] == [2, 3]
    checked = stock_admin.check_notices(db, notices, [2, 3])
    assert [c.status for c in checked] == ["repeated", "new"]
    stock_admin.apply_notices(db, staff, checked)
    assert _on_hand(db, phone) == 12
    r = client.post(URL, json={"receipts": [{**body["receipts"][1], "line": 0}]}, headers=AUTH)
    assert r.status_code == 400 and "line" in r.get_json()["error"]
