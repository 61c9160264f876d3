"""An invoice's billing detail: small ones download at once from the portal and the console;
over the limit the XLSX and the PDF are made by a real RQ worker with progress, and wait in
My files (portal) or on the console's page of the file. Asking twice makes one file; nobody
else reaches it; employees see no invoice's detail."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import BackgroundTask, PortalRole, StaffRole, TaskStatus
from services.einvoice import detail
from tests.admin_console.test_reports import _login
from tests.billing_factories import billing_customer
from tests.conftest import login_portal
from tests.factories import PASSWORD, make_portal_user, make_staff
from tests.services.test_billing import run_for
from tests.workers.test_fleet_io_jobs import run_worker

pytestmark = pytest.mark.worker
pypdf = pytest.importorskip("pypdf")


def _client(app, email: str):
    client = app.test_client()
    assert login_portal(client, email, PASSWORD).status_code == 302
    return client


def _body(response) -> bytes:
    data = response.data
    response.close()
    return data


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(p.extract_text() for p in reader.pages).replace("\u00a0", " ")


def _tasks(session) -> list[dict]:
    """The detail tasks as plain values (reading an expired object would open a transaction,
    and on SQLite a transaction holds the write lock)."""
    session.rollback()
    found = [
        {
            "id": t.id,
            "status": t.status,
            "done": t.done_units,
            "total": t.total_units,
            "result": t.result,
            "staff": t.staff_user_id,
            "portal": t.portal_user_id,
        }
        for t in session.scalars(
            select(BackgroundTask)
            .where(BackgroundTask.kind == "invoice_detail")
            .order_by(BackgroundTask.id)
        )
    ]
    session.rollback()
    return found


@pytest.fixture
def world(committed):
    customer, _t, lines = billing_customer(committed, 6, fee="40.00")
    other, _t2, _l2 = billing_customer(committed, 1)
    committed.commit()
    invoice = run_for(committed, customer)
    foreign = run_for(committed, other)
    manager = make_staff(committed, StaffRole.account_manager)
    customer.account_manager_id = manager.id
    people = {
        "admin": make_portal_user(committed, customer),
        "employee": make_portal_user(committed, customer, role=PortalRole.employee),
        "stranger": make_portal_user(committed, other),
    }
    committed.commit()
    out = {
        "invoice_id": invoice.id,
        "number": invoice.number,
        "foreign_id": foreign.id,
        "numbers": [detail.phone(line.msisdn) for line in lines],
        "gross": invoice.total_gross,
        "manager": manager,
        "manager_id": manager.id,
        **{k: v.email for k, v in people.items()},
    }
    committed.rollback()
    return out


def test_small_details_download_at_once(app, world):
    client = _client(app, world["admin"])
    r = client.get(f"/invoices/{world['invoice_id']}/detail.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "specyfikacja.pdf" in r.headers["Content-Disposition"]
    text = _pdf_text(_body(r))
    assert all(n in text for n in world["numbers"]) and world["number"] in text
    r = client.get(f"/invoices/{world['invoice_id']}/detail.xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    page = client.get(f"/invoices/{world['invoice_id']}").get_data(as_text=True)
    assert f"/invoices/{world['invoice_id']}/detail.pdf" in page
    # Employees read no invoice's detail; another customer's invoice is 404.
    assert (
        _client(app, world["employee"])
        .get(f"/invoices/{world['invoice_id']}/detail.pdf")
        .status_code
        == 403
    )
    assert client.get(f"/invoices/{world['foreign_id']}/detail.pdf").status_code == 404


def test_large_details_are_made_by_a_worker_and_wait_in_my_files(app, committed, world):
    app.config["INVOICE_DETAIL_INLINE_LIMIT"] = 2
    client = _client(app, world["admin"])
    invoice_id = world["invoice_id"]
    r = client.get(f"/invoices/{invoice_id}/detail.pdf")
    assert r.status_code == 302 and "/files/" in r.headers["Location"]
    pdf_url = r.headers["Location"]
    page = client.get(pdf_url).get_data(as_text=True)
    assert "task-status" in page  # the progress panel polls until the file is ready
    again = client.get(f"/invoices/{invoice_id}/detail.pdf")
    assert again.headers["Location"] == pdf_url  # the same file, not a second one
    r = client.get(f"/invoices/{invoice_id}/detail.xlsx")
    xlsx_url = r.headers["Location"]
    assert [t["status"] for t in _tasks(committed)] == [TaskStatus.queued] * 2

    proc = run_worker(committed)
    pdf_task, xlsx_task = _tasks(committed)
    assert [pdf_task["status"], xlsx_task["status"]] == [TaskStatus.done] * 2, proc.stderr[-3000:]
    assert pdf_task["done"] == pdf_task["total"] >= 1  # chunks of pages rendered
    assert pdf_task["result"] == xlsx_task["result"] == {"lines": 6}

    listing = client.get("/files/").get_data(as_text=True)
    assert "specyfikacja.pdf" in listing and "specyfikacja.xlsx" in listing
    text = _pdf_text(_body(client.get(f"{pdf_url}/download")))
    assert all(n in text for n in world["numbers"]) and "Razem faktura" in text
    sheet = load_workbook(io.BytesIO(_body(client.get(f"{xlsx_url}/download")))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 7 and rows[0][0] == "position"

    # Nobody else reaches the files.
    stranger = _client(app, world["stranger"])
    assert stranger.get(pdf_url).status_code == 404
    assert stranger.get(f"{pdf_url}/download").status_code == 404
    assert stranger.get(f"/invoices/{invoice_id}/detail.pdf").status_code == 404
    assert _tasks(committed)[-1]["id"] == xlsx_task["id"]  # and they started nothing


def test_console_downloads_and_large_details(app, committed, world):
    console = app.wsgi_app.mounts["/admin"]
    client = app.test_client()
    _login(client, world["manager"])
    invoice_id = world["invoice_id"]
    page = client.get(f"/admin/billing/invoices/{invoice_id}").get_data(as_text=True)
    assert f"/admin/billing/invoices/{invoice_id}/detail.pdf" in page
    for suffix, ctype in (
        ("invoice.pdf", "application/pdf"),
        ("fa3.xml", "application/xml"),
        ("detail.csv", "text/csv"),
        ("detail.pdf", "application/pdf"),
    ):
        r = client.get(f"/admin/billing/invoices/{invoice_id}/{suffix}")
        assert r.status_code == 200 and r.content_type.startswith(ctype), suffix
        _body(r)
    assert (
        client.get(f"/admin/billing/invoices/{world['foreign_id']}/detail.pdf").status_code == 404
    )

    console.config["INVOICE_DETAIL_INLINE_LIMIT"] = 2
    r = client.get(f"/admin/billing/invoices/{invoice_id}/detail.pdf")
    assert r.status_code == 302 and "/admin/files/" in r.headers["Location"]
    file_url = r.headers["Location"]
    page = client.get(file_url).get_data(as_text=True)
    assert "task-status" in page and "hx-trigger" in page  # the panel polls until it is done
    (task,) = _tasks(committed)
    assert task["staff"] == world["manager_id"] and task["portal"] is None
    run_worker(committed)
    page = client.get(file_url).get_data(as_text=True)
    assert "hx-trigger" not in page and f"/admin/files/{task['id']}/download" in page
    text = _pdf_text(_body(client.get(f"{file_url}/download")))
    assert all(n in text for n in world["numbers"])
    assert f"/admin/files/{task['id']}" in client.get("/admin/files/").get_data(as_text=True)
    # Portal users never see a staff member's task.
    assert _client(app, world["admin"]).get(f"/files/{task['id']}").status_code == 404
