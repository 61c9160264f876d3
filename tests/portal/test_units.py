"""The department tree in the portal, used the way fleet administrators and viewers use it:
through the pages and forms (CSRF on), with the database checked afterwards."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import event, func, select

from models import AuditEvent, Line, OrgUnit, PortalRole
from services import orgtree
from services.audit import Actor
from tests.conftest import csrf_token, login_portal, post_form
from tests.factories import PASSWORD, make_customer, make_portal_user, make_unit
from tests.fleet_factories import make_employee, make_line, make_tariff

ACTOR = Actor("portal", None, "setup@test")


@pytest.fixture
def w(db):
    """Firma ─ Sprzedaż (CC-100) ─ Północ ─ Gdańsk; Firma ─ Logistyka. Customer B apart."""
    a, b = make_customer(db, name="Klient A"), make_customer(db, name="Klient B")
    root = orgtree.create_unit(db, ACTOR, a.id, None, "Firma", "PM-0")
    sales = orgtree.create_unit(db, ACTOR, a.id, root, "Sprzedaż", "CC-100")
    north = orgtree.create_unit(db, ACTOR, a.id, sales, "Północ")
    gdansk = orgtree.create_unit(db, ACTOR, a.id, north, "Gdańsk", "GD/1")
    logistics = orgtree.create_unit(db, ACTOR, a.id, root, "Logistyka")
    tariff = make_tariff(db)
    for unit, n in ((sales, 1), (north, 2), (gdansk, 3)):
        for _ in range(n):
            make_line(db, a, unit, tariff, make_employee(db, a, unit))
    b_root = make_unit(db, b, "Obca firma")
    return {
        "a": a,
        "root": root,
        "sales": sales,
        "north": north,
        "gdansk": gdansk,
        "logistics": logistics,
        "foreign": b_root,
        "admin": make_portal_user(db, a, full_name="Anna Admin"),
        "viewer": make_portal_user(db, a, role=PortalRole.viewer),
        "employee": make_portal_user(db, a, role=PortalRole.employee),
        "scoped": make_portal_user(db, a, scope_unit=sales),
    }


def signed_in(client, user):
    client.get("/lang/en")
    assert login_portal(client, user.email, PASSWORD).status_code == 302
    return client


def page(client, url) -> str:
    r = client.get(url)
    assert r.status_code == 200, url
    return r.get_data(as_text=True)


def row(html: str, unit) -> str:
    """The tree row of one unit, up to the next unit."""
    start = html.index(f'id="unit-{unit.id}"')
    end = html.find('id="unit-', start + 10)
    return html[start : end if end > 0 else None]


def snapshot(db):
    db.expire_all()
    units = db.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.cost_centre, OrgUnit.path)).all()
    lines = db.execute(select(Line.id, Line.unit_path)).all()
    return sorted(units), sorted(lines), db.scalar(select(func.count(AuditEvent.id)))


def unit(db, u) -> OrgUnit | None:
    db.expire_all()
    return db.get(OrgUnit, u.id)


# --- reading -------------------------------------------------------------------------------


def test_tree_shows_every_unit_with_cost_centre_and_counts(client, w):
    html = page(signed_in(client, w["admin"]), "/units/")
    assert "5 units" in html and "6 lines" in html and "6 employees" in html
    sales = row(html, w["sales"])
    assert "CC-100" in sales
    assert '<b>6</b> <span class="unit-own">(1)</span>' in sales  # lines and people
    gdansk = row(html, w["gdansk"])
    assert "GD/1" in gdansk and "<b>3</b>" in gdansk and "unit-own" not in gdansk
    assert f'href="/units/{w["north"].id}/new?back=tree"' in html  # actions for an admin
    assert "data-movable" in row(html, w["north"]) and "data-movable" not in row(html, w["root"])


def test_search_by_name_or_cost_centre_shows_the_path(client, w):
    signed_in(client, w["admin"])
    html = page(client, "/units/?q=PÓŁNOC")
    assert "1 unit matches" in html
    result = html[html.index('class="list-group-item unit-result"') :]
    assert f'href="/units/{w["north"].id}"' in result
    assert re.search(r"Firma<span class=\"unit-path-sep\".*?Sprzedaż</span>", result)
    assert f'href="/units/{w["gdansk"].id}"' in page(client, "/units/?q=gd/")
    assert "No unit matches" in page(client, "/units/?q=" + "x" * 300)


def test_unit_page_breadcrumbs_counts_subunits_and_history(client, w):
    signed_in(client, w["admin"])
    post_form(client, f"/units/{w['north'].id}/edit", {"name": "Północ-Zachód", "cost_centre": ""})
    post_form(client, f"/units/{w['north'].id}/move", {"parent_id": w["logistics"].id})
    html = page(client, f"/units/{w['north'].id}")
    crumbs = html[html.index('class="breadcrumb') : html.index("</ol>")]
    assert re.findall(r">([^<>]+)</a>", crumbs)[1:] == ["Firma", "Logistyka"]
    assert 'aria-current="page">Północ-Zachód<' in crumbs
    assert '<div class="stat-value">5</div>' in html  # lines with Gdańsk
    assert f'href="/units/{w["gdansk"].id}"' in html
    history = html[html.index("unit-history") :]
    assert history.index("Moved from Firma › Sprzedaż to Firma › Logistyka.") < history.index(
        "Renamed from Północ to Północ-Zachód."
    )
    assert "Anna Admin" in history and "Created as Północ." in history


def test_dashboard_tree_links_to_unit_pages(client, w):
    html = page(signed_in(client, w["admin"]), "/dashboard")
    assert f'href="/units/{w["gdansk"].id}"' in html


# --- changes -------------------------------------------------------------------------------


def test_create_rename_move_delete(client, db, w):
    signed_in(client, w["admin"])
    r = post_form(
        client, f"/units/{w['logistics'].id}/new", {"name": " Magazyn  Łódź ", "cost_centre": "L-1"}
    )
    new = db.scalar(select(OrgUnit).where(OrgUnit.name == "Magazyn Łódź"))
    assert r.status_code == 302 and r.location == f"/units/{new.id}"
    assert new.parent_id == w["logistics"].id and new.cost_centre == "L-1"
    assert "The unit Magazyn Łódź has been created." in page(client, r.location)

    r = post_form(client, f"/units/{new.id}/edit", {"name": "Magazyn Łódź 2", "cost_centre": ""})
    assert r.status_code == 302
    assert (unit(db, new).name, unit(db, new).cost_centre) == ("Magazyn Łódź 2", None)

    r = post_form(
        client, f"/units/{new.id}/move?back=tree", {"parent_id": w["sales"].id, "back": "tree"}
    )
    assert r.location == f"/units/?show={new.id}#unit-{new.id}"
    assert unit(db, new).path == f"{w['sales'].path}{new.id}/"
    assert "unit-shown" in row(page(client, r.location), new)

    new_id = new.id
    r = post_form(client, f"/units/{new_id}/delete", {})
    assert r.status_code == 302 and r.location == f"/units/{w['sales'].id}"
    db.expire_all()
    assert db.get(OrgUnit, new_id) is None
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_type == "org_unit", AuditEvent.object_id == new_id
        )
    ).all()
    assert sorted(actions) == ["unit.created", "unit.deleted", "unit.moved", "unit.updated"]


def test_move_carries_subtree_and_lines(client, db, w):
    signed_in(client, w["admin"])
    r = post_form(client, f"/units/{w['north'].id}/move", {"parent_id": w["logistics"].id})
    assert r.status_code == 302
    gdansk = unit(db, w["gdansk"])
    assert gdansk.path.startswith(unit(db, w["logistics"]).path)
    paths = set(db.scalars(select(Line.unit_path).where(Line.unit_id == gdansk.id)))
    assert paths == {gdansk.path}


def test_move_form_lists_only_allowed_targets_with_paths(client, w):
    html = page(signed_in(client, w["admin"]), f"/units/{w['north'].id}/move")
    options = dict(re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]+)</option>', html))
    assert options == {
        str(w["root"].id): "Firma",
        str(w["logistics"].id): "Firma › Logistyka",
    }  # not itself, not Gdańsk (inside it), not Sprzedaż (already there)


def test_drag_and_drop_posts_the_move_form_and_gets_json(client, db, w):
    signed_in(client, w["admin"])
    token = csrf_token(page(client, "/units/"))
    url = f"/units/{w['gdansk'].id}/move?back=tree"
    json_headers = {"Accept": "application/json"}
    r = client.post(
        url,
        data={"parent_id": w["root"].id, "back": "tree", "csrf_token": token},
        headers=json_headers,
    )
    assert r.status_code == 200 and r.json["ok"] is True
    assert r.json["location"] == f"/units/?show={w['gdansk'].id}#unit-{w['gdansk'].id}"
    assert unit(db, w["gdansk"]).parent_id == w["root"].id
    r = client.post(
        f"/units/{w['sales'].id}/move",
        data={"parent_id": w["north"].id, "csrf_token": token},
        headers=json_headers,
    )
    assert r.status_code == 422 and r.json == {
        "ok": False,
        "error": "Choose the target unit from the list.",
    }


def test_non_empty_unit_is_not_deleted_and_the_reason_is_shown(client, db, w):
    signed_in(client, w["admin"])
    html = page(client, f"/units/{w['north'].id}/delete")
    assert "The unit has 1 subunit; move or delete it first." in html
    assert "The unit has 2 lines; move them to another unit first." in html
    assert "Delete the unit</button>" not in html
    before = snapshot(db)
    r = post_form(client, f"/units/{w['north'].id}/delete", {}, form_url="/units/")
    assert r.status_code == 422 and "1 subunit" in r.get_data(as_text=True)
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("/units/{sales}/new", {"name": "   "}, "Enter the unit's name."),
        ("/units/{sales}/new", {"name": "PÓŁNOC"}, "A unit with this name already exists here."),
        ("/units/{sales}/new", {"name": "X", "cost_centre": "CC<b>"}, "A cost centre has at most"),
        ("/units/{sales}/new", {"name": "X" * 201}, "The name is too long"),
        ("/units/{sales}/new", {"name": "X", "cost_centre": "C" * 41}, "A cost centre has at most"),
        ("/units/{gdansk}/edit", {"name": "", "cost_centre": ""}, "Enter the unit's name."),
        ("/units/{north}/edit", {"name": "sprzedaż"}, None),  # unique among siblings only
        ("/units/{logistics}/edit", {"name": "sprzedaż"}, "already exists here"),
        ("/units/{sales}/move", {"parent_id": "{gdansk}"}, "Choose the target unit from the list"),
        ("/units/{sales}/move", {"parent_id": "{sales}"}, "Choose the target unit from the list"),
        ("/units/{sales}/move", {"parent_id": "{foreign}"}, "Choose the target unit from the list"),
        ("/units/{sales}/move", {"parent_id": "abc"}, "Choose the target unit from the list"),
        ("/units/{sales}/move", {}, "Choose the target unit from the list"),
        ("/units/{north}/move", {"parent_id": "{root}"}, None),
    ],
)
def test_bad_input_is_explained_and_changes_nothing(client, db, w, url, data, message):
    signed_in(client, w["admin"])
    ids = {k: v.id for k, v in w.items() if isinstance(v, OrgUnit)}
    url = url.format(**ids)
    data = {k: v.format(**ids) for k, v in data.items()}
    before = snapshot(db)
    r = post_form(client, url, data, form_url="/units/")
    if message is None:  # the control case: the same form with good data goes through
        assert r.status_code == 302
        return
    assert r.status_code == 422
    assert message in unescape(r.get_data(as_text=True))
    assert snapshot(db) == before


def test_control_characters_never_reach_a_name(client, db, w):
    signed_in(client, w["admin"])
    r = post_form(client, f"/units/{w['sales'].id}/new", {"name": "Nowy\x00dział\tA\n"})
    assert r.status_code == 302
    assert (
        db.scalar(
            select(OrgUnit.name)
            .where(OrgUnit.parent_id == w["sales"].id)
            .where(OrgUnit.name.like("Nowy%"))
        )
        == "Nowy dział A"
    )


def test_top_unit_stays_but_an_extra_top_level_unit_can_go(client, db, w):
    signed_in(client, w["admin"])
    assert "The top unit of the company cannot be deleted." in page(
        client, f"/units/{w['root'].id}/delete"
    )
    assert "no other unit this one could be moved to" in page(client, f"/units/{w['root'].id}/move")
    r = post_form(client, "/units/new", {"name": "Spółka zależna"})
    extra = db.scalar(select(OrgUnit).where(OrgUnit.name == "Spółka zależna"))
    assert r.status_code == 302 and extra.parent_id is None
    assert (
        post_form(client, f"/units/{extra.id}/move", {"parent_id": w["root"].id}).status_code == 302
    )
    assert unit(db, extra).parent_id == w["root"].id


# --- who may do what -----------------------------------------------------------------------


def test_viewer_reads_without_actions_and_is_refused_changes(client, db, w):
    signed_in(client, w["viewer"])
    html = page(client, "/units/")
    assert "Północ" in html and "data-movable" not in html
    assert "/units/new" not in html and not re.search(r"/units/\d+/new", html)
    html = page(client, f"/units/{w['north'].id}")
    assert f"/units/{w['north'].id}/edit" not in html
    before = snapshot(db)
    n = w["north"].id
    for url, data in [
        ("/units/new", {"name": "X"}),
        (f"/units/{n}/new", {"name": "X"}),
        (f"/units/{n}/edit", {"name": "X"}),
        (f"/units/{n}/move", {"parent_id": w["root"].id}),
        (f"/units/{w['gdansk'].id}/delete", {}),
    ]:
        assert post_form(client, url, data, form_url="/units/").status_code == 403, url
        assert client.get(url).status_code == 403, url
    assert snapshot(db) == before


def test_employee_has_no_department_pages(client, w):
    signed_in(client, w["employee"])
    assert client.get("/units/").status_code == 403
    assert client.get(f"/units/{w['north'].id}").status_code == 403
    assert client.get(f"/units/{w['foreign'].id}").status_code == 404


def test_subtree_admin_sees_and_changes_only_the_subtree(client, db, w):
    signed_in(client, w["scoped"])
    html = page(client, "/units/")
    assert "Północ" in html and "Logistyka" not in html and "Firma" not in html
    assert "3 units" in html and "Add a top-level unit" not in html
    html = page(client, f"/units/{w['gdansk'].id}")
    crumbs = html[html.index('class="breadcrumb') : html.index("</ol>")]
    assert "Sprzedaż" in crumbs and "Firma" not in crumbs
    assert "Logistyka" not in page(client, f"/units/{w['gdansk'].id}/move")

    r = post_form(client, f"/units/{w['sales'].id}/new", {"name": "Południe"})
    assert r.status_code == 302
    south = db.scalar(select(OrgUnit).where(OrgUnit.name == "Południe"))
    r = post_form(client, f"/units/{w['gdansk'].id}/move", {"parent_id": south.id})
    assert r.status_code == 302 and unit(db, w["gdansk"]).parent_id == south.id

    before = snapshot(db)
    r = post_form(client, f"/units/{w['north'].id}/move", {"parent_id": w["logistics"].id})
    assert r.status_code == 422 and "Choose the target unit from the list" in r.text
    assert post_form(client, "/units/new", {"name": "X"}, form_url="/units/").status_code == 403
    assert client.get("/units/new").status_code == 403
    assert snapshot(db) == before


def test_subtree_admin_cannot_rename_move_or_delete_their_scope_root(client, db, w):
    signed_in(client, w["scoped"])
    s = w["sales"].id
    assert f"/units/{s}/edit" not in page(client, f"/units/{s}")
    before = snapshot(db)
    for url, data in [
        (f"/units/{s}/edit", {"name": "Moja sprzedaż", "cost_centre": ""}),
        (f"/units/{s}/move", {"parent_id": w["north"].id}),
        (f"/units/{s}/delete", {}),
    ]:
        html = page(client, url)
        assert "This is the top of your area." in html and "novalidate" not in html
        assert post_form(client, url, data, form_url="/units/").status_code == 403, url
    assert snapshot(db) == before


def test_every_route_answers_404_for_foreign_and_out_of_scope_ids(client, app, w):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("units.")]
    with_id = [r for r in rules if "<int:unit_id>" in r.rule]
    assert {r.endpoint for r in with_id} == {
        "units.detail",
        "units.create",
        "units.edit",
        "units.move",
        "units.delete",
    }
    signed_in(client, w["scoped"])
    token = csrf_token(page(client, "/units/"))
    for rule in with_id:
        for target in (w["foreign"], w["logistics"], w["root"]):
            url = rule.rule.replace("<int:unit_id>", str(target.id))
            assert client.get(url).status_code == 404, url
            if "POST" in rule.methods:
                r = client.post(url, data={"csrf_token": token, "name": "X", "parent_id": 1})
                assert r.status_code == 404, url
        assert client.get(rule.rule.replace("<int:unit_id>", "abc")).status_code == 404
        assert client.get(rule.rule.replace("<int:unit_id>", "9" * 25)).status_code == 404


def test_tree_page_query_count_does_not_grow_with_the_tree(client, db, rt, w):
    signed_in(client, w["admin"])
    statements = []

    def count(*_args):
        statements.append(1)

    def queries_for(url):
        statements.clear()
        event.listen(rt.db.engine, "before_cursor_execute", count)
        try:
            page(client, url)
        finally:
            event.remove(rt.db.engine, "before_cursor_execute", count)
        return len(statements)

    small = queries_for("/units/"), queries_for(f"/units/{w['root'].id}")
    tariff = make_tariff(db)
    for i in range(40):
        extra = make_unit(db, w["a"], f"Dział {i}", w["logistics"])
        make_line(db, w["a"], extra, tariff, make_employee(db, w["a"], extra))
    assert (queries_for("/units/"), queries_for(f"/units/{w['root'].id}")) == small
    assert small[0] <= 8
