"""No customer sees another's data. Every portal route that takes an id is walked, generated
from the URL map: a route whose id parameter has no entry in OBJECTS fails this test."""

from __future__ import annotations

import re

import pytest

from tests.conftest import login_portal
from tests.factories import PASSWORD, make_customer, make_portal_user, make_unit

# parameter name -> how to get an object id from a world (dict built below)
OBJECTS = {
    "unit_id": "unit",
}


@pytest.fixture
def world(db):
    a = make_customer(db, name="Klient A")
    b = make_customer(db, name="Klient B")
    a_root = make_unit(db, a, "A root")
    a_div1 = make_unit(db, a, "A div 1", a_root)
    a_div2 = make_unit(db, a, "A div 2", a_root)
    b_root = make_unit(db, b, "B root")
    return {
        "a_admin": make_portal_user(db, a),
        "a_scoped": make_portal_user(db, a, scope_unit=a_div1),
        "b_admin": make_portal_user(db, b),
        "own": {"unit": a_div2},
        "foreign": {"unit": b_root},
        "out_of_scope": {"unit": a_div2},
        "in_scope": {"unit": a_div1},
    }


def id_routes(app):
    for rule in app.url_map.iter_rules():
        params = set(re.findall(r"<int:(\w+)>", rule.rule))
        if params and "GET" in rule.methods:
            yield rule, params


def _url(rule, params, objs):
    url = rule.rule
    for p in params:
        assert p in OBJECTS, f"route {rule.rule} has parameter {p} with no tenancy rule in the test"
        url = url.replace(f"<int:{p}>", str(objs[OBJECTS[p]].id))
    return url


def test_every_id_route_is_covered(app):
    assert list(id_routes(app)), "expected portal routes with ids"


def test_other_customers_objects_are_404(client, app, world):
    login_portal(client, world["a_admin"].email, PASSWORD)
    for rule, params in id_routes(app):
        assert client.get(_url(rule, params, world["own"])).status_code == 200, rule.rule
        assert client.get(_url(rule, params, world["foreign"])).status_code == 404, rule.rule


def test_subtree_admin_gets_404_outside_subtree(client, app, world):
    login_portal(client, world["a_scoped"].email, PASSWORD)
    for rule, params in id_routes(app):
        assert client.get(_url(rule, params, world["in_scope"])).status_code == 200, rule.rule
        assert client.get(_url(rule, params, world["out_of_scope"])).status_code == 404, rule.rule


def test_subtree_admin_dashboard_shows_only_subtree(client, world):
    login_portal(client, world["a_scoped"].email, PASSWORD)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "A div 1" in page and "A div 2" not in page
