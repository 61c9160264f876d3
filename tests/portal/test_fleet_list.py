"""The fleet list and the line page as a fleet administrator uses them: filters, search,
sorting, keyset pages, columns, pending changes, scope."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import event

from models import LineStatus, PortalRole, Service
from services import fleet as fl
from services.audit import Actor
from tests.conftest import csrf_token, login_portal
from tests.factories import PASSWORD, make_customer, make_portal_user, make_unit
from tests.fleet_factories import make_employee, make_handset, make_line, make_tariff

ACTOR = Actor("portal", 1, "admin@test")
LINK = re.compile(r'href="/fleet/(\d+)"')


def build_world(db) -> dict:
    """Customer A: Centrala > Sprzedaż > Północ, Centrala > IT; 23 lines; customer B: 2 lines."""
    a = make_customer(db, name="Klient A")
    root = make_unit(db, a, "Centrala")
    sales = make_unit(db, a, "Sprzedaż", root)
    north = make_unit(db, a, "Północ", sales)
    it = make_unit(db, a, "IT", root)
    t1 = make_tariff(db, name="Biznes M")
    t2 = make_tariff(db, name="Biznes L")
    phone = make_handset(db, name="Telefon Testowy X")
    lines = []
    for i in range(23):
        unit = [north, sales, it][i % 3]
        emp = make_employee(db, a, unit, name=f"Osoba {chr(65 + i)}{i:02d}", position="Kierowca")
        lines.append(
            make_line(
                db,
                a,
                unit,
                t1 if i % 2 else t2,
                emp,
                handset=phone if i % 5 == 0 else None,
                svc_roaming=(i % 4 == 0),
            )
        )
    b = make_customer(db, name="Klient B")
    b_unit = make_unit(db, b, "Obca centrala")
    foreign = [make_line(db, b, b_unit, t1) for _ in range(2)]
    return {
        "a": a,
        "b": b,
        "root": root,
        "sales": sales,
        "north": north,
        "it": it,
        "b_unit": b_unit,
        "t1": t1,
        "t2": t2,
        "phone": phone,
        "lines": lines,
        "foreign": foreign,
        "admin": make_portal_user(db, a, email="admin@a.example"),
        "it_admin": make_portal_user(db, a, scope_unit=it, email="it@a.example"),
        "viewer": make_portal_user(db, a, role=PortalRole.viewer, email="viewer@a.example"),
        "employee": make_portal_user(db, a, role=PortalRole.employee, email="emp@a.example"),
    }


@pytest.fixture
def world(db):
    return build_world(db)


def sign_in(client, user):
    client.get("/lang/en")
    assert login_portal(client, user.email, PASSWORD).status_code == 302


def ids_on(page_html: str) -> list[int]:
    return [int(i) for i in LINK.findall(page_html)]


def get(client, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code)
    return r.get_data(as_text=True)


def test_list_shows_own_lines_and_the_count(client, world):
    sign_in(client, world["admin"])
    page = get(client, "/fleet/")
    assert "23 lines" in page
    assert set(ids_on(page)) == {ln.id for ln in world["lines"]}
    assert not set(ids_on(page)) & {ln.id for ln in world["foreign"]}
    assert "Osoba A00" in page and "Biznes M" in page


def test_filters_as_the_user_sets_them(client, world):
    sign_in(client, world["admin"])
    lines = world["lines"]

    def shown(query):
        return set(ids_on(get(client, "/fleet/?" + query)))

    sales = world["sales"].id
    assert len(shown(f"unit_id={sales}&subtree=1&subtree=0")) == 16  # checkbox ticked
    assert len(shown(f"unit_id={sales}&subtree=0")) == 8  # not ticked: the unit alone
    assert shown(f"tariff_id={world['t1'].id}") == {
        ln.id for ln in lines if ln.tariff_id == world["t1"].id
    }
    assert shown("service=roaming&service_on=1") == {
        ln.id for i, ln in enumerate(lines) if i % 4 == 0
    }
    assert len(shown("service=roaming&service_on=0")) == 23 - 6
    assert shown(f"handset_id={world['phone'].id}") == {
        ln.id for i, ln in enumerate(lines) if i % 5 == 0
    }
    # Search: name (any case), part of the number, ICCID, IMEI.
    assert shown("q=osoba+h07") == {lines[7].id}
    assert shown("q=" + lines[3].msisdn[-7:]) == {lines[3].id}
    assert shown("q=" + lines[4].iccid) == {lines[4].id}
    assert shown("q=" + lines[5].imei) == {lines[5].id}
    page = get(client, "/fleet/?q=nobody-here")
    assert "0 lines" in page and "No line matches the filter." in page


def test_terminated_lines_are_hidden_unless_asked_for(client, db, world):
    gone = world["lines"][0]
    gone.status = LineStatus.terminated
    world["lines"][1].status = LineStatus.suspended
    db.flush()
    sign_in(client, world["admin"])
    assert gone.id not in ids_on(get(client, "/fleet/"))
    assert ids_on(get(client, "/fleet/?status=terminated")) == [gone.id]
    assert ids_on(get(client, "/fleet/?status=suspended")) == [world["lines"][1].id]
    assert len(ids_on(get(client, "/fleet/?status=any"))) == 23


@pytest.mark.parametrize(
    "query",
    [
        "unit_id=abc&tariff_id=1.5&handset_id=-3&status=deleted&service=teleport&service_on=maybe",
        "sort=password&desc=yes&size=7&after=%%%&before=eyJ",
        "unit_id=99999999999999999999999&size=-1&last=&q=" + "x" * 500,
    ],
)
def test_nonsense_in_the_address_is_ignored(client, world, query):
    sign_in(client, world["admin"])
    page = get(client, "/fleet/?" + query)
    assert "lines" in page


def test_a_unit_of_another_customer_or_division_finds_nothing(client, world):
    sign_in(client, world["admin"])
    assert ids_on(get(client, f"/fleet/?unit_id={world['b_unit'].id}")) == []
    client.post("/logout", data={"csrf_token": csrf_token(get(client, "/fleet/"))})
    sign_in(client, world["it_admin"])
    page = get(client, "/fleet/")
    assert set(ids_on(page)) == {ln.id for i, ln in enumerate(world["lines"]) if i % 3 == 2}
    assert "Sprzedaż" not in page  # not even in the unit filter
    assert ids_on(get(client, f"/fleet/?unit_id={world['sales'].id}")) == []


def _links(page_html: str) -> dict[str, str]:
    """The pager's links by label."""
    out = {}
    for href, label in re.findall(
        r'class="page-link" href="([^"]+)"[^>]*>(.*?)</a>', page_html, re.S
    ):
        out[re.sub(r"<[^>]+>", "", label).strip()] = html.unescape(href)
    return out


def test_paging_forward_back_and_to_the_end_by_the_links(client, db, world):
    for n in range(3):
        emp = make_employee(db, world["a"], world["it"], name=f"Zenon {n}")
        world["lines"].append(make_line(db, world["a"], world["it"], world["t1"], emp))
    names = [f"Osoba {chr(65 + i)}{i:02d}" for i in range(23)] + [f"Zenon {n}" for n in range(3)]
    expected = [ln.id for _n, ln in sorted(zip(names, world["lines"], strict=True), reverse=True)]
    sign_in(client, world["admin"])
    assert _links(get(client, "/fleet/?sort=employee&desc=1")) == {}  # one page: no pager
    page = get(client, "/fleet/?sort=employee&desc=1&size=25")
    assert "26 lines" in page
    first = ids_on(page)
    links = _links(page)
    assert set(links) == {"Next", "Last"}
    page = get(client, links["Next"])
    second = ids_on(page)
    assert set(_links(page)) == {"First", "Previous"}
    assert first + second == expected
    last = get(client, links["Last"])
    assert ids_on(last) == expected[-25:]  # the last page is full too
    back = get(client, _links(last)["Previous"])
    assert ids_on(back) == first  # the real first page, not a short remainder


def test_sorting_by_a_column_header_and_back(client, world):
    sign_in(client, world["admin"])
    page = get(client, "/fleet/")
    header = re.search(r'href="([^"]*sort=tariff[^"]*)"', page).group(1)
    by_tariff = get(client, html.unescape(header))
    assert 'aria-sort="ascending"' in by_tariff
    ids = ids_on(by_tariff)
    tariff_of = {ln.id: ln.tariff_id for ln in world["lines"]}
    # "Biznes L" (t2) before "Biznes M" (t1)
    assert [tariff_of[i] for i in ids] == sorted(
        (tariff_of[i] for i in ids), key=lambda t: 0 if t == world["t2"].id else 1
    )
    header = re.search(r'href="([^"]*sort=tariff[^"]*desc=1[^"]*)"', by_tariff).group(1)
    assert 'aria-sort="descending"' in get(client, html.unescape(header))


def test_chosen_columns_are_remembered_for_the_user(client, app, world):
    sign_in(client, world["admin"])
    page = get(client, "/fleet/?status=suspended")
    assert ">Handset<" in page.replace("\n", "") or "Handset" in page
    r = client.post(
        "/fleet/columns",
        data={
            "csrf_token": csrf_token(page),
            "columns": ["imei", "iccid", "limit"],
            "back": "status=suspended&evil=1",
        },
    )
    assert r.status_code == 302 and r.headers["Location"] == "/fleet/?status=suspended"
    page = get(client, "/fleet/")
    heads = re.findall(r'<th scope="col"[^>]*>\s*(?:<a[^>]*>)?([^<]+)', page)
    assert [h.strip() for h in heads if h.strip()] == ["Number", "IMEI", "ICCID", "Monthly limit"]
    assert world["lines"][5].iccid in page
    # Another user (another browser) keeps the defaults.
    other = app.test_client()
    sign_in(other, world["viewer"])
    assert "Tariff plan" in get(other, "/fleet/")


def test_htmx_gets_only_the_results_and_history_restore_the_page(client, world):
    sign_in(client, world["admin"])
    r = client.get("/fleet/?q=osoba", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "HX-Request" in r.headers["Vary"]
    assert "<html" not in r.get_data(as_text=True) and "23 lines" in r.get_data(as_text=True)
    r = client.get(
        "/fleet/?q=osoba",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in r.get_data(as_text=True)


def test_pending_changes_show_beside_the_confirmed_state(client, db, world):
    line = world["lines"][1]  # roaming off, on t1
    scope = fl.FleetScope(world["a"].id)
    fl.request_service_change(db, ACTOR, scope, [line.id], Service.roaming, True)
    fl.request_tariff_change(db, ACTOR, scope, [line.id], world["t2"], {world["t2"].id})
    fl.request_status_change(db, ACTOR, scope, [line.id], "suspend")
    sign_in(client, world["admin"])
    page = get(client, f"/fleet/?q={line.msisdn}")
    assert "Roaming: off → on, pending" in page
    assert "→ Biznes L, pending" in page
    assert "→ Suspended" in page
    detail = get(client, f"/fleet/{line.id}")
    assert "Waiting" in detail and "Tariff change requested" in detail


def test_the_list_is_a_fixed_number_of_queries(client, rt, world):
    """No query per row: a page of 5 and a page of 23 lines cost the same."""
    sign_in(client, world["admin"])
    statements = []

    def count(*_args, **_kw):
        statements.append(1)

    event.listen(rt.db.engine, "before_cursor_execute", count)
    try:
        get(client, "/fleet/?size=25&q=osoba+a00")
        small = len(statements)
        statements.clear()
        get(client, "/fleet/?size=25")
        large = len(statements)
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", count)
    assert large == small and large <= 14


def test_viewer_reads_without_checkboxes_employee_may_not(client, app, world):
    sign_in(client, world["viewer"])
    page = get(client, "/fleet/")
    assert "23 lines" in page and 'name="ids"' not in page and "bulk-form" not in page
    assert "Change this line" not in get(client, f"/fleet/{world['lines'][0].id}")
    other = app.test_client()
    sign_in(other, world["employee"])
    get(other, "/fleet/", 403)


def test_line_page_shows_everything_but_pin_and_puk(client, db, world):
    line = world["lines"][0]
    line.puk1, line.pin2 = "98765432", "4321"
    db.flush()
    sign_in(client, world["admin"])
    page = get(client, f"/fleet/{line.id}")
    for text in (fl.format_msisdn(line.msisdn), line.iccid, line.imsi, line.imei, "Osoba A00",
                 "Telefon Testowy X", "Centrala", "Sprzedaż", "Północ", "Roaming"):  # fmt: skip
        assert html.escape(text) in page, text
    assert "98765432" not in page and "4321" not in page


def test_other_customers_and_other_divisions_lines_are_404(client, app, world):
    sign_in(client, world["admin"])
    get(client, f"/fleet/{world['foreign'][0].id}", 404)
    get(client, "/fleet/999999999", 404)
    other = app.test_client()
    sign_in(other, world["it_admin"])
    get(other, f"/fleet/{world['lines'][2].id}")  # in IT
    get(other, f"/fleet/{world['lines'][0].id}", 404)  # in Północ


def test_unit_names_are_escaped_and_the_chosen_unit_stays_selected(client, db, world):
    odd = make_unit(db, world["a"], "<b>Zarząd & Spółka</b>", world["root"])
    sign_in(client, world["admin"])
    page = get(client, f"/fleet/?unit_id={odd.id}")
    assert "<b>Zarząd" not in page
    assert (
        f'<option value="{odd.id}" selected>Centrala / &lt;b&gt;Zarząd &amp; Spółka&lt;/b&gt;'
        in page
    )
