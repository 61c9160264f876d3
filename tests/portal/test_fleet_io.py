"""Fleet export and import through the portal, as the users meet them. Jobs run in-process
here (tests/workers/test_fleet_io_jobs.py runs them in a real worker)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import BackgroundTask, Line, PortalRole, TaskStatus
from tests.conftest import csrf_token, login_portal, press_export
from tests.factories import PASSWORD, make_customer, make_portal_user, make_unit
from tests.fleet_factories import make_employee, make_line, make_tariff
from workers import fleet_io_jobs


@pytest.fixture
def world(db, redis_clean):
    c = make_customer(db, name="Polmarket S.A.")
    root = make_unit(db, c, "Polmarket S.A.")
    sales = make_unit(db, c, "Sprzedaż", root)
    it = make_unit(db, c, "IT", root)
    it.cost_centre = "PM-2000"
    tariff = make_tariff(db, name="Biznes M")
    anna = make_employee(db, c, sales, name="Anna Nowak", email="anna@polmarket.example")
    lines = [
        make_line(db, c, sales, tariff, anna, msisdn="+48601200300"),
        make_line(db, c, sales, tariff, msisdn="+48601200301"),
        make_line(db, c, it, tariff, msisdn="+48601200302"),
    ]
    other = make_customer(db, name="Transkom")
    make_line(db, other, make_unit(db, other, "Transkom"), tariff, msisdn="+48601200399")
    db.flush()
    return {
        "customer": c,
        "sales": sales,
        "it": it,
        "lines": lines,
        "anna": anna,
        "admin": make_portal_user(db, c),
        "sales_admin": make_portal_user(db, c, scope_unit=sales),
        "viewer": make_portal_user(db, c, role=PortalRole.viewer),
        "employee": make_portal_user(db, c, role=PortalRole.employee, employee_id=anna.id),
        "other_admin": make_portal_user(db, other),
    }


def _login(client, user):
    client.get("/lang/en")
    assert login_portal(client, user.email, PASSWORD).status_code == 302


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))


def _numbers(rows) -> list[str]:
    return [r[1].lstrip("'") for r in rows[1:]]


def test_small_export_downloads_at_once(client, world):
    _login(client, world["admin"])
    r = press_export(client, "/fleet/", "csv")
    assert r.status_code == 200
    assert re.search(
        r"attachment; filename=fleet-polmarket-\d{4}-\d\d-\d\d\.csv",
        r.headers["Content-Disposition"],
    )
    assert r.data.startswith(b"\xef\xbb\xbf")
    assert _numbers(_csv_rows(r)) == ["+48601200300", "+48601200301", "+48601200302"]


def test_export_keeps_the_fleet_list_filter(client, world):
    _login(client, world["admin"])
    r = press_export(client, f"/fleet/?unit_id={world['it'].id}", "xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    assert [row[1].value for row in ws.iter_rows(min_row=2)] == ["+48601200302"]
    r = press_export(client, "/fleet/?q=Anna", "csv")
    assert _numbers(_csv_rows(r)) == ["+48601200300"]


def test_export_follows_a_filter_changed_in_place(client, world):
    """The list filtered with htmx (the page stays, its results change): the export buttons
    come along with the results and export what the list now shows."""
    _login(client, world["admin"])
    r = client.get("/fleet/?q=Anna", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert 'id="fleet-export" hx-swap-oob="true"' in html
    assert '<input type="hidden" name="q" value="Anna">' in html
    token = csrf_token(html)
    r = client.post("/fleet/export", data={"csrf_token": token, "q": "Anna", "fmt": "csv"})
    assert _numbers(_csv_rows(r)) == ["+48601200300"]


def test_subtree_admin_exports_only_the_subtree(client, world):
    _login(client, world["sales_admin"])
    rows = _csv_rows(press_export(client, "/fleet/", "csv"))
    assert _numbers(rows) == ["+48601200300", "+48601200301"]
    # A unit outside the subtree, asked for by hand: nothing of it.
    token = csrf_token(client.get("/fleet/").get_data(as_text=True))
    rows = _csv_rows(
        client.post(
            "/fleet/export", data={"csrf_token": token, "fmt": "csv", "unit_id": world["it"].id}
        )
    )
    assert _numbers(rows) == []


def test_viewer_exports_but_cannot_import_and_employee_does_neither(client, world):
    _login(client, world["viewer"])
    assert press_export(client, "/fleet/", "csv").status_code == 200
    assert client.get("/fleet/import").status_code == 403
    assert client.get("/fleet/import/template.xlsx").status_code == 403
    client.post(
        "/logout", data={"csrf_token": csrf_token(client.get("/files/").get_data(as_text=True))}
    )
    _login(client, world["employee"])
    token = csrf_token(client.get("/files/").get_data(as_text=True))
    r = client.post("/fleet/export", data={"csrf_token": token, "fmt": "csv"})
    assert r.status_code == 403
    assert client.get("/fleet/import").status_code == 403


def test_unknown_export_format_is_404(client, world):
    _login(client, world["admin"])
    token = csrf_token(client.get("/fleet/").get_data(as_text=True))
    assert client.post("/fleet/export", data={"csrf_token": token, "fmt": "pdf"}).status_code == 404
    # A link or a form without the token starts nothing.
    assert client.get("/fleet/export?fmt=csv").status_code == 405
    assert client.post("/fleet/export", data={"fmt": "csv"}).status_code == 400


def test_large_export_runs_as_a_task_with_a_progress_page(app, client, world, db):
    app.config["FLEET_EXPORT_INLINE_LIMIT"] = 2
    _login(client, world["admin"])
    r = press_export(client, "/fleet/", "xlsx")
    assert r.status_code == 302
    task = db.scalar(select(BackgroundTask).where(BackgroundTask.kind == "fleet_export"))
    assert r.headers["Location"].endswith(f"/files/{task.id}")
    page = client.get(f"/files/{task.id}").get_data(as_text=True)
    assert "Waiting for its turn" in page and 'hx-trigger="every 1s"' in page
    with app.app_context():
        assert fleet_io_jobs.export_fleet(task.id) == "done"
        assert fleet_io_jobs.export_fleet(task.id) == "skipped"  # delivered twice: no harm
    status = client.get(f"/files/{task.id}/status", headers={"HX-Request": "true"})
    assert "hx-trigger" not in status.get_data(as_text=True)  # finished: the polling stops
    assert f"/files/{task.id}/download" in status.get_data(as_text=True)
    r = client.get(f"/files/{task.id}/download")
    data = r.data
    r.close()
    assert r.status_code == 200 and "fleet-polmarket-" in r.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(data)).active
    assert ws.max_row == 4


# --- import ----------------------------------------------------------------------------------


def _upload(client, name: str, data: bytes):
    """Post the file as a browser would (the body built here: the test client would spool a
    large one to a temporary file it never closes)."""
    token = csrf_token(client.get("/fleet/import").get_data(as_text=True))
    boundary = "----asystent-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        "/fleet/import", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("flota.pdf", b"%PDF", "This type of file cannot be imported"),
        ("flota.csv", b"", "The file is empty"),
        ("flota.csv", bytes(range(256)) * 8, "The file could not be read"),
        ("flota.xls", b"\xd0\xcf\x11\xe0....", "old Excel format"),
        ("flota.csv", b"1" * (10 * 1024 * 1024 + 1), "larger than 10 MB"),
    ],
)
def test_bad_files_get_a_clear_message(client, world, db, name, data, message):
    _login(client, world["admin"])
    r = _upload(client, name, data)
    assert r.status_code in (400, 413)
    assert message in r.get_data(as_text=True)
    assert db.scalar(select(BackgroundTask.id)) is None


def test_no_file_chosen(client, world):
    _login(client, world["admin"])
    token = csrf_token(client.get("/fleet/import").get_data(as_text=True))
    r = client.post("/fleet/import", data={"csrf_token": token}, content_type="multipart/form-data")
    assert r.status_code == 400 and "Choose a file to import." in r.get_data(as_text=True)


def _check(app, client, world, db, text: str):
    r = _upload(client, "flota.csv", text.encode("utf-8"))
    assert r.status_code == 302, r.get_data(as_text=True)
    task = db.scalar(
        select(BackgroundTask)
        .where(BackgroundTask.kind == "fleet_import_check")
        .order_by(BackgroundTask.id.desc())
    )
    assert r.headers["Location"].endswith(f"/fleet/import/{task.id}")
    with app.app_context():
        assert fleet_io_jobs.check_import(task.id) == "done"
    return task


def test_missing_column_is_reported_on_the_preview(app, client, world, db):
    _login(client, world["admin"])
    task = _check(app, client, world, db, "Telefon komórkowy;Dział\n601200300;IT\n")
    page = client.get(f"/fleet/import/{task.id}").get_data(as_text=True)
    assert "This file cannot be imported." in page and "no column with phone numbers" in page


def test_preview_shows_errors_and_apply_is_disabled(app, client, world, db):
    _login(client, world["admin"])
    task = _check(app, client, world, db, "Numer;Jednostka\n601200300;IT\n601200399;IT\n")
    page = client.get(f"/fleet/import/{task.id}").get_data(as_text=True)
    assert "There is no such number in your company" in page
    assert re.search(r"<button[^>]*disabled", page)
    report = client.get(f"/fleet/import/{task.id}/errors")
    rows = _csv_rows(report)
    assert rows[1][:3] == ["3", "Numer", "601200399"]
    token = csrf_token(page)
    r = client.post(f"/fleet/import/{task.id}/apply", data={"csrf_token": token})
    assert r.status_code == 302
    assert db.get(Line, world["lines"][0].id).unit_id == world["sales"].id  # nothing applied
    assert (
        db.scalar(select(BackgroundTask.id).where(BackgroundTask.kind == "fleet_import_apply"))
        is None
    )


def test_check_then_apply_once(app, client, world, db):
    _login(client, world["admin"])
    task = _check(
        app,
        client,
        world,
        db,
        "Number;Unit;E-mail;Name\n601200300;IT;;\n601200301;;jan@polmarket.example;Jan Kowalski\n",
    )
    page = client.get(f"/fleet/import/{task.id}").get_data(as_text=True)
    assert "Polmarket S.A. / Sprzedaż" in page and "Polmarket S.A. / IT" in page
    assert "Jan Kowalski &lt;jan@polmarket.example&gt;" in page
    token = csrf_token(page)
    r = client.post(f"/fleet/import/{task.id}/apply", data={"csrf_token": token})
    apply_task = db.scalar(
        select(BackgroundTask).where(BackgroundTask.kind == "fleet_import_apply")
    )
    assert r.headers["Location"].endswith(f"/files/{apply_task.id}")
    again = client.post(f"/fleet/import/{task.id}/apply", data={"csrf_token": token})
    assert again.headers["Location"].endswith(f"/files/{apply_task.id}")  # the same task
    with app.app_context():
        assert fleet_io_jobs.apply_import(apply_task.id) == "done"
        assert fleet_io_jobs.apply_import(apply_task.id) == "skipped"
    db.expire_all()
    line = db.get(Line, world["lines"][0].id)
    assert (line.unit_id, line.unit_path) == (world["it"].id, world["it"].path)
    page = client.get(f"/files/{apply_task.id}").get_data(as_text=True)
    assert "2 lines changed" in page and "1 new employee added" in page
    kinds = db.scalars(select(BackgroundTask.kind)).all()
    assert sorted(kinds) == ["fleet_import_apply", "fleet_import_check"]


def test_apply_of_data_that_changed_since_the_check_changes_nothing(app, client, world, db):
    _login(client, world["admin"])
    task = _check(app, client, world, db, "Number;Unit\n601200300;IT\n601200301;IT\n")
    world["it"].name = "Informatyka"  # renamed after the check: "IT" no longer exists
    db.flush()
    token = csrf_token(client.get(f"/fleet/import/{task.id}").get_data(as_text=True))
    client.post(f"/fleet/import/{task.id}/apply", data={"csrf_token": token})
    apply_task = db.scalar(
        select(BackgroundTask).where(BackgroundTask.kind == "fleet_import_apply")
    )
    with app.app_context():
        assert fleet_io_jobs.apply_import(apply_task.id) == "stale"
    db.expire_all()
    assert db.get(BackgroundTask, apply_task.id).status == TaskStatus.failed
    assert {db.get(Line, ln.id).unit_id for ln in world["lines"][:2]} == {world["sales"].id}
    page = client.get(f"/files/{apply_task.id}").get_data(as_text=True)
    assert "The data changed after the file was checked" in page


def test_check_page_polls_and_then_goes_to_the_preview(app, client, world, db):
    _login(client, world["admin"])
    r = _upload(client, "flota.csv", b"Number;Unit\n601200300;IT\n")
    task = db.scalar(select(BackgroundTask).where(BackgroundTask.kind == "fleet_import_check"))
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert f'hx-get="/files/{task.id}/status"' in page
    with app.app_context():
        fleet_io_jobs.check_import(task.id)
    status = client.get(f"/files/{task.id}/status", headers={"HX-Request": "true"})
    assert status.headers["HX-Redirect"] == f"/fleet/import/{task.id}"


def test_another_users_import_is_not_found(app, client, world, db):
    _login(client, world["admin"])
    task = _check(app, client, world, db, "Number;Unit\n601200300;IT\n")
    client.post(
        "/logout", data={"csrf_token": csrf_token(client.get("/files/").get_data(as_text=True))}
    )
    _login(client, world["other_admin"])
    for url in (f"/fleet/import/{task.id}", f"/fleet/import/{task.id}/errors"):
        assert client.get(url).status_code == 404
    token = csrf_token(client.get("/files/").get_data(as_text=True))
    assert (
        client.post(f"/fleet/import/{task.id}/apply", data={"csrf_token": token}).status_code == 404
    )


def test_templates_download(client, world):
    _login(client, world["admin"])
    r = client.get("/fleet/import/template.csv")
    assert r.status_code == 200 and r.data.decode("utf-8-sig").startswith("Number;Unit;Cost centre")
    ws = load_workbook(io.BytesIO(client.get("/fleet/import/template.xlsx").data)).active
    assert [c.value for c in ws[1]][:2] == ["Number", "Unit"]
