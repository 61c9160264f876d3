"""Fleet export and import through a real RQ worker, and the sweeps that keep tasks moving."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import BackgroundTask, Employee, Line, TaskStatus
from models.base import utcnow
from tests.conftest import csrf_token, login_portal, press_export
from tests.factories import PASSWORD, make_customer, make_portal_user, make_unit
from tests.fleet_factories import make_line, make_tariff
from workers import fleet_io_jobs, queues

pytestmark = pytest.mark.worker


def run_worker(session):
    session.rollback()  # end our read transaction: on SQLite it would hold the write lock
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "worker", "--burst"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture
def company(committed):
    c = make_customer(committed, name="Polmarket S.A.")
    root = make_unit(committed, c, "Polmarket S.A.")
    sales = make_unit(committed, c, "Sprzedaż", root)
    it = make_unit(committed, c, "IT", root)
    tariff = make_tariff(committed)
    lines = [make_line(committed, c, sales, tariff, msisdn=f"+486012003{i:02d}") for i in range(30)]
    admin = make_portal_user(committed, c)
    committed.commit()
    return {"customer": c, "sales": sales, "it": it, "lines": lines, "admin": admin}


def _client(app, user):
    client = app.test_client()
    client.get("/lang/en")
    assert login_portal(client, user.email, PASSWORD).status_code == 302
    return client


def _task(session, kind) -> BackgroundTask:
    """The newest task of this kind; the read transaction ends (on SQLite it holds the write
    lock the web requests and the worker need)."""
    session.expire_all()
    task = session.scalar(
        select(BackgroundTask).where(BackgroundTask.kind == kind).order_by(BackgroundTask.id.desc())
    )
    session.commit()
    return task


def test_large_export_is_made_by_a_worker_and_downloaded(app, committed, company):
    app.config["FLEET_EXPORT_INLINE_LIMIT"] = 10
    client = _client(app, company["admin"])
    r = press_export(client, "/fleet/", "csv")
    assert r.status_code == 302
    task = _task(committed, "fleet_export")
    assert task.status == TaskStatus.queued
    proc = run_worker(committed)
    task = _task(committed, "fleet_export")
    assert task.status == TaskStatus.done, proc.stderr[-3000:]
    assert task.done_units == task.total_units == 30 and task.expires_at > utcnow()
    r = client.get(f"/files/{task.id}/download")
    data = r.data
    r.close()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 31 and rows[0][0] == "Number"


def test_import_is_checked_and_applied_by_a_worker(app, committed, company):
    client = _client(app, company["admin"])
    text = "Number;Unit;E-mail;Name\n"
    text += "".join(f"+486012003{i:02d};IT;;\n" for i in range(20))
    text += "+48601200321;;ewa@polmarket.example;Ewa Lis\n"
    token = csrf_token(client.get("/fleet/import").get_data(as_text=True))
    r = client.post(
        "/fleet/import",
        data={"csrf_token": token, "file": (io.BytesIO(text.encode()), "przydzialy.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    run_worker(committed)
    check = _task(committed, "fleet_import_check")
    assert check.status == TaskStatus.done
    assert check.result["changes"] == 21 and check.result["errors"] == 0
    page = client.get(f"/fleet/import/{check.id}").get_data(as_text=True)
    r = client.post(f"/fleet/import/{check.id}/apply", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    run_worker(committed)
    applied = _task(committed, "fleet_import_apply")
    assert applied.status == TaskStatus.done, applied.message
    assert applied.result["moved_lines"] == 20 and applied.result["created_employees"] == 1
    moved = committed.scalars(select(Line).where(Line.unit_id == company["it"].id)).all()
    assert len(moved) == 20 and {ln.unit_path for ln in moved} == {company["it"].path}
    ewa = committed.scalar(select(Employee).where(Employee.email == "ewa@polmarket.example"))
    assert committed.get(Line, company["lines"][21].id).employee_id == ewa.id


def test_a_lost_job_is_enqueued_again_by_the_sweep(app, rt, committed, company):
    task = BackgroundTask(
        kind="fleet_export",
        customer_id=company["customer"].id,
        portal_user_id=company["admin"].id,
        status=TaskStatus.queued,
        params={
            "fmt": "xlsx",
            "filter": {},
            "scope": {
                "customer_id": company["customer"].id,
                "unit_path": None,
                "employee_id": None,
            },
            "locale": "pl",
            "file_name": "flota.xlsx",
        },
    )
    committed.add(task)
    committed.commit()
    committed.execute(
        update(BackgroundTask).values(updated_at=utcnow() - timedelta(minutes=10))
    )  # its job never reached Redis
    committed.commit()
    assert rt.queue(queues.DOCUMENTS).count == 0
    with app.app_context():
        assert fleet_io_jobs.sweep_lost_tasks() == 1
        assert fleet_io_jobs.sweep_lost_tasks() == 0  # queued now, not lost
    assert rt.queue(queues.DOCUMENTS).count == 1
    proc = run_worker(committed)
    task = _task(committed, "fleet_export")
    assert task.status == TaskStatus.done, proc.stderr[-3000:]
    assert task.params["attempts"] == 1
