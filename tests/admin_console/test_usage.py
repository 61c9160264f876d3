"""Usage files in the console: upload with CSRF, refusals of files that are not usage files,
duplicates, the list, the rejection report, and who may do what."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from models import AuditEvent, FileState, StaffRole, UsageFile
from tests.conftest import csrf_token, login_console
from tests.factories import PASSWORD, make_customer, make_staff, make_unit
from tests.fleet_factories import make_line, make_tariff
from tests.usage_factories import HEADER, load


def sign_in(client, db, role=StaffRole.sales_admin):
    staff = make_staff(db, role)
    login_console(client, staff.email, PASSWORD)
    client.get("/admin/lang/en")
    return staff


def _upload(client, content: bytes, name="usage.csv"):
    token = csrf_token(client.get("/admin/usage/").get_data(as_text=True))
    return client.post(
        "/admin/usage/",
        data={"csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def _files(db):
    return db.scalar(select(func.count()).select_from(UsageFile))


@pytest.fixture
def line(db):
    c = make_customer(db)
    return make_line(db, c, make_unit(db, c, "Firma"), make_tariff(db), msisdn="+48500300001")


def test_upload_is_loaded_listed_and_its_rejections_downloaded(app, client, db, line):
    sign_in(client, db)
    content = (
        f"{HEADER}\n{line.msisdn},2026-09-01T08:00:00Z,voice,out,domestic,60,0.25\n"
        f"+48500399999,2026-09-01T08:00:00Z,voice,out,domestic,60,0.25\n"
    ).encode()
    r = _upload(client, content, "wrzesien.csv")
    assert r.status_code == 302
    file = db.scalar(select(UsageFile))
    assert file.name == "wrzesien.csv" and file.state == FileState.received
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "usage_file.submitted"))
    load(app, file.id)
    page = client.get("/admin/usage/").get_data(as_text=True)
    assert "wrzesien.csv" in page and "Loaded" in page
    report = client.get(f"/admin/usage/{file.id}/rejections.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    lines = report.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "Row;Reason;Value;Row as delivered"
    assert lines[1].startswith("3;No line has this number.;+48500399999;")
    # The same bytes again: recorded once, the user told so.
    r = _upload(client, content, "copy.csv")
    assert r.status_code == 302 and _files(db) == 1
    assert "already delivered" in client.get("/admin/usage/").get_data(as_text=True)


def test_rejection_report_in_polish(app, client, db, line):
    sign_in(client, db)
    _upload(client, f"{HEADER}\n{line.msisdn},wczoraj,voice,out,domestic,60,0.25\n".encode())
    file = db.scalar(select(UsageFile))
    load(app, file.id)
    client.get("/admin/lang/pl")
    text = client.get(f"/admin/usage/{file.id}/rejections.csv").get_data(as_text=True)
    assert text.splitlines()[0].lstrip("\ufeff") == "Wiersz;Przyczyna;Wartość;Wiersz w pliku"
    assert "2;Czas rozpoczęcia" in text


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "The file is empty."),
        (b"numer;data;kwota\n1;2;3\n", "wrong.csv", "Missing: msisdn, started_at"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\x00\x00binary", "a.pdf", "This is not a CSV text file."),
        (f"{HEADER}\n".encode(), "header-only.csv", "The file has a header but no rows."),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(client, db, content, name, message):
    sign_in(client, db)
    r = _upload(client, content, name)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert _files(db) == 0


def test_a_huge_file_is_refused(app, client, db, line):
    console = app.wsgi_app.mounts["/admin"]
    console.config["USAGE_UPLOAD_MAX_BYTES"] = 100 * 1024
    sign_in(client, db)
    row = f"{line.msisdn},2026-09-01T08:00:00Z,voice,out,domestic,60,0.25\n"
    content = (HEADER + "\n" + row * (100 * 1024 // len(row) + 10)).encode()
    r = _upload(client, content)
    assert r.status_code == 422
    assert "larger than 100 kB" in r.get_data(as_text=True)
    assert _files(db) == 0


def test_no_file_and_no_csrf_are_refused(client, db):
    sign_in(client, db)
    token = csrf_token(client.get("/admin/usage/").get_data(as_text=True))
    r = client.post("/admin/usage/", data={"csrf_token": token})
    assert r.status_code == 422 and "Choose the usage file" in r.get_data(as_text=True)
    r = client.post(
        "/admin/usage/",
        data={"file": (io.BytesIO(b"x"), "a.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and _files(db) == 0


def test_account_managers_read_the_list_but_do_not_upload_or_download(app, client, db, line):
    admin_client = app.test_client()
    sign_in(admin_client, db)
    row = "+48500399999,2026-09-01T08:00:00Z,sms,out,eu,1,0.2"
    _upload(admin_client, f"{HEADER}\n{row}\n".encode())
    file = db.scalar(select(UsageFile))
    load(app, file.id)
    sign_in(client, db, StaffRole.account_manager)
    page = client.get("/admin/usage/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert file.name in body and "Deliver a file" not in body
    assert client.get(f"/admin/usage/{file.id}/rejections.csv").status_code == 403
    token = csrf_token(admin_client.get("/admin/usage/").get_data(as_text=True))
    r = client.post(
        "/admin/usage/",
        data={"csrf_token": token, "file": (io.BytesIO(b"x"), "a.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code in (400, 403) and _files(db) == 1


def test_unknown_file_report_is_404(client, db):
    sign_in(client, db)
    assert client.get("/admin/usage/999999/rejections.csv").status_code == 404
