"""Fleet export (CSV, XLSX) of the large customer's 50,000 lines and an import of 10,000 rows.

Measured as a user waits for them: the background task is created and committed through
``services.fleet_io.work`` as the page does, then its job function (workers/fleet_io_jobs.py)
runs in this process inside the app context — everything a worker does, without the queue's
own latency. The import is an XLSX file with a number, a cost centre (every row moves its
line) and, on every third row, another employee's e-mail; it is checked (a job) and then
applied (another job), and both times are reported.

Afterwards everything is put back: lines, audit events of the bench, tasks, files, RQ jobs.
"""

from __future__ import annotations

import contextlib
import io
import shutil

from openpyxl import Workbook
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import delete, select, update

from bench.common import Stopwatch, Target, log
from bench.dataset import Dataset
from core.runtime import Runtime
from models import AuditEvent, BackgroundTask, Employee, Line, OrgUnit, PortalUser
from services import fleet as fl
from services.audit import Actor

IMPORT_ROWS = 10_000
PARTS = ("export_csv", "export_xlsx", "import")
ACTOR_LABEL = "bench-import"


def measure(tgt: Target, data: Dataset, rt: Runtime, app) -> dict:
    try:
        from services.fleet_io import work
        from workers import fleet_io_jobs
    except ImportError as exc:
        return {"skipped": f"services.fleet_io is not importable ({exc})"}
    out: dict = {}
    with app.app_context():
        for fmt in ("csv", "xlsx"):
            out[f"export_{fmt}"] = _export(tgt, data, rt, work, fleet_io_jobs, fmt)
        out["import"] = _import(tgt, data, rt, work, fleet_io_jobs)
    return out


def _user(session, data: Dataset) -> PortalUser:
    return session.scalar(select(PortalUser).where(PortalUser.email == data.admin_email))


def _forget(rt: Runtime, work, task_ids: list[int]) -> None:
    """Tasks, their files and their (never run) queue entries."""
    for task_id in task_ids:
        shutil.rmtree(rt.files.path(work.folder(task_id)), ignore_errors=True)
        with contextlib.suppress(NoSuchJobError):
            Job.fetch(f"task-{task_id}", connection=rt.redis).delete()
    with rt.db.session_scope() as s:
        s.execute(delete(BackgroundTask).where(BackgroundTask.id.in_(task_ids)))


def _export(tgt: Target, data: Dataset, rt: Runtime, work, jobs, fmt: str) -> dict:
    scope = fl.FleetScope(customer_id=data.customer_id)
    with rt.db.session_scope() as s:
        task = work.start_export(
            s,
            _user(s, data),
            scope,
            fl.FleetFilter(status=fl.ANY_STATUS),
            fmt,
            locale="pl",
            file_name=f"bench.{fmt}",
        )
        task_id = task.id
    meter = tgt.cpu_meter()
    meter.start()
    with Stopwatch() as watch:
        outcome = jobs.export_fleet(task_id)
    cpu = meter.stop()
    meter.close()
    with rt.db.session_scope() as s:
        task = s.get(BackgroundTask, task_id)
        lines, size = (task.result or {}).get("lines"), task.file_size
    _forget(rt, work, [task_id])
    if outcome != "done":
        return {"skipped": f"the export job ended with {outcome!r}"}
    log(f"{tgt.name}: {fmt.upper()} export of {lines} lines in {watch.seconds:.2f} s")
    return {
        "seconds": round(watch.seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "lines": lines,
        "bytes": size,
        "note": f"{lines:,} lines, {size / 1024**2:.1f} MB",
    }


def _import_file(session, data: Dataset) -> tuple[bytes, list]:
    """Every fifth line of the large customer: a new unit (by cost centre) for all of them,
    another employee for every third. Returns the XLSX and the lines as they were."""
    lines = session.execute(
        select(Line.id, Line.msisdn, Line.unit_id, Line.unit_path, Line.employee_id)
        .where(Line.customer_id == data.customer_id)
        .order_by(Line.id)
    ).all()[::5][:IMPORT_ROWS]
    centres = list(
        session.scalars(
            select(OrgUnit.cost_centre)
            .where(OrgUnit.customer_id == data.customer_id)
            .order_by(OrgUnit.id)
        )
    )
    emails = list(
        session.scalars(
            select(Employee.email)
            .where(Employee.customer_id == data.customer_id)
            .order_by(Employee.id)
            .limit(5000)
        )
    )
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Flota")
    ws.append(["Number", "Cost centre", "E-mail"])
    for i, line in enumerate(lines):
        email = emails[(i * 13) % len(emails)] if i % 3 == 0 else ""
        ws.append([fl.format_msisdn(line.msisdn), centres[(i * 7) % len(centres)], email])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue(), lines


def _import(tgt: Target, data: Dataset, rt: Runtime, work, jobs) -> dict:
    scope = fl.FleetScope(customer_id=data.customer_id)
    with rt.db.session_scope() as s:
        content, before = _import_file(s, data)
        user = _user(s, data)
        check = work.start_check(
            s,
            rt.files,
            user,
            scope,
            file_name="bench-import.xlsx",
            fmt="xlsx",
            data=content,
            locale="pl",
        )
        check_id = check.id
    task_ids = [check_id]
    meter = tgt.cpu_meter()
    try:
        meter.start()
        with Stopwatch() as check_watch:
            jobs.check_import(check_id)
        check_cpu = meter.stop()
        with rt.db.session_scope() as s:
            check = s.get(BackgroundTask, check_id)
            summary = dict(check.result or {})
            user = _user(s, data)
            actor = Actor("portal", user.id, ACTOR_LABEL, "127.0.0.1")
            apply_task = work.start_apply(s, user, scope, check, actor)
            apply_id = apply_task.id
        task_ids.append(apply_id)
        meter.start()
        with Stopwatch() as apply_watch:
            outcome = jobs.apply_import(apply_id)
        apply_cpu = meter.stop()
    finally:
        meter.close()
        _restore(rt, before, data)
        _forget(rt, work, task_ids)
    if outcome != "done" or summary.get("errors"):
        return {"skipped": f"the import ended with {outcome!r}, check summary {summary}"}
    total = check_watch.seconds + apply_watch.seconds
    log(
        f"{tgt.name}: import of {summary.get('rows')} rows: check {check_watch.seconds:.2f} s, "
        f"apply {apply_watch.seconds:.2f} s"
    )
    return {
        "seconds": round(total, 3),
        "cpu_seconds": round(check_cpu + apply_cpu, 3),
        "check_seconds": round(check_watch.seconds, 3),
        "apply_seconds": round(apply_watch.seconds, 3),
        "rows": summary.get("rows"),
        "changes": summary.get("changes"),
        "note": (
            f"XLSX, {summary.get('rows'):,} rows, {summary.get('changes'):,} lines changed: "
            f"check {check_watch.seconds:.1f} s + apply {apply_watch.seconds:.1f} s"
        ),
    }


def _restore(rt: Runtime, before: list, data: Dataset) -> None:
    with rt.db.session_scope() as s:
        s.execute(
            update(Line),
            [
                {
                    "id": r.id,
                    "unit_id": r.unit_id,
                    "unit_path": r.unit_path,
                    "employee_id": r.employee_id,
                }
                for r in before
            ],
        )
        s.execute(delete(AuditEvent).where(AuditEvent.actor_label == ACTOR_LABEL))
