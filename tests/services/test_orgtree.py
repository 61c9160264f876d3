"""The department tree: create, rename, move with the whole subtree, delete only when empty."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditEvent, Line, OrgUnit
from services import ServiceError
from services import orgtree as ot
from services.audit import Actor
from tests.factories import make_customer, make_portal_user
from tests.fleet_factories import make_employee, make_line, make_tariff

ACTOR = Actor("portal", 1, "admin@test")


@pytest.fixture
def tree(db):
    c = make_customer(db)
    root = ot.create_unit(db, ACTOR, c.id, None, "Firma")
    a = ot.create_unit(db, ACTOR, c.id, root, "Sprzedaż", "CC-100")
    a1 = ot.create_unit(db, ACTOR, c.id, a, "Północ")
    a11 = ot.create_unit(db, ACTOR, c.id, a1, "Gdańsk")
    b = ot.create_unit(db, ACTOR, c.id, root, "Logistyka")
    return {"c": c, "root": root, "a": a, "a1": a1, "a11": a11, "b": b}


def test_paths_and_depths(tree):
    assert (
        tree["a11"].path == f"/{tree['root'].id}/{tree['a'].id}/{tree['a1'].id}/{tree['a11'].id}/"
    )
    assert tree["a11"].depth == 3


def test_names_are_checked(db, tree):
    with pytest.raises(ServiceError) as e:
        ot.create_unit(db, ACTOR, tree["c"].id, tree["root"], "  sprzedaż ")
    assert e.value.field == "name"
    with pytest.raises(ServiceError):
        ot.create_unit(db, ACTOR, tree["c"].id, tree["root"], "   ")
    with pytest.raises(ServiceError) as e:
        ot.create_unit(db, ACTOR, tree["c"].id, tree["root"], "X", "CC<script>")
    assert e.value.field == "cost_centre"


def test_move_subtree_rewrites_paths_and_lines(db, tree):
    line = make_line(db, tree["c"], tree["a11"], make_tariff(db))
    moved = ot.move_unit(db, ACTOR, tree["a1"], tree["b"])
    assert moved.parent_id == tree["b"].id
    a11 = db.get(OrgUnit, tree["a11"].id)
    assert a11.path == f"/{tree['root'].id}/{tree['b'].id}/{tree['a1'].id}/{tree['a11'].id}/"
    assert a11.depth == 3
    assert db.get(Line, line.id).unit_path == a11.path
    subtree_ids = {u.id for u in ot.subtree(db, db.get(OrgUnit, tree["b"].id))}
    assert subtree_ids == {tree["b"].id, tree["a1"].id, tree["a11"].id}
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "unit.moved"))


def test_cannot_move_into_own_subtree(db, tree):
    with pytest.raises(ServiceError, match="itself"):
        ot.move_unit(db, ACTOR, tree["a"], tree["a11"])
    with pytest.raises(ServiceError):
        ot.move_unit(db, ACTOR, tree["a"], tree["a"])


def test_cannot_move_to_other_customer(db, tree):
    other = make_customer(db)
    foreign = ot.create_unit(db, ACTOR, other.id, None, "Obca")
    with pytest.raises(ServiceError):
        ot.move_unit(db, ACTOR, tree["a1"], foreign)


def test_delete_refuses_non_empty_unit_with_reason(db, tree):
    with pytest.raises(ServiceError) as e:
        ot.delete_unit(db, ACTOR, tree["a1"])
    assert e.value.details == {"count": 1}
    assert "1 subunit;" in e.value.text
    make_line(db, tree["c"], tree["b"], make_tariff(db))
    with pytest.raises(ServiceError, match="1 line;"):
        ot.delete_unit(db, ACTOR, tree["b"])
    make_employee(db, tree["c"], tree["a11"])
    with pytest.raises(ServiceError, match="1 employee;"):
        ot.delete_unit(db, ACTOR, tree["a11"])


def test_delete_refuses_unit_that_scopes_an_admin(db, tree):
    make_portal_user(db, tree["c"], scope_unit=tree["a11"])
    with pytest.raises(ServiceError, match="1 portal user administers"):
        ot.delete_unit(db, ACTOR, tree["a11"])


def test_delete_empty_unit(db, tree):
    ot.delete_unit(db, ACTOR, tree["a11"])
    assert db.get(OrgUnit, tree["a11"].id) is None
