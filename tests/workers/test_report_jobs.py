"""A large report export made by a real RQ worker, then downloaded from My files."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import AuditEvent, BackgroundTask, StaffRole, TaskStatus
from models.base import utcnow
from tests.conftest import login_console, press_export
from tests.factories import PASSWORD, make_portal_user, make_staff
from tests.reports_factories import independent_sum, usage_fleet
from tests.workers.test_fleet_io_jobs import _client, _task, run_worker

pytestmark = pytest.mark.worker


@pytest.fixture
def world(committed):
    f = usage_fleet(committed, days=75)
    f["admin"] = make_portal_user(committed, f["customer"])
    committed.commit()
    return f


def _download(client, task_id: int) -> bytes:
    r = client.get(f"/files/{task_id}/download")
    data = r.data
    r.close()
    return data


def test_large_exports_are_made_by_a_worker(app, committed, world):
    from datetime import date

    app.config["REPORT_EXPORT_INLINE_LIMIT"] = 2
    client = _client(app, world["admin"])
    r = press_export(client, "/reports/usage?group=line&month=2026-10", "csv")
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "task-status" in page  # the progress panel polls until the file is ready
    r = press_export(client, "/reports/sim", "xlsx", hidden={"codes": "1"})
    assert r.status_code == 302
    assert _task(committed, "report_export").status == TaskStatus.queued

    proc = run_worker(committed)
    tasks = committed.scalars(
        select(BackgroundTask)
        .where(BackgroundTask.kind == "report_export")
        .order_by(BackgroundTask.id)
    ).all()
    committed.commit()
    assert [t.status for t in tasks] == [TaskStatus.done] * 2, proc.stderr[-3000:]
    usage_task, sim_task = tasks
    assert usage_task.done_units == usage_task.total_units == 4
    assert timedelta(days=6) < usage_task.expires_at - utcnow() <= timedelta(days=7)

    data = _download(client, usage_task.id)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    cost = rows[0].index("Cost (PLN net)")
    expected = independent_sum(world["rows"], date(2026, 10, 1), date(2026, 11, 1))["charge"]
    from decimal import Decimal

    assert Decimal(rows[-1][cost]) == expected
    data = _download(client, sim_task.id)
    values = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert values[0][-1] == "PUK2" and len(values) == 6
    audit = committed.scalars(
        select(AuditEvent).where(AuditEvent.action == "sim_report.codes_read")
    )
    assert [e.after["how"] for e in audit] == ["export:xlsx"]
    assert "Report" in client.get("/files/").get_data(as_text=True)


def test_large_console_exports_wait_in_the_staff_users_files(app, committed, world):
    """An account manager's large export of a customer's report: a task of the manager's own,
    made by a real worker, downloaded from the console's My files; nobody else sees it."""
    manager = make_staff(committed, StaffRole.account_manager)
    other = make_staff(committed, StaffRole.sales_admin)
    world["customer"].account_manager_id = manager.id
    customer_id = world["customer"].id
    committed.commit()
    app.wsgi_app.mounts["/admin"].config["REPORT_EXPORT_INLINE_LIMIT"] = 2  # the console app
    client = app.test_client()
    client.get("/admin/lang/en")
    assert login_console(client, manager.email, PASSWORD).status_code == 302

    r = press_export(client, f"/admin/customers/{customer_id}/reports/?month=2026-10", "csv")
    assert r.status_code == 302 and "/admin/files/" in r.headers["Location"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "task-status" in page and "/admin/files/" in page  # polls the console's own URL
    task = _task(committed, "report_export")
    assert (task.staff_user_id, task.portal_user_id, task.status) == (
        manager.id,
        None,
        TaskStatus.queued,
    )

    proc = run_worker(committed)
    task = _task(committed, "report_export")
    assert task.status == TaskStatus.done, proc.stderr[-3000:]
    other_email, admin = other.email, world["admin"]
    committed.refresh(admin)  # loaded now, before the read ends
    committed.commit()  # end the read: on SQLite it would hold the write lock
    listing = client.get("/admin/files/").get_data(as_text=True)
    assert f"/admin/files/{task.id}/download" in listing
    r = client.get(f"/admin/files/{task.id}/download")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig")), delimiter=";"))
    r.close()
    cost = rows[0].index("Cost (PLN net)")
    expected = independent_sum(world["rows"], date(2026, 10, 1), date(2026, 11, 1))["charge"]
    assert Decimal(rows[-1][cost]) == expected

    # Another staff user, and the customer's own portal user: not theirs.
    stranger = app.test_client()
    assert login_console(stranger, other_email, PASSWORD).status_code == 302
    assert stranger.get(f"/admin/files/{task.id}").status_code == 404
    assert stranger.get(f"/admin/files/{task.id}/download").status_code == 404
    assert f"/admin/files/{task.id}" not in stranger.get("/admin/files/").get_data(as_text=True)
    portal = _client(app, admin)
    assert portal.get(f"/files/{task.id}").status_code == 404
