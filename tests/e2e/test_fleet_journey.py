"""A fleet administrator searches the fleet, ticks lines, moves them to another unit, sees them
there with the move in each line's history, then exports the unit's lines to CSV and XLSX;
last, moves every line matching a search at once. The exports are larger than the page sends
at once here, so each becomes a background task that a real RQ worker process carries out
while the page shows its progress; the files are downloaded and read. Through a real browser,
in Polish (the default language).
"""

from __future__ import annotations

import csv
import io
import re
import threading

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.e2e.conftest import click_menu, sign_in
from tests.e2e.test_backorder_journey import start_worker, stop_worker
from tests.factories import make_customer, make_portal_user, make_unit
from tests.fleet_factories import make_employee, make_line, make_tariff

pytestmark = [pytest.mark.browser, pytest.mark.worker]
WAIT_MS = 30_000


@pytest.fixture
def fleet_server(rt, committed):
    """The whole WSGI app on loopback, with exports of more than one line made in the
    background (the page's own limit is thousands)."""
    import wsgi

    app = wsgi.create_app(rt)
    app.config["FLEET_EXPORT_INLINE_LIMIT"] = 1
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def build_fleet(session) -> dict:
    c = make_customer(session, name="Wędrowiec S.A.")
    root = make_unit(session, c, "Centrala")
    sales = make_unit(session, c, "Sprzedaż", root)
    it = make_unit(session, c, "Informatyka", root)
    tariff = make_tariff(session, name="Biznes Podróż")
    names = ["Jan Kowalski", "Anna Kowalska", "Piotr Kowalczyk", "Ewa Nowak", "Adam Wiśniewski"]
    lines = {}
    for name in names:
        emp = make_employee(session, c, sales, name=name)
        lines[name] = make_line(session, c, sales, tariff, emp)
    admin = make_portal_user(session, c, email="flota@wedrowiec.example")
    session.commit()
    return {
        "admin": admin.email,
        "it_id": it.id,
        "root_id": root.id,
        "lines": {name: (line.id, line.msisdn) for name, line in lines.items()},
    }


def export_through_a_task(page, live_server: str, link_text: str) -> bytes:
    """Press an export button; the task page polls its status; download the file when ready."""
    page.get_by_role("button", name=link_text).click()
    page.wait_for_url(re.compile(r".*/files/\d+$"))
    download_link = page.locator("#task-status a[download]")
    download_link.wait_for(timeout=WAIT_MS)  # the worker finished: the panel shows the file
    with page.expect_download() as info:
        download_link.click()
    path = info.value.path()
    with open(path, "rb") as fh:
        return fh.read()


def test_search_bulk_move_and_export(rt, fleet_server, page, committed):
    data = build_fleet(committed)
    committed.close()  # hold no transaction: on SQLite it would block the server and worker
    live_server = fleet_server
    kowal = ["Jan Kowalski", "Anna Kowalska", "Piotr Kowalczyk"]
    moved = ["Jan Kowalski", "Piotr Kowalczyk"]

    # --- sign in and search the fleet ------------------------------------------------------
    sign_in(page, live_server, data["admin"])
    click_menu(page, "/fleet/")
    page.wait_for_url(f"{live_server}/fleet/")
    rows = page.locator("#fleet-results tbody tr")
    assert rows.count() == 5

    page.fill("#fleet-q", "kowal")  # htmx asks for the results as the user types
    page.wait_for_url(re.compile(r".*/fleet/\?q=kowal$"))
    expect(rows).to_have_count(3)
    shown = rows.all_inner_texts()
    for name in kowal:
        assert any(name in row for row in shown), (name, shown)
    assert "3 linie spełniają kryteria filtra" in page.locator(".fleet-count").inner_text()

    # --- tick two lines and move them to another unit ---------------------------------------
    for name in moved:
        line_id, _msisdn = data["lines"][name]
        page.check(f"input[name=ids][value='{line_id}']")
    assert page.locator("[data-selected-count]").inner_text().strip() == "2"
    assert page.is_checked("#target-selected")
    page.select_option("#action", "move")
    # The units are fetched when the unit select comes into view.
    page.locator(f"#unit_id option[value='{data['it_id']}']").wait_for(state="attached")
    page.select_option("#unit_id", str(data["it_id"]))
    page.get_by_role("button", name="Dalej").click()
    page.wait_for_url(f"{live_server}/fleet/bulk")
    assert "2" in page.locator(".confirm-question").inner_text()
    assert "Informatyka" in page.locator(".confirm-question").inner_text()
    page.get_by_role("button", name="Tak, zmień").click()
    page.wait_for_url(re.compile(r".*/fleet/\?q=kowal&.*"))
    assert "Informatyka" in page.locator(".alert-success").inner_text()

    # --- the lines are in their new unit, and their history says so --------------------------
    page.goto(f"{live_server}/fleet/?unit_id={data['it_id']}")
    shown = rows.all_inner_texts()
    assert len(shown) == 2
    for name in moved:
        assert any(name in row for row in shown), (name, shown)
    line_id, _msisdn = data["lines"][moved[0]]
    page.click(f"#fleet-results a[href='/fleet/{line_id}']")
    page.wait_for_url(f"{live_server}/fleet/{line_id}")
    assert "Informatyka" in page.locator(".unit-crumbs").inner_text()
    assert "Przeniesiono do innej jednostki" in page.locator(".history-list").inner_text()
    page.go_back()
    page.wait_for_url(re.compile(rf".*/fleet/\?unit_id={data['it_id']}$"))

    # --- export the unit's lines: background tasks carried out by a real worker -------------
    worker = start_worker()
    try:
        csv_bytes = export_through_a_task(page, live_server, "Eksport CSV")
        page.goto(f"{live_server}/fleet/?unit_id={data['it_id']}")
        xlsx_bytes = export_through_a_task(page, live_server, "Eksport XLSX")
    finally:
        logs = stop_worker(worker)
    assert worker.returncode == 0, logs[-3000:]

    text = csv_bytes.decode("utf-8-sig")
    rows_csv = list(csv.reader(io.StringIO(text), delimiter=";" if ";" in text else ","))
    header, body = rows_csv[0], rows_csv[1:]
    assert len(body) == 2, rows_csv
    numbers = {data["lines"][name][1] for name in moved}
    # A cell starting with "+" is written with a leading apostrophe (no formulas in Excel).
    csv_cells = {cell.lstrip("'") for row in body for cell in row}
    assert numbers <= csv_cells, (header, body)
    assert "Aktywna" in csv_cells  # a line's status, not the word for active users

    sheet = load_workbook(io.BytesIO(xlsx_bytes), read_only=True).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    xlsx_cells = {str(c) for row in values[1:] for c in row if c is not None}
    assert len([row for row in values[1:] if any(row)]) == 2, values
    assert numbers <= xlsx_cells, values

    # --- all lines matching a filter, not only those ticked on the page -----------------------
    page.goto(f"{live_server}/fleet/?q=kowal")
    expect(rows).to_have_count(3)
    page.check("#target-all")
    page.select_option("#action", "move")
    page.locator(f"#unit_id option[value='{data['root_id']}']").wait_for(state="attached")
    page.select_option("#unit_id", str(data["root_id"]))
    page.get_by_role("button", name="Dalej").click()
    page.wait_for_url(f"{live_server}/fleet/bulk")
    assert "3" in page.locator(".confirm-question").inner_text()
    page.get_by_role("button", name="Tak, zmień").click()
    page.wait_for_url(re.compile(r".*/fleet/\?q=kowal(&.*)?$"))
    page.goto(f"{live_server}/fleet/?unit_id={data['root_id']}&subtree=0")
    shown = rows.all_inner_texts()
    assert len(shown) == 3
    for name in kowal:
        assert any(name in row for row in shown), (name, shown)
    assert page.console_errors == []
