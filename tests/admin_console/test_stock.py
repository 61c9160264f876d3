"""Stock in the console: receiving (typed, from a file, from the simulator) serves the waiting
orders through a real worker; bad input and repeated documents change nothing; account
managers read every queue but change nothing and see other managers' customers anonymised."""

from __future__ import annotations

import email
import email.policy
import io
import os
import re
import subprocess
import sys
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from models import (
    MailStatus,
    OrderLine,
    OrderLineState,
    OutgoingMail,
    Product,
    ProductKind,
    StaffRole,
    StockExpectation,
    StockLevel,
    StockReceipt,
    Warehouse,
)
from models.base import utcnow
from services import orders, stock
from services.audit import Actor
from services.auth import new_totp_secret
from services.contract_versions import today
from services.fleet import FleetScope
from tests.conftest import csrf_token, login_console, post_form
from tests.factories import PASSWORD, make_customer, make_portal_user, make_staff
from tests.fleet_factories import make_handset

SYSTEM = Actor("system", None, "test")


def sign_in(client, db, role=StaffRole.sales_admin, **kw):
    staff = make_staff(db, role, **kw)
    login_console(client, staff.email, PASSWORD)
    client.get("/admin/lang/en")
    return staff


def make_warehouse(db, code="STR", active=True, priority=10):
    warehouse = Warehouse(code=code, name=f"Magazyn {code}", priority=priority, is_active=active)
    db.add(warehouse)
    db.flush()
    return warehouse


def place(db, customer, buyer, product, quantity=1):
    """A customer's order of ``quantity`` units, released: its line waits in the queue."""
    order = orders.place_order(
        db,
        Actor("portal", buyer.id, buyer.email),
        customer,
        FleetScope(customer.id),
        [orders.CartItem(product.kind.value, quantity, product_id=product.id)],
        placed_by=buyer,
    )
    line = db.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
    return order, line


def on_hand(db, product) -> int:
    db.expire_all()
    return sum(db.scalars(select(StockLevel.on_hand).where(StockLevel.product_id == product.id)))


def receipts(db) -> int:
    return db.scalar(select(func.count()).select_from(StockReceipt))


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.fixture
def world(db):
    return {
        "str": make_warehouse(db, "STR"),
        "closed": make_warehouse(db, "OLD", active=False, priority=50),
        "phone": make_handset(db, name="Telefon Testowy"),
    }


# --- receiving through the form, served by a real worker -------------------------------------


@pytest.fixture
def live_client(app, committed):
    return app.test_client()


@pytest.mark.worker
def test_received_stock_is_allocated_by_a_real_worker_and_the_customer_gets_mail(
    rt, committed, live_client
):
    warehouse = make_warehouse(committed)
    phone = make_handset(committed, name="Telefon Kolejkowy")
    customer = make_customer(committed)
    buyer = make_portal_user(committed, customer, email="zakupy@firma.example")
    order, line = place(committed, customer, buyer, phone, quantity=2)
    staff = make_staff(committed, StaffRole.sales_admin)
    ids = {"phone": phone.id, "warehouse": warehouse.id, "line": line.id, "order": order.number}
    staff_email = staff.email
    committed.commit()
    rt.redis.flushdb()  # the drain enqueued at placing found no stock; start clean

    login_console(live_client, staff_email, PASSWORD)
    live_client.get("/admin/lang/en")
    r = post_form(
        live_client,
        "/admin/stock/receive",
        {
            "product_id": ids["phone"],
            "warehouse_id": ids["warehouse"],
            "quantity": "2",
            "reference": "PZ/2026/11/0042",
        },
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/products/{ids['phone']}")
    committed.rollback()  # end our read: on SQLite it would hold the lock the worker needs
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "worker", "--burst", "--queues", "backorders,mail"],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    committed.expire_all()
    served = committed.get(OrderLine, ids["line"])
    assert served.state == OrderLineState.allocated and served.allocated_qty == 2
    mail = committed.scalar(select(OutgoingMail).where(OutgoingMail.recipient == buyer.email))
    assert mail is not None and mail.status == MailStatus.sent, proc.stderr[-3000:]
    assert ids["order"] in mail.subject
    outbox = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in (rt.settings.instance_path / "outbox").glob("*.eml")
    ]
    assert [m["To"] for m in outbox if ids["order"] in m["Subject"]] == [buyer.email]
    receipt = committed.scalar(select(StockReceipt))
    assert receipt.source == "console" and receipt.drained_at is not None
    assert receipt.received_by == staff_email
    committed.rollback()

    page = text_of(live_client.get(f"/admin/stock/products/{ids['phone']}"))
    allocated = page.split("data-allocated-table", 1)[1]
    assert ids["order"] in allocated
    assert "Nobody is waiting for this product." in page


# --- the receive form ------------------------------------------------------------------------


def receive_form(world, **over):
    data = {
        "product_id": world["phone"].id,
        "warehouse_id": world["str"].id,
        "quantity": "5",
        "reference": "PZ/1",
    }
    return {**data, **over}


def test_a_repeated_document_number_is_reported_and_adds_nothing(client, db, world):
    staff = sign_in(client, db)
    assert post_form(client, "/admin/stock/receive", receive_form(world)).status_code == 302
    r = post_form(client, "/admin/stock/receive", receive_form(world, quantity="7"))
    assert r.status_code == 409
    page = text_of(r)
    assert "Line 1 of delivery document PZ/1 was already recorded on" in page
    assert f"by {staff.email}" in page and "nothing was added" in page
    assert on_hand(db, world["phone"]) == 5 and receipts(db) == 1

    # The same document reported by the warehouse first is not typed in again either.
    stock.receive(
        db,
        SYSTEM,
        product=world["phone"],
        warehouse=world["str"],
        quantity=3,
        source="warehouse",
        reference="WZ/77",
    )
    r = post_form(client, "/admin/stock/receive", receive_form(world, reference=" WZ/77 "))
    assert r.status_code == 409 and "by test" in text_of(r)
    assert on_hand(db, world["phone"]) == 8 and receipts(db) == 2


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"quantity": "0"}, "quantity", "whole number from 1 to 100 000"),
        ({"quantity": "-1"}, "quantity", "whole number from 1 to 100 000"),
        ({"quantity": "100001"}, "quantity", "whole number from 1 to 100 000"),
        ({"quantity": "dwa"}, "quantity", "Enter the quantity as a whole number"),
        ({"quantity": "2.5"}, "quantity", "Enter the quantity as a whole number"),
        ({"quantity": ""}, "quantity", "whole number from 1 to 100 000"),
        ({"product_id": "999999"}, "product_id", "Choose a product from the list."),
        ({"product_id": "<script>"}, "product_id", "Choose a product from the list."),
        ({"warehouse_id": ""}, "warehouse_id", "Choose a warehouse from the list."),
        ({"warehouse_id": "closed"}, "warehouse_id", "This warehouse is closed."),
        ({"reference": "   "}, "reference", "Enter the delivery document number."),
        ({"reference": "X" * 81}, "reference", "at most 80 characters"),
    ],
)
def test_bad_input_is_refused_on_its_field_and_nothing_is_recorded(
    client, db, world, change, field, message
):
    sign_in(client, db)
    if change.get("warehouse_id") == "closed":
        change = {"warehouse_id": world["closed"].id}
    r = post_form(client, "/admin/stock/receive", receive_form(world, **change))
    assert r.status_code == 422
    page = text_of(r)
    assert f'id="{field}-errors"' in page and message in page
    assert receipts(db) == 0 and on_hand(db, world["phone"]) == 0


def test_a_service_cannot_be_received_into_stock(client, db, world):
    sign_in(client, db)
    addon = Product(sku="ADD-1", kind=ProductKind.addon, name="Usługa", list_price=1)
    db.add(addon)
    db.flush()
    r = post_form(client, "/admin/stock/receive", receive_form(world, product_id=addon.id))
    assert r.status_code == 422 and "Choose a product from the list." in text_of(r)
    assert receipts(db) == 0


# --- delivery-notice files and the simulator -----------------------------------------------


def upload(client, content: str, encoding="utf-8"):
    page = client.get("/admin/stock/import")
    data = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "file": (io.BytesIO(content.encode(encoding)), "dostawa.csv"),
    }
    return client.post("/admin/stock/import", data=data, content_type="multipart/form-data")


def test_a_file_is_recorded_all_or_nothing(client, db, world):
    sign_in(client, db)
    sku = world["phone"].sku
    bad = (
        "magazyn;indeks;ilość;dokument\n"
        f"STR;{sku};4;WZ/1\n"
        "STR;NIE-MA;1;WZ/2\n"
        f"OLD;{sku};1;WZ/3\n"
        f"STR;{sku};abc;WZ/4\n"
        f"STR;{sku};2;WZ/1\n"
    )
    r = upload(client, bad, "cp1250")
    assert r.status_code == 422
    page = text_of(r)
    assert "nothing has been recorded" in page
    assert "There is no product with SKU NIE-MA." in page
    assert "The warehouse OLD is closed." in page
    assert "Row 5: The quantity must be a whole number above zero." in page
    assert "appears more than once in the file" in page
    assert "Record the deliveries" not in page
    assert receipts(db) == 0

    good = f"warehouse,sku,quantity,reference\nstr,{sku.lower()},4,WZ/1\nSTR,{sku},6,WZ/2\n"
    r = upload(client, good)
    assert r.status_code == 200
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]{24})"', r.get_data(True))
    assert token and receipts(db) == 0  # the preview records nothing
    apply_page = r.get_data(as_text=True)
    r = client.post(
        "/admin/stock/import/apply",
        data={"csrf_token": csrf_token(apply_page), "token": token.group(1)},
    )
    assert r.status_code == 302 and "source=file" in r.headers["Location"]
    assert on_hand(db, world["phone"]) == 10 and receipts(db) == 2
    assert set(db.scalars(select(StockReceipt.source))) == {"file"}

    # The same file again: both deliveries are reported as recorded before, nothing added.
    r = upload(client, good)
    assert r.status_code == 422
    assert "Every delivery in the file has been recorded before" in text_of(r)
    # Applying the old preview once more finds it gone.
    r = client.post(
        "/admin/stock/import/apply",
        data={"csrf_token": csrf_token(apply_page), "token": token.group(1)},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/stock/import")
    assert on_hand(db, world["phone"]) == 10 and receipts(db) == 2


def test_files_that_are_not_delivery_notices_are_refused(client, db, world):
    sign_in(client, db)
    for content, message in (
        ("", "The file is empty."),
        ("nazwa;cena\nx;1\n", "Missing: warehouse, sku, quantity, reference."),
        ("warehouse;sku;quantity;reference\n", "The file has no deliveries."),
    ):
        r = upload(client, content)
        assert r.status_code == 422 and message in text_of(r), content
    assert receipts(db) == 0


def test_the_simulator_reports_deliveries_as_the_warehouse(client, db, world):
    sign_in(client, db)
    form = {
        "sim-product_id": world["phone"].id,
        "sim-warehouse_id": world["str"].id,
        "sim-quantity": "3",
    }
    for _ in range(2):
        r = post_form(client, "/admin/stock/simulate", form, form_url="/admin/stock/receive")
        assert r.status_code == 302
    recorded = list(db.scalars(select(StockReceipt).order_by(StockReceipt.id)))
    assert [(x.source, x.reference) for x in recorded] == [
        ("warehouse", "W-SIM/000001"),
        ("warehouse", "W-SIM/000002"),
    ]
    assert on_hand(db, world["phone"]) == 6
    r = post_form(
        client,
        "/admin/stock/simulate",
        {**form, "sim-quantity": "0"},
        form_url="/admin/stock/receive",
    )
    assert r.status_code == 422 and "whole number from 1 to 100 000" in text_of(r)
    assert on_hand(db, world["phone"]) == 6
    page = text_of(client.get("/admin/stock/receipts?source=warehouse"))
    assert "W-SIM/000002" in page and "simulator" in page


# --- roles -----------------------------------------------------------------------------------


FORMS_FOR_CHANGERS = {"stock.receive", "stock.import_file", "stock.new_expectation"}


def stock_routes(app, ids: dict) -> list[tuple[str, str, str]]:
    """Every stock route and method, from the URL map: a new route is covered by itself."""
    out = []
    for rule in app.wsgi_app.mounts["/admin"].url_map.iter_rules():
        if not rule.endpoint.startswith("stock."):
            continue
        url = "/admin" + re.sub(
            r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", lambda m: ids[m.group(1)], rule.rule
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, url, rule.endpoint))
    return out


def test_account_managers_read_everything_and_change_nothing(client, app, db, world):
    exp = StockExpectation(
        product_id=world["phone"].id,
        warehouse_id=world["str"].id,
        quantity=5,
        expected_on=today() + timedelta(days=3),
    )
    db.add(exp)
    db.flush()
    sign_in(client, db, StaffRole.account_manager)
    ids = {
        "product_id": str(world["phone"].id),
        "warehouse_id": str(world["str"].id),
        "expectation_id": str(exp.id),
        "order_line_id": "1",
        "action": "close",
    }
    routes = stock_routes(app, ids)
    assert len(routes) >= 20
    token = csrf_token(client.get("/admin/stock/").get_data(as_text=True))
    for method, url, endpoint in routes:
        if method == "GET":
            r = client.get(
                url + ("?waiting=1&kind=handset&q=tel" if url.endswith("/stock/") else "")
            )
            wanted = (
                403
                if endpoint in FORMS_FOR_CHANGERS or endpoint.endswith("edit_expectation")
                else 200
            )
            assert r.status_code == wanted, url
            if wanted == 200:
                assert "Receive stock" not in text_of(r) and "Mark shipped" not in text_of(r), url
        else:
            data = {**receive_form(world), "csrf_token": token, "code": "NEW", "name": "Nowy"}
            assert client.post(url, data=data).status_code == 403, url
    assert receipts(db) == 0
    assert db.scalar(select(func.count()).select_from(Warehouse)) == 2
    db.refresh(exp)
    assert exp.is_open and world["str"].is_active
    assert client.get(f"/admin/stock/products/{world['phone'].id + 1000}").status_code == 404


# --- the queues ------------------------------------------------------------------------------


def test_the_queue_is_listed_oldest_first_with_other_managers_customers_anonymised(
    client, db, world
):
    manager = sign_in(client, db, StaffRole.account_manager)
    other = make_staff(db, StaffRole.account_manager)
    mine = make_customer(db, name="Moja Firma S.A.", account_manager_id=manager.id)
    theirs = make_customer(db, name="Cudza Firma Sp. z o.o.", account_manager_id=other.id)
    buyers = {c.id: make_portal_user(db, c) for c in (mine, theirs)}
    phone = world["phone"]
    start = utcnow() - timedelta(days=3)
    placed = []
    for i, (customer, qty) in enumerate([(theirs, 2), (mine, 3), (theirs, 1), (mine, 4)]):
        order, line = place(db, customer, buyers[customer.id], phone, qty)
        line.queued_at = start + timedelta(hours=10 - i)  # placed later, waiting longer
        placed.append((order.number, line))
    db.add(
        StockExpectation(
            product_id=phone.id,
            warehouse_id=world["str"].id,
            quantity=6,
            expected_on=today() + timedelta(days=5),
        )
    )
    db.flush()

    page = text_of(client.get(f"/admin/stock/products/{phone.id}"))
    table = page.split("data-queue-table", 1)[1].split("</table>", 1)[0]
    numbers = re.findall(r"Z/\d{4}/\d{7}", table)
    assert numbers == [n for n, _line in reversed(placed)]  # oldest queued_at first
    assert "Moja Firma S.A." in table and "Cudza Firma" not in page
    assert table.count("another customer") == 2
    assert f'href="/admin/customers/{mine.id}"' in table
    assert f"/admin/customers/{theirs.id}" not in page
    # Each place is told the date the expected deliveries cover it, as customers are.
    expected = [stock.expected_date(db, phone.id, n) for n in (4, 5, 8, 10)]
    assert expected[:2] == [today() + timedelta(days=5)] * 2 and expected[2:] == [None, None]
    rows = table.split("<tr data-order-line")[1:]
    assert [("around" in row) for row in rows] == [True, True, False, False]
    assert "no delivery expected" in rows[3]

    summary = text_of(client.get("/admin/stock/queues"))
    assert phone.name in summary and "4 units without an expected delivery" in summary
    assert "3 days" in summary  # the longest wait


# --- expected deliveries, warehouses, shipping ----------------------------------------------


def test_expected_deliveries_are_added_changed_and_closed(client, db, world):
    sign_in(client, db)
    url = "/admin/stock/expected/new"
    good = {
        "product_id": world["phone"].id,
        "warehouse_id": world["str"].id,
        "quantity": "40",
        "expected_on": (today() + timedelta(days=10)).strftime("%d.%m.%Y"),
        "reference": "ZAM/1",
    }
    for change, message in (
        ({"expected_on": (today() - timedelta(days=1)).isoformat()}, "cannot be in the past"),
        ({"expected_on": "jutro"}, "Enter a date such as 31.12.2026."),
        ({"expected_on": ""}, "Enter the date the delivery is expected."),
        ({"quantity": "0"}, "whole number from 1 to 100 000"),
        ({"warehouse_id": world["closed"].id}, "Choose an open warehouse."),
    ):
        r = post_form(client, url, {**good, **change})
        assert r.status_code == 422 and message in text_of(r), change
    assert db.scalar(select(func.count()).select_from(StockExpectation)) == 0

    assert post_form(client, url, good).status_code == 302
    exp = db.scalar(select(StockExpectation))
    assert (exp.quantity, exp.expected_on, exp.reference) == (40, today() + timedelta(10), "ZAM/1")
    edit = f"/admin/stock/expected/{exp.id}/edit"
    assert post_form(client, edit, {**good, "quantity": "25"}).status_code == 302
    db.refresh(exp)
    assert exp.quantity == 25
    assert "ZAM/1" in text_of(client.get(f"/admin/stock/products/{world['phone'].id}"))

    r = post_form(
        client, f"/admin/stock/expected/{exp.id}/close", {}, form_url="/admin/stock/expected"
    )
    assert r.status_code == 302
    db.refresh(exp)
    assert not exp.is_open
    assert client.get(edit).status_code == 302  # a closed one no longer changes
    assert stock.expected_date(db, world["phone"].id, 1) is None


def test_warehouses_are_added_closed_and_reopened(client, db, world):
    sign_in(client, db)
    url = "/admin/stock/warehouses"
    r = post_form(client, url, {"code": "waw-2", "name": " Magazyn  Warszawa ", "priority": "30"})
    assert r.status_code == 302
    waw = db.scalar(select(Warehouse).where(Warehouse.code == "WAW-2"))
    assert waw.name == "Magazyn Warszawa" and waw.priority == 30 and waw.is_active
    for data, message in (
        ({"code": "str", "name": "X"}, "already exists"),
        ({"code": "A B", "name": "X"}, "The code has 1 to 20 letters"),
        ({"code": "NEW", "name": ""}, "Enter the name of the warehouse."),
        ({"code": "NEW", "name": "X", "priority": "-5"}, "from 0 to 1000"),
    ):
        r = post_form(client, url, data)
        assert r.status_code == 422 and message in text_of(r), data

    stock.receive(
        db, SYSTEM, product=world["phone"], warehouse=waw, quantity=4, source="t", reference="1"
    )
    assert stock.available(db, [world["phone"].id]) == {world["phone"].id: 4}
    r = post_form(client, f"{url}/{waw.id}/close", {}, form_url=url)
    assert r.status_code == 302
    assert stock.available(db, [world["phone"].id]) == {}  # a closed warehouse counts nothing
    customer = make_customer(db)
    place(db, customer, make_portal_user(db, customer), world["phone"], 1)
    r = post_form(client, f"{url}/{waw.id}/reopen", {}, form_url=url, follow_redirects=True)
    assert "Products whose queue it can serve: 1." in text_of(r)
    assert stock.available(db, [world["phone"].id]) == {world["phone"].id: 4}


def test_allocated_lines_are_picked_and_marked_shipped(client, db, world):
    sign_in(client, db)
    customer = make_customer(db, name="Odbiorca S.A.", street="ul. Odbiorcza 5")
    order, line = place(db, customer, make_portal_user(db, customer), world["phone"], 2)
    stock.receive(
        db,
        SYSTEM,
        product=world["phone"],
        warehouse=world["str"],
        quantity=5,
        source="t",
        reference="2",
    )
    stock.allocate_next(db, world["phone"].id)
    orders.settle_allocations(db, world["phone"].id)
    db.expire_all()
    assert db.get(OrderLine, line.id).state == OrderLineState.allocated

    listing = text_of(client.get("/admin/stock/shipping"))
    assert order.number in listing and "STR × 2" in listing
    picking = text_of(client.get(f"/admin/stock/shipping/picking/{world['str'].id}"))
    assert order.number in picking and "ul. Odbiorcza 5" in picking and "Odbiorca S.A." in picking

    r = post_form(
        client, f"/admin/stock/shipping/{line.id}/ship", {}, form_url="/admin/stock/shipping"
    )
    assert r.status_code == 302
    db.expire_all()
    assert db.get(OrderLine, line.id).state == OrderLineState.completed
    level = db.scalar(select(StockLevel).where(StockLevel.product_id == world["phone"].id))
    assert (level.on_hand, level.reserved) == (3, 0)
    after = text_of(client.get("/admin/stock/shipping"))
    assert f"Order {order.number}: 2 × {world['phone'].sku} marked as shipped." in after
    assert "data-shipping-table" not in after and "Nothing is waiting to ship." in after
    # Shipping twice is refused with a message, and changes nothing.
    r = post_form(
        client,
        f"/admin/stock/shipping/{line.id}/ship",
        {},
        form_url="/admin/stock/shipping",
        follow_redirects=True,
    )
    assert "Only a fully allocated position can ship." in text_of(r)
    db.expire_all()
    assert db.scalar(select(StockLevel.on_hand).where(StockLevel.id == level.id)) == 3


def test_operator_admins_change_stock_too(client, db, world):
    secret = new_totp_secret()
    admin = make_staff(db, StaffRole.operator_admin, totp_secret=secret, totp_enabled=True)
    login_console(client, admin.email, PASSWORD)
    code = {"code": pyotp.TOTP(secret).now()}
    assert post_form(client, "/admin/login/code", code).status_code == 302
    r = post_form(client, "/admin/stock/receive", receive_form(world, reference="PZ/OA/1"))
    assert r.status_code == 302 and on_hand(db, world["phone"]) == 5
    assert db.scalar(select(StockReceipt.received_by)) == admin.email
