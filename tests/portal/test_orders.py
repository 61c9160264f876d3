"""The order pages: the list, the order with its positions, queue places and history; approving
and rejecting; cancelling what has not shipped (stock goes back, through a real worker); who
sees which order."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import (
    Line,
    LineStatus,
    MailStatus,
    NumberStatus,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    OutgoingMail,
    PoolNumber,
    ProvisioningRequest,
    RequestStatus,
    StockLevel,
)
from services import orders, stock
from services.audit import Actor
from services.contracts import today
from services.fleet import FleetScope
from tests.conftest import csrf_token, login_portal
from tests.factories import PASSWORD
from tests.portal.test_shop import STAFF, build_shop, get, plain, sign_in, text
from tests.workers.test_provisioning import run_worker


@pytest.fixture
def shop(db, redis_clean):
    return build_shop(db)


def place(db, shop, items, user=None, scope=None):
    user = user or shop["admin"]
    return orders.place_order(
        db,
        Actor("portal", user.id, user.email),
        shop["a"],
        scope or FleetScope(shop["a"].id),
        items,
        placed_by=user,
    )


def phones(shop, n=1):
    return orders.CartItem("handset", n, product_id=shop["phone"].id)


def activation(shop, unit, **params):
    return orders.CartItem(
        "activation", tariff_id=shop["tariff"].id, params={"unit_id": unit.id, **params}
    )


def press(client, url: str, page_url: str, **data):
    page = client.get(page_url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(page), **data})


def test_order_page_shows_positions_queue_places_and_history(client, db, shop):
    place(db, shop, [phones(shop, 2)], user=shop["approver"])  # two units wait already
    order = place(db, shop, [phones(shop, 1), activation(shop, shop["sales"])])
    sign_in(client, shop["admin"])
    page = plain(get(client, f"/orders/{order.id}"))
    assert order.number in page and "In progress" in page
    expected = (today() + timedelta(days=9)).strftime("%b %-d, %Y")
    assert f"Number 2 in the queue (2 units ahead); expected around {expected}" in page
    assert "0 of 1 allocated" in page
    assert "New line: Biznes M" in page and "Being activated" in page
    assert "+48 512 000 001" in page  # the pool's next number
    assert "Network: Waiting" in page
    assert "Order placed" in page and "State changed: Received → changed to In progress" in page
    assert "Total, net PLN2,500.00" in page and "Total, gross PLN3,075.00" in page
    listing = plain(get(client, "/orders/"))
    assert order.number in listing and "2 positions" in listing
    assert "1 new line being activated" in listing
    # The state filter.
    assert order.number not in get(client, "/orders/?state=completed")
    assert order.number in get(client, "/orders/?state=open")
    assert order.number in get(client, "/orders/?state=inProgress&q=" + order.number[-4:])
    assert get(client, "/orders/?state=nonsense&before=abc")  # ignored, not an error


def test_approval_by_another_user(app, client, db, shop):
    order = place(db, shop, [phones(shop, 3), activation(shop, shop["it"], msisdn="+48512777777")])
    assert order.state == OrderState.pending
    mail = db.scalar(select(OutgoingMail).where(OutgoingMail.recipient == "szef@a.example"))
    assert mail is not None and order.number in mail.subject
    assert mail.status == MailStatus.queued
    golden = db.scalar(select(PoolNumber).where(PoolNumber.msisdn == "+48512777777"))
    assert golden.status == NumberStatus.reserved  # held while the order waits

    sign_in(client, shop["admin"])  # who placed it cannot decide
    page = plain(get(client, f"/orders/{order.id}"))
    assert "Awaiting approval" in page and "It can be approved by: Szymon Szef." in page
    assert "waits for your approval" not in page
    r = press(client, f"/orders/{order.id}/approve", f"/orders/{order.id}")
    assert r.status_code == 422
    assert "You may not approve orders." in text(r)

    boss = app.test_client()
    sign_in(boss, shop["approver"])
    assert order.number in plain(get(boss, "/orders/")).split("Orders waiting for your approval")[1]
    page = plain(get(boss, f"/orders/{order.id}"))
    assert "This order waits for your approval" in page
    r = press(boss, f"/orders/{order.id}/approve", f"/orders/{order.id}")
    assert r.status_code == 302
    db.expire_all()
    assert db.get(Order, order.id).state == OrderState.inProgress
    lines = db.scalars(select(OrderLine).order_by(OrderLine.id)).all()
    assert [ln.state for ln in lines] == [OrderLineState.waiting, OrderLineState.inProgress]
    assert db.get(Line, lines[1].line_id).msisdn == "+48512777777"
    page = plain(get(boss, f"/orders/{order.id}"))
    assert "Approved" in page and "approved" in page and "Szymon Szef" in page
    r = press(boss, f"/orders/{order.id}/approve", f"/orders/{order.id}")
    assert r.status_code == 422 and "This order is not waiting for approval." in text(r)


def test_rejection_needs_a_reason_and_frees_the_chosen_number(app, db, shop):
    order = place(db, shop, [phones(shop, 3), activation(shop, shop["it"], msisdn="+48512777777")])
    boss = app.test_client()
    sign_in(boss, shop["approver"])
    r = press(boss, f"/orders/{order.id}/reject", f"/orders/{order.id}", reason="   ")
    assert r.status_code == 422 and "Give the reason for rejecting the order." in text(r)
    r = press(boss, f"/orders/{order.id}/reject", f"/orders/{order.id}", reason="x" * 501)
    assert r.status_code == 422 and "at most 500 characters" in text(r)
    db.expire_all()
    assert db.get(Order, order.id).state == OrderState.pending
    r = press(boss, f"/orders/{order.id}/reject", f"/orders/{order.id}", reason="Za drogo.")
    assert r.status_code == 302
    db.expire_all()
    assert db.get(Order, order.id).state == OrderState.cancelled
    golden = db.scalar(select(PoolNumber).where(PoolNumber.msisdn == "+48512777777"))
    assert golden.status == NumberStatus.free and golden.order_line_id is None
    page = plain(get(boss, f"/orders/{order.id}"))
    assert "Rejected" in page and "Za drogo." in page and "Cancelled" in page
    assert "Cancel the order" not in page


def test_cancelling_an_activation_before_the_network(client, db, shop):
    order = place(db, shop, [activation(shop, shop["sales"]), activation(shop, shop["sales"])])
    first, second = db.scalars(select(OrderLine).order_by(OrderLine.id)).all()
    sign_in(client, shop["admin"])
    r = press(client, f"/orders/{order.id}/positions/{first.id}/cancel", f"/orders/{order.id}")
    assert r.status_code == 302
    assert "Position 1 is cancelled." in plain(get(client, r.headers["Location"]))
    db.expire_all()
    assert db.get(Line, first.line_id).status == LineStatus.terminated
    req = db.scalar(select(ProvisioningRequest).where(ProvisioningRequest.line_id == first.line_id))
    assert req.status == RequestStatus.cancelled
    number = db.scalar(select(PoolNumber).where(PoolNumber.msisdn == shop["numbers"][0]))
    assert number.status == NumberStatus.free
    # The network is already at the second one: it cannot be cancelled any more.
    db.execute(
        ProvisioningRequest.__table__.update()
        .where(ProvisioningRequest.line_id == second.line_id)
        .values(status=RequestStatus.inProgress)
    )
    r = press(client, f"/orders/{order.id}/cancel", f"/orders/{order.id}")
    assert r.status_code == 422 and "already activating this line" in text(r)
    assert db.get(OrderLine, second.id).state == OrderLineState.inProgress
    # A position of another order through this order's address: not found.
    other = place(db, shop, [phones(shop)])
    other_line = db.scalar(select(OrderLine).where(OrderLine.order_id == other.id))
    r = press(client, f"/orders/{order.id}/positions/{other_line.id}/cancel", f"/orders/{order.id}")
    assert r.status_code == 404


def test_who_sees_which_order(app, db, shop):
    handsets = place(db, shop, [phones(shop)])  # company admin: no division
    sales_line = place(db, shop, [activation(shop, shop["sales"])])
    it_scope = FleetScope(shop["a"].id, unit_path=shop["it"].path)
    it_own = place(db, shop, [phones(shop)], user=shop["it_admin"], scope=it_scope)
    it_line = place(db, shop, [activation(shop, shop["it"])])  # placed by the company admin
    mixed = place(db, shop, [activation(shop, shop["it"]), activation(shop, shop["sales"])])
    foreign = orders.place_order(
        db,
        STAFF,
        shop["b"],
        FleetScope(shop["b"].id),
        [orders.CartItem("handset", 1, product_id=shop["outside"].id)],
        placed_by=shop["b_admin"],
    )
    admin, it_admin, viewer = (app.test_client() for _ in range(3))
    sign_in(admin, shop["admin"])
    sign_in(it_admin, shop["it_admin"])
    sign_in(viewer, shop["viewer"])
    for o in (handsets, sales_line, it_own, it_line, mixed):
        get(admin, f"/orders/{o.id}")
        get(viewer, f"/orders/{o.id}")
    for o in (it_own, it_line):
        get(it_admin, f"/orders/{o.id}")
    for o in (handsets, sales_line, mixed):  # another division's numbers and people
        get(it_admin, f"/orders/{o.id}", 404)
    listing = get(it_admin, "/orders/")
    assert it_own.number in listing and it_line.number in listing
    assert not {handsets.number, sales_line.number, mixed.number} & set(
        re.findall(r"Z/\d{4}/\d{7}", listing)
    )
    for client in (admin, it_admin, viewer):
        get(client, f"/orders/{foreign.id}", 404)
        assert foreign.number not in get(client, "/orders/")
        r = press(client, f"/orders/{foreign.id}/approve", "/orders/")
        assert r.status_code in (403, 404)
        r = press(client, f"/orders/{foreign.id}/cancel", "/orders/")
        assert r.status_code in (403, 404)
    db.expire_all()
    assert db.get(Order, foreign.id).state == OrderState.inProgress


def test_viewers_read_employees_do_not(app, db, shop):
    order = place(db, shop, [phones(shop)])
    viewer = app.test_client()
    sign_in(viewer, shop["viewer"])
    page = get(viewer, f"/orders/{order.id}")
    assert "Cancel" not in plain(page).replace("Cancelled", "")
    r = press(viewer, f"/orders/{order.id}/cancel", f"/orders/{order.id}")
    assert r.status_code == 403
    employee = app.test_client()
    sign_in(employee, shop["employee"])
    assert employee.get("/orders/").status_code == 403
    assert employee.get(f"/orders/{order.id}").status_code == 403


@pytest.mark.worker
def test_cancelling_returns_stock_to_the_next_in_the_queue(app, rt, committed, redis_clean):
    shop = build_shop(committed)
    phone_id, warehouse = shop["phone"].id, shop["warehouse"]
    first = place(committed, shop, [phones(shop, 2)])
    second = place(committed, shop, [phones(shop, 1)], user=shop["approver"])
    stock.receive(
        committed,
        STAFF,
        product=shop["phone"],
        warehouse=warehouse,
        quantity=2,
        source="console",
        reference="PZ/TEST/1",
    )
    ids = first.id, second.id
    admin_email = shop["admin"].email
    committed.commit()
    run_worker(committed)
    first_line = committed.scalar(select(OrderLine).where(OrderLine.order_id == ids[0]))
    assert first_line.state == OrderLineState.allocated
    committed.rollback()

    client = app.test_client()
    client.get("/lang/en")
    login_portal(client, admin_email, PASSWORD)
    page = plain(get(client, f"/orders/{ids[0]}"))
    assert "Allocated, ready to ship" in page and "2 of 2 allocated" in page
    assert "Stock allocated" in page and "the position is fully allocated" in page
    assert "In the queue" in plain(get(client, f"/orders/{ids[1]}"))
    r = press(client, f"/orders/{ids[0]}/cancel", f"/orders/{ids[0]}")
    assert r.status_code == 302
    page = plain(get(client, r.headers["Location"]))
    assert "1 position cancelled." in page and "Units returned to stock: 2" in page
    committed.rollback()
    run_worker(committed)  # the returned units serve the next in the queue
    second_line = committed.scalar(select(OrderLine).where(OrderLine.order_id == ids[1]))
    assert second_line.state == OrderLineState.allocated
    level = committed.scalar(select(StockLevel).where(StockLevel.product_id == phone_id))
    assert level.on_hand == 2 and level.reserved == 1
    assert committed.get(Order, ids[0]).state == OrderState.cancelled
    committed.rollback()
    assert "Allocated, ready to ship" in plain(get(client, f"/orders/{ids[1]}"))
