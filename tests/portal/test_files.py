"""My files: the user's own tasks only; downloads; expired files."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import BackgroundTask, PortalRole, TaskStatus
from models.base import utcnow
from services.fleet_io import housekeeping
from tests.conftest import login_portal
from tests.factories import PASSWORD, make_customer, make_portal_user


def _task(db, user, kind="fleet_export", **kw) -> BackgroundTask:
    task = BackgroundTask(
        kind=kind,
        customer_id=user.customer_id,
        portal_user_id=user.id,
        status=kw.pop("status", TaskStatus.done),
        params=kw.pop("params", {"fmt": "csv"}),
        **kw,
    )
    db.add(task)
    db.flush()
    return task


def _done_export(db, rt, user, name="flota-firma-2026-11-23.csv", content=b"a;b\r\n"):
    task = _task(db, user, file_name=name, content_type="text/csv; charset=utf-8")
    task.file_path = f"tasks/{task.id}/export.csv"
    task.file_size = rt.files.save_bytes(task.file_path, content)
    task.expires_at = utcnow() + timedelta(days=7)
    task.finished_at = utcnow()
    db.flush()
    return task


@pytest.fixture
def people(db):
    c = make_customer(db)
    return {
        "me": make_portal_user(db, c),
        "colleague": make_portal_user(db, c),
        "viewer": make_portal_user(db, c, role=PortalRole.viewer),
        "stranger": make_portal_user(db, make_customer(db)),
    }


def _login(client, user):
    client.get("/lang/en")
    assert login_portal(client, user.email, PASSWORD).status_code == 302


def test_my_files_lists_only_my_tasks_newest_first(client, db, rt, people):
    old = _done_export(db, rt, people["me"], name="flota-stara.csv")
    new = _task(
        db,
        people["me"],
        kind="fleet_import_check",
        status=TaskStatus.running,
        params={"original_name": "przydzialy.xlsx"},
        total_units=10,
        done_units=4,
    )
    _done_export(db, rt, people["colleague"], name="flota-kolegi.csv")
    _done_export(db, rt, people["stranger"], name="flota-obcych.csv")
    _login(client, people["me"])
    page = client.get("/files/").get_data(as_text=True)
    assert "flota-kolegi" not in page and "flota-obcych" not in page
    assert page.index("przydzialy.xlsx") < page.index("flota-stara.csv")
    assert f"/files/{old.id}/download" in page and f"/files/{new.id}" in page
    assert 'value="40"' in page  # the running task's progress


def test_download_my_file(client, db, rt, people):
    task = _done_export(db, rt, people["me"], content=b"\xef\xbb\xbfNumer;Status\r\n")
    _login(client, people["me"])
    r = client.get(f"/files/{task.id}/download")
    data = r.data
    r.close()
    assert r.status_code == 200 and data == b"\xef\xbb\xbfNumer;Status\r\n"
    assert "flota-firma-2026-11-23.csv" in r.headers["Content-Disposition"]
    assert "no-store" in r.headers["Cache-Control"]


@pytest.mark.parametrize("owner", ["colleague", "stranger"])
def test_someone_elses_task_is_not_found(client, db, rt, people, owner):
    task = _done_export(db, rt, people[owner])
    _login(client, people["me"])
    for url in (
        f"/files/{task.id}",
        f"/files/{task.id}/status",
        f"/files/{task.id}/download",
        f"/fleet/import/{task.id}",
        f"/fleet/import/{task.id}/errors",
    ):
        assert client.get(url).status_code == 404, url


def test_a_task_moved_to_another_customer_is_not_found(client, db, rt, people):
    task = _done_export(db, rt, people["me"])
    task.customer_id = people["stranger"].customer_id  # the owner matches, the customer not
    db.flush()
    _login(client, people["me"])
    assert client.get(f"/files/{task.id}/download").status_code == 404


def test_expired_files_are_deleted_and_the_task_stays(client, db, rt, people):
    task = _done_export(db, rt, people["me"])
    path = rt.files.path(task.file_path)
    task.expires_at = utcnow() - timedelta(minutes=1)
    fresh = _done_export(db, rt, people["me"])
    assert housekeeping.expire_files(db, rt.files) == 1
    assert not path.exists() and not path.parent.exists()
    assert task.file_path is None and fresh.file_path is not None
    assert housekeeping.expire_files(db, rt.files) == 0
    _login(client, people["me"])
    r = client.get(f"/files/{task.id}/download", follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "This file has expired and was deleted" in page and "Expired" in page


def test_failed_task_says_so_in_the_users_language(client, db, people):
    task = _task(
        db, people["me"], status=TaskStatus.failed, message="The task could not be completed."
    )
    _login(client, people["me"])
    page = client.get(f"/files/{task.id}").get_data(as_text=True)
    assert "Please try again" in page
    assert client.get(f"/files/{task.id}/download").status_code == 302


def test_anonymous_is_sent_to_sign_in(client, db, rt, people):
    task = _done_export(db, rt, people["me"])
    assert client.get("/files/").status_code == 302
    assert "/login" in client.get(f"/files/{task.id}/download").headers["Location"]
