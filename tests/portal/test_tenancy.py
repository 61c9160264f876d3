"""No customer sees another's data. Every portal GET route that takes an id is walked,
generated from the URL map; a route whose id parameter has no entry in OBJECTS fails here.

Three users of customer A: a company-wide fleet admin, a fleet admin limited to division 1,
and the objects: one set in division 1 (in scope), one in division 2 (out of scope for the
limited admin), one of customer B (foreign for everyone).
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

import pytest

from models import BackgroundTask, Customer, LineKind, Order, OrderLine, OrderState, TaskStatus
from services import service_requests
from services.audit import Actor
from tests.billing_factories import ksef_nip
from tests.conftest import login_portal
from tests.factories import PASSWORD, make_customer, make_portal_user, make_unit
from tests.fleet_factories import make_employee, make_line, make_tariff

# URL parameter -> key of the object in a set below
OBJECTS = {
    "unit_id": "unit",
    "line_id": "line",
    "employee_id": "employee",
    "task_id": "task",
    "order_id": "order",
    "request_id": "service_request",
    "invoice_id": "invoice",
}
_months = itertools.count()
# Company documents: a division's administrator sees none of them (404 even "in scope").
COMPANY_WIDE = {"invoice_id"}


def _objects(db, customer, unit, tariff, user):
    employee = make_employee(db, customer, unit)
    line = make_line(db, customer, unit, tariff, employee)
    task = BackgroundTask(
        kind="fleet_export",
        customer_id=customer.id,
        portal_user_id=user.id,
        status=TaskStatus.queued,
        params={"unit_id": unit.id},
    )
    db.add(task)
    db.flush()
    order = Order(
        number=f"Z/T/{line.id}",
        customer_id=customer.id,
        state=OrderState.inProgress,
        placed_by_id=user.id,
        total_net=Decimal("0"),
    )
    db.add(order)
    db.flush()
    db.add(
        OrderLine(
            order_id=order.id,
            customer_id=customer.id,
            kind=LineKind.exchange,
            line_id=line.id,
            quantity=1,
            unit_price=Decimal("0"),
            list_price=Decimal("0"),
        )
    )
    db.flush()
    service_request = service_requests.open_request(
        db,
        Actor("staff", None, "test"),
        db.get(Customer, customer.id),
        category="repair",
        subject="Ekran",
        description="Pęknięty",
        line=line,
    )
    invoice = _invoice(db, customer, line)
    return {
        "unit": unit,
        "line": line,
        "employee": employee,
        "task": task,
        "order": order,
        "service_request": service_request,
        "invoice": invoice,
    }


def _invoice(db, customer, line):
    from datetime import date

    from services import invoices

    period = date(2025, next(_months) % 12 + 1, 1)  # one invoice per customer and month
    draft = invoices.new_draft(db, customer, period, period.replace(day=28))
    charge = invoices.ChargeLine(
        "fee", "t", "Abonament", Decimal(1), Decimal("10.00"), Decimal("10.00"), line_id=line.id
    )
    invoices.add_lines(db, draft, [charge])
    return invoices.issue(db, Actor.system(), draft, date(2026, 12, 1))


@pytest.fixture
def world(db):
    a = make_customer(db, name="Klient A", nip=ksef_nip())
    b = make_customer(db, name="Klient B", nip=ksef_nip())
    tariff = make_tariff(db)
    a_root = make_unit(db, a, "A root")
    a_div1 = make_unit(db, a, "A div 1", a_root)
    a_div2 = make_unit(db, a, "A div 2", a_root)
    b_root = make_unit(db, b, "B root")
    a_admin = make_portal_user(db, a)
    a_scoped = make_portal_user(db, a, scope_unit=a_div1)
    b_admin = make_portal_user(db, b)
    return {
        "a_admin": a_admin,
        "a_scoped": a_scoped,
        "own": _objects(db, a, a_div2, tariff, a_admin),
        "in_scope": _objects(db, a, a_div1, tariff, a_scoped),
        "out_of_scope": _objects(db, a, a_div2, tariff, a_admin),
        "foreign": _objects(db, b, b_root, tariff, b_admin),
    }


def id_routes(app):
    for rule in app.url_map.iter_rules():
        params = set(re.findall(r"<int:(\w+)>", rule.rule))
        if params and "GET" in rule.methods and not rule.rule.startswith("/admin"):
            yield rule, params


def _url(rule, params, objs):
    url = rule.rule
    for p in params:
        assert p in OBJECTS, f"route {rule.rule} has parameter {p} with no tenancy rule in the test"
        url = url.replace(f"<int:{p}>", str(objs[OBJECTS[p]].id))
    return url


def _ok(status: int) -> bool:
    # a page, a download, or a redirect to one; never "not found" for what is ours
    return status in (200, 302, 303)


def test_every_id_route_is_covered(app):
    assert list(id_routes(app)), "expected portal routes with ids"


def test_other_customers_objects_are_404(client, app, world):
    login_portal(client, world["a_admin"].email, PASSWORD)
    for rule, params in id_routes(app):
        assert _ok(client.get(_url(rule, params, world["own"])).status_code), rule.rule
        assert client.get(_url(rule, params, world["foreign"])).status_code == 404, rule.rule


def test_subtree_admin_gets_404_outside_subtree(client, app, world):
    login_portal(client, world["a_scoped"].email, PASSWORD)
    for rule, params in id_routes(app):
        in_scope = client.get(_url(rule, params, world["in_scope"])).status_code
        if params & COMPANY_WIDE:
            assert in_scope == 404, rule.rule
        else:
            assert _ok(in_scope), rule.rule
        assert client.get(_url(rule, params, world["out_of_scope"])).status_code == 404, rule.rule


def test_subtree_admin_dashboard_shows_only_subtree(client, world):
    login_portal(client, world["a_scoped"].email, PASSWORD)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "A div 1" in page and "A div 2" not in page
