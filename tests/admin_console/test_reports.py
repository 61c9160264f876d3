"""Console reports: per manager, lines, estimated revenue, orders, portal adoption, CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pyotp
import pytest
from sqlalchemy import event, select

from models import (
    AuditEvent,
    BackgroundTask,
    Customer,
    LineKind,
    LineStatus,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    StaffRole,
    TaskStatus,
)
from models.base import utcnow
from services import console_reports
from services import contracts as ct
from services.audit import Actor
from services.auth import new_totp_secret
from services.offer import offer_for
from tests.conftest import login_console, post_form
from tests.factories import PASSWORD, make_customer, make_portal_user, make_staff, make_unit
from tests.fleet_factories import make_line, make_tariff

ACTOR = Actor("staff", None, "test")
NOW = utcnow()
TODAY = NOW.date()


def _login(client, staff, secret=None):
    client.get("/admin/lang/en")
    r = login_console(client, staff.email, PASSWORD)
    if secret:
        r = post_form(client, "/admin/login/code", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302


def _operator_admin(db):
    secret = new_totp_secret()
    return make_staff(db, StaffRole.operator_admin, totp_secret=secret, totp_enabled=True), secret


def _order(db, customer, state=OrderState.inProgress, channel="portal", created=None):
    n = db.scalar(select(Order.id).order_by(Order.id.desc()).limit(1)) or 0
    order = Order(
        number=f"ZAM/T/{n + 1:06d}-{customer.id}",
        customer_id=customer.id,
        state=state,
        channel=channel,
    )
    db.add(order)
    db.flush()
    if created:
        order.created_at = created
        db.flush()
    return order


def _backorder(db, order, quantity, allocated):
    line = OrderLine(
        order_id=order.id,
        customer_id=order.customer_id,
        kind=LineKind.handset,
        state=OrderLineState.waiting,
        quantity=quantity,
        allocated_qty=allocated,
        unit_price=Decimal("100.00"),
        list_price=Decimal("100.00"),
    )
    db.add(line)
    db.flush()


@pytest.fixture
def world(db):
    """Two managers; the first has two customers with lines, users, sign-ins, orders."""
    anna = make_staff(db, full_name="Anna Opiekun")
    bogdan = make_staff(db, full_name="Bogdan Opiekun")
    alfa = make_customer(db, name="Alfa Sp. z o.o.", account_manager_id=anna.id)
    beta = make_customer(db, name="Beta S.A.", account_manager_id=anna.id)
    gamma = make_customer(db, name="Gamma Sp. j.", account_manager_id=bogdan.id)
    orphan = make_customer(db, name="Sierota Sp. z o.o.")
    t_m = make_tariff(db, fee="50.00")
    t_l = make_tariff(db, fee="80.00")

    unit = make_unit(db, alfa)
    for _ in range(3):
        make_line(db, alfa, unit, t_m)
    make_line(db, alfa, unit, t_l)
    make_line(db, alfa, unit, t_l, status=LineStatus.suspended)  # not active: not counted
    unit_b = make_unit(db, beta)
    for _ in range(2):
        make_line(db, beta, unit_b, t_l)
    make_line(db, gamma, make_unit(db, gamma), t_m)

    # Beta has an active contract: Biznes L at 60.00.
    contract = ct.create_draft(
        db, ACTOR, beta, valid_from=TODAY - timedelta(days=10), valid_to=None
    )
    version = ct.versions(db, contract)[0]
    ct.set_item(db, ACTOR, contract, version, tariff=t_l, price=Decimal("60.00"))
    ct.activate(db, ACTOR, contract)

    # Alfa: three portal users, two signed in recently, one long ago; one inactive account.
    recent = make_portal_user(db, alfa, last_login_at=NOW - timedelta(days=2))
    make_portal_user(db, alfa, last_login_at=NOW - timedelta(days=20))
    make_portal_user(db, alfa, last_login_at=NOW - timedelta(days=200))
    make_portal_user(db, alfa, is_active=False, last_login_at=NOW)
    for days_ago in (1, 3, 40):
        db.add(
            AuditEvent(
                actor_kind="portal",
                actor_id=recent.id,
                actor_label=recent.email,
                customer_id=alfa.id,
                action="portal.login",
                created_at=NOW - timedelta(days=days_ago),
            )
        )
    db.add(
        AuditEvent(
            actor_kind="portal",
            actor_id=recent.id,
            actor_label=recent.email,
            customer_id=alfa.id,
            action="portal.login_failed",
            created_at=NOW,
        )
    )
    for status in (TaskStatus.done, TaskStatus.done, TaskStatus.failed):
        db.add(
            BackgroundTask(
                kind="fleet_export", customer_id=alfa.id, portal_user_id=recent.id, status=status
            )
        )
    # Orders: one open from the portal, one completed by the operator, one old from the portal.
    open_order = _order(db, alfa, OrderState.inProgress, "portal")
    _backorder(db, open_order, quantity=5, allocated=2)
    _order(db, alfa, OrderState.completed, "console")
    _order(db, alfa, OrderState.completed, "portal", created=NOW - timedelta(days=100))
    _order(db, gamma, OrderState.pending, "portal")
    db.flush()
    return locals()


def _rows(report):
    return {r.name: r for r in report.rows}


def _ids_of(db, *customers):
    return select(Customer.id).where(Customer.id.in_([c.id for c in customers]))


def test_figures_per_customer(db, world):
    w = world
    report = console_reports.build(
        db, _ids_of(db, w["alfa"], w["beta"]), on=TODAY, now=NOW, days=30
    )
    rows = _rows(report)
    alfa, beta = rows["Alfa Sp. z o.o."], rows["Beta S.A."]
    assert alfa.active_lines == 4
    assert alfa.revenue == Decimal("230.00")  # 3 × 50 + 80, list prices
    assert not alfa.priced_by_contract
    assert beta.active_lines == 2 and beta.revenue == Decimal("120.00")  # 2 × 60 by contract
    assert beta.priced_by_contract
    assert (alfa.portal_users, alfa.active_users) == (3, 2)
    assert alfa.logins == 2  # 40 days ago and failed sign-ins do not count
    assert alfa.files == 2
    assert (alfa.open_orders, alfa.backorder_lines, alfa.backorder_units) == (1, 1, 3)
    assert (alfa.orders_portal, alfa.orders_other) == (1, 1)
    assert report.totals["revenue"] == Decimal("350.00")

    year = console_reports.build(db, _ids_of(db, w["alfa"]), on=TODAY, now=NOW, days=365)
    longer = year.rows[0]
    assert (longer.logins, longer.active_users, longer.orders_portal) == (3, 3, 2)


def test_contract_prices_match_the_published_offer(db):
    """The report prices many customers at once with the rule of offer_for; they agree."""
    tariffs = [make_tariff(db, fee=fee) for fee in ("40.00", "55.55", "99.99", "10.00")]
    customers = []
    for i, setup in enumerate(("price", "item_discount", "kind_discount", "none", "future")):
        c = make_customer(db)
        customers.append(c)
        unit = make_unit(db, c)
        for t in tariffs:
            make_line(db, c, unit, t)
        if setup == "none":
            continue
        start = TODAY + timedelta(days=5) if setup == "future" else TODAY - timedelta(days=3)
        contract = ct.create_draft(db, ACTOR, c, valid_from=start, valid_to=None)
        version = ct.versions(db, contract)[0]
        if setup == "kind_discount":
            ct.update_terms(
                db,
                ACTOR,
                contract,
                version,
                subsidy_budget=Decimal("0"),
                approval_threshold=None,
                repair_time_hours=None,
                response_time_hours=None,
                tariff_discount_percent=Decimal("12.5"),
                handset_discount_percent=Decimal("0"),
                accessory_discount_percent=Decimal("0"),
            )
        ct.set_item(
            db,
            ACTOR,
            contract,
            version,
            tariff=tariffs[0],
            price=Decimal("31.00") if setup == "price" else None,
            discount_percent=Decimal("7.5") if setup == "item_discount" else None,
        )
        ct.set_item(db, ACTOR, contract, version, tariff=tariffs[1])
        ct.activate(db, ACTOR, contract, on=min(start, TODAY) if setup != "future" else None)
        del i
    terms = console_reports.contract_tariff_prices(db, _ids_of(db, *customers), TODAY)
    for c in customers:
        offer = offer_for(db, c.id, TODAY)
        for t in tariffs:
            item = offer.price_of_tariff(t.id) if offer.contract else None
            expected = item.price if item else t.monthly_fee
            assert console_reports.tariff_price(t, terms.get(c.id), TODAY) == expected, (c, t)


def test_queries_do_not_grow_with_the_number_of_customers(db, rt, world):
    t = make_tariff(db)

    def count_queries(n):
        customers = []
        for _ in range(n):
            c = make_customer(db)
            make_line(db, c, make_unit(db, c), t)
            make_portal_user(db, c)
            customers.append(c)
        statements = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(rt.db.engine, "before_cursor_execute", before)
        try:
            console_reports.build(db, _ids_of(db, *customers), on=TODAY, now=NOW)
        finally:
            event.remove(rt.db.engine, "before_cursor_execute", before)
        return len(statements)

    assert count_queries(3) == count_queries(40)


def test_manager_sees_own_customers_only(client, db, world):
    w = world
    _login(client, w["anna"])
    page = client.get("/admin/reports/").get_data(as_text=True)
    assert "Alfa Sp. z o.o." in page and "Beta S.A." in page
    assert "Gamma" not in page and "Sierota" not in page
    assert "<svg" in page and "Portal adoption" in page
    # Another manager's id in the URL changes nothing.
    page = client.get(f"/admin/reports/?manager={w['bogdan'].id}").get_data(as_text=True)
    assert "Gamma" not in page and "Alfa Sp. z o.o." in page
    csv_text = client.get(f"/admin/reports/export.csv?manager={w['bogdan'].id}").get_data(
        as_text=True
    )
    assert "Alfa Sp. z o.o." in csv_text and "Gamma" not in csv_text


def test_admins_pick_a_manager_all_or_none(client, db, world):
    w = world
    admin, secret = _operator_admin(db)
    _login(client, admin, secret)
    page = client.get("/admin/reports/").get_data(as_text=True)
    for name in ("Alfa", "Beta", "Gamma", "Sierota"):
        assert name in page
    page = client.get(f"/admin/reports/?manager={w['bogdan'].id}").get_data(as_text=True)
    assert "Gamma" in page and "Alfa" not in page
    page = client.get("/admin/reports/?manager=none").get_data(as_text=True)
    assert "Sierota" in page and "Gamma" not in page and "Alfa" not in page
    # Nonsense falls back to everyone, never an error.
    for query in ("manager=x&days=7&sort=zzz", "manager=%C2%B2", "manager=99999999999999999999999"):
        assert client.get(f"/admin/reports/?{query}").status_code == 200


def test_sales_admin_reads_reports(client, db, world):
    _login(client, make_staff(db, StaffRole.sales_admin))
    assert "Gamma" in client.get("/admin/reports/?sort=revenue").get_data(as_text=True)


def test_csv_export(client, db, world):
    w = world
    w["alfa"].name = "=HYPERLINK(evil)"
    db.flush()
    _login(client, w["anna"])
    r = client.get("/admin/reports/export.csv?days=30&sort=lines")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[0] == "Customer no." and len(header) == 17
    by_name = {row[1]: row for row in body}
    alfa = by_name["'=HYPERLINK(evil)"]  # a formula is quoted
    assert alfa[3] == "4" and alfa[4] == "230.00" and alfa[5] == "list prices"
    assert by_name["Beta S.A."][4] == "120.00" and by_name["Beta S.A."][5] == "contract"
    assert body[0][1] == "'=HYPERLINK(evil)"  # sorted by active lines


def test_chart_escapes_customer_names(client, db, world):
    w = world
    w["alfa"].name = '<script>alert("x")</script> & Co'
    db.flush()
    _login(client, w["anna"])
    page = client.get("/admin/reports/").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page


def test_reports_need_sign_in(client, db):
    r = client.get("/admin/reports/")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]


@pytest.mark.parametrize("setup", ["price", "item_discount", "kind_discount", "none"])
def test_report_revenue_is_the_published_offer_times_the_lines(db, setup):
    """Revenue in the report = for each active line, the monthly fee the customer's published
    offer shows for its tariff (the list price when the offer does not have it) — including a
    tariff on the contract that is not on sale yet, which the offer leaves out."""
    soon = make_tariff(db, fee="70.00")
    soon.valid_from = TODAY + timedelta(days=3)
    tariffs = [make_tariff(db, fee="40.00"), make_tariff(db, fee="55.55"), soon]
    c = make_customer(db)
    unit = make_unit(db, c)
    for n, t in zip((3, 2, 4), tariffs, strict=True):
        for _ in range(n):
            make_line(db, c, unit, t)
    if setup != "none":
        contract = ct.create_draft(
            db, ACTOR, c, valid_from=TODAY - timedelta(days=3), valid_to=None
        )
        version = ct.versions(db, contract)[0]
        if setup == "kind_discount":
            version.tariff_discount_percent = Decimal("12.5")
        for t in tariffs:
            ct.set_item(
                db,
                ACTOR,
                contract,
                version,
                tariff=t,
                price=Decimal("31.00") if setup == "price" else None,
                discount_percent=Decimal("7.5") if setup == "item_discount" else None,
            )
        ct.activate(db, ACTOR, contract, on=TODAY - timedelta(days=3))
    db.flush()
    offer = offer_for(db, c.id, TODAY)
    expected = Decimal("0.00")
    for n, t in zip((3, 2, 4), tariffs, strict=True):
        item = offer.price_of_tariff(t.id)
        expected += (item.price if item else t.monthly_fee) * n
    assert offer.price_of_tariff(soon.id) is None  # not on sale yet: list price in both
    report = console_reports.build(db, _ids_of(db, c), on=TODAY, now=NOW)
    assert report.rows[0].revenue == expected
    assert report.rows[0].priced_by_contract == (setup != "none")
