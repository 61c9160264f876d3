"""The ZIP of a period's invoice documents: asked for in the portal (CSRF on), built by a real
RQ worker with progress, waiting in My files; every document in it validates; the range is
checked and nobody else reaches the file; a job Redis lost is enqueued again by the sweep of
lost tasks, and a task lost again and again fails with the reason."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from models import BackgroundTask, PortalRole, TaskStatus
from models.base import utcnow
from services.billing_period import Period
from tests.billing_factories import billing_customer
from tests.conftest import csrf_token, login_portal
from tests.einvoice_checks import fa3_errors, ubl_errors
from tests.factories import PASSWORD, make_portal_user
from tests.services.test_billing import run_for
from tests.workers.test_fleet_io_jobs import run_worker
from workers import fleet_io_jobs, queues

pytestmark = pytest.mark.worker


def _client(app, email: str):
    client = app.test_client()
    assert login_portal(client, email, PASSWORD).status_code == 302
    return client


def _ask(client, **form):
    token = csrf_token(client.get("/invoices/").get_data(as_text=True))
    return client.post("/invoices/zip", data={**form, "csrf_token": token})


def _tasks(session) -> int:
    session.rollback()
    count = session.scalar(select(func.count()).select_from(BackgroundTask))
    session.rollback()  # on SQLite a read transaction holds the write lock
    return count


def test_zip_of_a_period_built_by_the_worker(app, committed):
    customer, _t, _l = billing_customer(committed, 3, fee="40.00")
    other, _t2, _l2 = billing_customer(committed, 1)
    committed.commit()
    oct_ = run_for(committed, customer, Period.month(2026, 10))
    nov = run_for(committed, customer)
    sep = run_for(committed, customer, Period.month(2026, 9))
    run_for(committed, other)
    admin = make_portal_user(committed, customer)
    stranger = make_portal_user(committed, other)
    employee = make_portal_user(committed, customer, role=PortalRole.employee)
    committed.commit()
    numbers = {oct_.number, nov.number}
    sep_number = sep.number
    admin, stranger, employee = admin.email, stranger.email, employee.email
    committed.rollback()  # on SQLite a read transaction holds the write lock

    client = _client(app, admin)
    r = _ask(client, **{"from": "2026-10", "to": "2026-11"})
    assert r.status_code == 302 and "/files/" in r.headers["Location"]
    task_url = r.headers["Location"]
    committed.rollback()
    task = committed.scalar(select(BackgroundTask).where(BackgroundTask.kind == "invoice_zip"))
    assert task.status == TaskStatus.queued
    run_worker(committed)
    committed.expire_all()
    task = committed.get(BackgroundTask, task.id)
    assert task.status == TaskStatus.done, task.message
    assert (task.done_units, task.total_units, task.result) == (2, 2, {"invoices": 2})
    committed.rollback()
    # Nobody else reaches the task or its file.
    other_client = _client(app, stranger)
    assert other_client.get(task_url).status_code == 404
    assert other_client.get(f"{task_url}/download").status_code == 404
    emp_client = _client(app, employee)
    token = csrf_token(emp_client.get("/my/").get_data(as_text=True))  # the sign-out form's
    r = emp_client.post("/invoices/zip", data={"from": "2026-10", "csrf_token": token})
    assert r.status_code == 403
    assert "faktury-2026-10-2026-11.zip" in client.get("/files/").get_data(as_text=True)
    r = client.get(f"{task_url}/download")
    assert r.status_code == 200 and r.content_type == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.data))
    r.close()
    names = zf.namelist()
    assert len(names) == 10 and sep_number.replace("/", "-") not in " ".join(names)
    for number in numbers:
        base = number.replace("/", "-")
        assert fa3_errors(zf.read(f"{base}/{base}-FA3.xml")) == []
        assert ubl_errors(zf.read(f"{base}/{base}-UBL.xml")) == []
        assert zf.read(f"{base}/{base}.pdf").startswith(b"%PDF")
        detail = zf.read(f"{base}/{base}-specyfikacja.csv").decode("utf-8-sig")
        assert detail.startswith("position;") and "CC-200" in detail
        appendix = zf.read(f"{base}/{base}-specyfikacja.pdf")
        assert appendix.startswith(b"%PDF") and b"%%EOF" in appendix[-32:]


def test_bad_ranges_start_nothing(app, committed):
    customer, _t, _l = billing_customer(committed, 1)
    committed.commit()
    run_for(committed, customer)
    admin = make_portal_user(committed, customer).email
    committed.commit()
    committed.rollback()
    client = _client(app, admin)
    before = _tasks(committed)
    for form in (
        {"from": "2026-11", "to": "2026-10"},  # backwards
        {"from": "2025-01", "to": "2026-11"},  # over 12 months
        {"from": "2026-01", "to": "2026-02"},  # no invoices
        {"from": "garbage"},
        {},
    ):
        r = _ask(client, **form)
        assert r.status_code == 302 and "/invoices/" in r.headers["Location"], form
    assert client.post("/invoices/zip", data={"from": "2026-11"}).status_code == 400  # no CSRF
    assert _tasks(committed) == before


def _zip_task(session) -> BackgroundTask:
    session.rollback()
    task = session.scalar(select(BackgroundTask).where(BackgroundTask.kind == "invoice_zip"))
    session.rollback()  # on SQLite a read transaction holds the write lock
    return task


def _lose_job(rt, session, task_id: int) -> None:
    """Redis loses the task's job (restarted without its data), and the task stops moving."""
    rt.redis.flushdb()
    session.execute(
        update(BackgroundTask)
        .where(BackgroundTask.id == task_id)
        .values(updated_at=utcnow() - timedelta(minutes=10))
    )
    session.commit()


def _asked_for_november(app, committed) -> tuple:
    customer, _t, _l = billing_customer(committed, 2)
    committed.commit()
    number = run_for(committed, customer).number
    admin = make_portal_user(committed, customer).email
    committed.commit()
    committed.rollback()
    client = _client(app, admin)
    r = _ask(client, **{"from": "2026-11", "to": "2026-11"})
    assert r.status_code == 302 and "/files/" in r.headers["Location"]
    return client, r.headers["Location"], number


def test_a_lost_zip_job_is_enqueued_again_and_the_zip_is_built(app, rt, committed):
    from services.einvoice import archive
    from services.fleet_io import work

    # The sweep enqueues what the portal would: the same job, queue and timeout.
    assert work.JOBS[archive.KIND] == (archive.JOB, queues.DOCUMENTS, archive.TIMEOUT)
    client, task_url, number = _asked_for_november(app, committed)
    task_id = _zip_task(committed).id
    _lose_job(rt, committed, task_id)
    run_worker(committed)  # nothing left in Redis: without the sweep it would wait for ever
    assert _zip_task(committed).status == TaskStatus.queued

    rt.queue(queues.DOCUMENTS).enqueue("workers.fleet_io_jobs.sweep_lost_tasks")  # the scheduler
    run_worker(committed)  # the sweep, then the job it enqueued

    task = _zip_task(committed)
    assert task.status == TaskStatus.done, task.message
    assert task.params["attempts"] == 1 and task.result == {"invoices": 1}
    r = client.get(f"{task_url}/download")
    assert r.status_code == 200 and r.content_type == "application/zip"
    base = number.replace("/", "-")
    names = zipfile.ZipFile(io.BytesIO(r.data)).namelist()
    r.close()
    assert f"{base}/{base}.pdf" in names and f"{base}/{base}-FA3.xml" in names


def test_a_zip_job_lost_again_and_again_fails_with_the_reason(app, rt, committed):
    client, task_url, _number = _asked_for_november(app, committed)
    task_id = _zip_task(committed).id
    for attempt in (1, 2, 3):
        _lose_job(rt, committed, task_id)
        with app.app_context():
            assert fleet_io_jobs.sweep_lost_tasks() == 1
        assert _zip_task(committed).params["attempts"] == attempt
    _lose_job(rt, committed, task_id)
    with app.app_context():
        assert fleet_io_jobs.sweep_lost_tasks() == 0
    assert rt.queue(queues.DOCUMENTS).count == 0

    task = _zip_task(committed)
    assert task.status == TaskStatus.failed and task.file_path is None
    client.get("/lang/en")
    page = client.get(task_url).get_data(as_text=True)
    assert "The task was interrupted several times. Please start it again." in page
