"""The ZIP of a period's invoice documents: asked for in the portal (CSRF on), built by a real
RQ worker with progress, waiting in My files; every document in it validates; the range is
checked and nobody else reaches the file."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from models import BackgroundTask, PortalRole, TaskStatus
from services.billing_period import Period
from tests.billing_factories import billing_customer
from tests.conftest import csrf_token, login_portal
from tests.einvoice_checks import fa3_errors, ubl_errors
from tests.factories import PASSWORD, make_portal_user
from tests.services.test_billing import run_for
from tests.workers.test_fleet_io_jobs import run_worker

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
