"""What the fleet list page carries: the "move to" units loaded when needed (and only the
user's), the count of a large fleet said honestly, search through the page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert

from models import Line, LineStatus
from services import fleet as fl
from tests.conftest import csrf_token
from tests.portal.test_fleet_list import build_world, get, sign_in

OPTION = re.compile(r'<option value="(\d+)"')


@pytest.fixture
def world(db):
    return build_world(db)


def move_select(page: str) -> str:
    start = page.index('<select class="form-select" id="unit_id"')
    return page[start : page.index("</select>", start)]


def test_move_to_units_are_loaded_when_needed(client, world):
    sign_in(client, world["admin"])
    select = move_select(get(client, "/fleet/"))
    assert 'hx-get="/fleet/unit-choices"' in select
    assert OPTION.findall(select) == []  # not on every page of the list

    options = client.get("/fleet/unit-choices", headers={"HX-Request": "true"})
    assert options.status_code == 200
    text = options.get_data(as_text=True)
    assert text.startswith('<option value="">')
    unit_ids = {int(i) for i in OPTION.findall(text)}
    assert unit_ids == {world[k].id for k in ("root", "sales", "north", "it")}
    assert "Centrala / Sprzedaż / Północ" in text  # the whole path, to tell units apart


def test_move_to_units_of_a_subtree_admin_and_not_for_viewers(client, app, world):
    sign_in(client, world["it_admin"])
    text = client.get("/fleet/unit-choices").get_data(as_text=True)
    assert {int(i) for i in OPTION.findall(text)} == {world["it"].id}
    viewer = app.test_client()
    sign_in(viewer, world["viewer"])
    assert viewer.get("/fleet/unit-choices").status_code == 403


def test_a_refused_move_shows_the_units_with_the_choice_kept(client, world):
    """Without a line ticked the form comes back with its message, and the unit chosen is
    still chosen (the options are in the page then)."""
    sign_in(client, world["admin"])
    token = csrf_token(get(client, "/fleet/"))
    it = world["it"]
    r = client.post(
        "/fleet/bulk",
        data={"csrf_token": token, "action": "move", "unit_id": str(it.id), "target": "selected"},
    )
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "Select at least one line." in page
    select = move_select(page)
    assert f'<option value="{it.id}" selected>' in select
    assert len(OPTION.findall(select)) == 4


def test_search_through_the_page(client, world):
    sign_in(client, world["admin"])
    line = world["lines"][7]  # Osoba H07
    page = get(client, "/fleet/?q=soba+h0")
    assert f'href="/fleet/{line.id}"' in page
    assert "1 line matches the filter" in page
    page = get(client, f"/fleet/?q={line.msisdn[4:]}")  # eight digits from the middle
    assert f'href="/fleet/{line.id}"' in page
    assert "1 line matches the filter" in page


def test_a_fleet_over_the_count_limit_says_over(client, db, world):
    a, unit, tariff = world["a"], world["it"], world["t1"]
    extra = fl.COUNT_LIMIT + 1 - 22  # 22 lines of A are not terminated
    db.execute(
        insert(Line),
        [
            {
                "customer_id": a.id,
                "unit_id": unit.id,
                "unit_path": unit.path,
                "msisdn": f"+4879{n:07d}",
                "status": LineStatus.active,
                "tariff_id": tariff.id,
                "iccid": f"89480177{n:011d}",
                "imsi": f"26077{n:010d}",
            }
            for n in range(extra)
        ],
    )
    sign_in(client, world["admin"])
    page = get(client, "/fleet/")
    assert "Over 10,000 lines" in page
    assert "All lines matching the filter (over 10,000)" in page
    # A filter below the limit is counted exactly.
    page = get(client, f"/fleet/?unit_id={world['sales'].id}")
    assert "16 lines match the filter" in page
