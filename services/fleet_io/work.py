"""Background tasks of fleet export and import: creating them (before the commit that
enqueues their job) and the pieces their jobs run (workers/fleet_io_jobs.py).

Every task keeps its files in its own folder of the file store, ``tasks/<id>/``: the export,
or the uploaded file and the check report. The folder goes when the task's files expire.
"""

from __future__ import annotations

import csv
import io
import json
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.files import FileStore
from core.i18n import _l
from models import BackgroundTask, TaskStatus
from models.base import utcnow
from services import fleet as fl
from services import tasks
from services.fleet_io import checking, export
from services.fleet_io.checking import Plan
from services.fleet_io.reading import FIELD_LABELS, Sheet
from workers import queues

EXPORT, CHECK, APPLY = "fleet_export", "fleet_import_check", "fleet_import_apply"
JOBS = {
    # kind: (job function, queue, timeout in seconds)
    EXPORT: ("workers.fleet_io_jobs.export_fleet", queues.DOCUMENTS, 1800),
    CHECK: ("workers.fleet_io_jobs.check_import", queues.DOCUMENTS, 900),
    APPLY: ("workers.fleet_io_jobs.apply_import", queues.DOCUMENTS, 900),
    # Report exports (services/reports/work.py), the ZIPs of a period's invoice documents
    # (services/einvoice/archive.py) and invoices' large billing details
    # (services/einvoice/detail_work.py) share the sweeps of lost tasks and old files.
    "report_export": ("workers.report_jobs.export_report", queues.DOCUMENTS, 1800),
    "invoice_zip": ("workers.invoice_jobs.build_invoice_zip", queues.DOCUMENTS, 3600),
    "invoice_detail": ("workers.invoice_jobs.build_invoice_detail", queues.DOCUMENTS, 3600),
}
PREVIEW_LIMIT = 500  # changes and new employees kept for the preview page


def scope_params(scope: fl.FleetScope) -> dict:
    return {
        "customer_id": scope.customer_id,
        "unit_path": scope.unit_path,
        "employee_id": scope.employee_id,
    }


def scope_from(params: dict) -> fl.FleetScope:
    return fl.FleetScope(**params)


def _create(session: Session, kind: str, user, params: dict) -> BackgroundTask:
    func, queue, timeout = JOBS[kind]
    return tasks.create(
        session,
        kind,
        queue=queue,
        func=func,
        customer_id=user.customer_id,
        portal_user_id=user.id,
        params=params,
        timeout=timeout,
    )


def folder(task_id: int) -> str:
    return f"tasks/{task_id}"


# --- export --------------------------------------------------------------------------------


def render_export(
    session: Session,
    scope: fl.FleetScope,
    flt: fl.FleetFilter,
    fmt: str,
    out: BinaryIO,
    *,
    decimal_comma: bool,
    progress=None,
) -> int:
    """Write the export to ``out`` in the current language; returns the number of lines."""
    data = export.export_rows(session, scope, flt, progress=progress)
    if fmt == "xlsx":
        return export.write_xlsx(out, data.rows, sheet_title=str(_l("Fleet")))
    return export.write_csv(
        out, data.rows, yes=str(_l("on")), no=str(_l("off")), decimal_comma=decimal_comma
    )


def start_export(
    session: Session, user, scope: fl.FleetScope, flt: fl.FleetFilter, fmt: str, *,
    locale: str, file_name: str,
) -> BackgroundTask:  # fmt: skip
    params = {
        "fmt": fmt,
        "filter": flt.as_params(),
        "scope": scope_params(scope),
        "locale": locale,
        "file_name": file_name,
    }
    return _create(session, EXPORT, user, params)


def write_export_file(
    session: Session, store: FileStore, task: BackgroundTask, progress=None
) -> tuple[str, int, int]:
    """The task's export into its folder; (relative path, size, lines)."""
    p = task.params
    rel = store.new_name(folder(task.id), "." + p["fmt"])
    with store.writing(rel) as tmp, tmp.open("wb") as fh:
        count = render_export(
            session,
            scope_from(p["scope"]),
            fl.FleetFilter.from_params(p["filter"]),
            p["fmt"],
            fh,
            decimal_comma=p.get("locale") == "pl",
            progress=progress,
        )
    return rel, store.size(rel), count


# --- import: upload and check ----------------------------------------------------------------


def start_check(
    session: Session, store: FileStore, user, scope: fl.FleetScope, *,
    file_name: str, fmt: str, data: bytes, locale: str,
) -> BackgroundTask:  # fmt: skip
    task = _create(session, CHECK, user, {})
    upload = store.new_name(folder(task.id), "." + fmt)
    store.save_bytes(upload, data)
    task.params = {
        "scope": scope_params(scope),
        "upload": upload,
        "fmt": fmt,
        "original_name": file_name[-200:],
        "locale": locale,
    }
    session.flush()
    return task


def report(session: Session, scope: fl.FleetScope, sheet: Sheet, plan: Plan) -> dict:
    """What the preview page and the error report show (stored as JSON with the task)."""
    paths = export.unit_paths(session, scope.customer_id)
    shown = plan.changes[:PREVIEW_LIMIT]
    people = checking.employee_lookup(
        session,
        scope.customer_id,
        {c.employee_from for c in shown} | {c.employee_to for c in shown if c.employee_to},
    )

    def person(eid):
        if eid is None:
            return None
        name, email = people.get(eid, ("?", None))
        return f"{name} <{email}>" if email else name

    def new_person(key):
        new = plan.new_employees[key]
        return f"{new.full_name} <{new.email}>"

    changes = []
    for c in shown:
        item = {"row": c.row, "number": fl.format_msisdn(c.msisdn)}
        if c.unit_to is not None:
            item["unit"] = [paths.get(c.unit_from), paths.get(c.unit_to)]
        if c.employee_set:
            after = new_person(c.new_employee) if c.new_employee else person(c.employee_to)
            item["employee"] = [person(c.employee_from), after, bool(c.new_employee)]
        changes.append(item)
    return {
        "columns": sheet.columns,
        "ignored": sheet.ignored,
        "errors": [e.as_dict() for e in plan.errors],
        "changes": changes,
        "new_employees": [
            {"name": n.full_name, "email": n.email, "position": n.position, "row": n.row}
            for n in list(plan.new_employees.values())[:PREVIEW_LIMIT]
        ],
    }


def summary(plan: Plan) -> dict:
    return {
        "rows": plan.rows,
        "changes": len(plan.changes),
        "unchanged": plan.unchanged,
        "errors": len(plan.errors),
        "error_rows": plan.error_rows,
        "new_employees": len(plan.new_employees),
        "moves": sum(1 for c in plan.changes if c.unit_to is not None),
        "assignments": sum(1 for c in plan.changes if c.employee_set),
    }


def save_report(store: FileStore, task_id: int, content: dict) -> tuple[str, int]:
    rel = store.new_name(folder(task_id), ".json")
    size = store.save_bytes(rel, json.dumps(content, ensure_ascii=False).encode())
    return rel, size


def load_report(store: FileStore, task: BackgroundTask) -> dict | None:
    if not task.file_path:
        return None
    try:
        return json.loads(store.path(task.file_path).read_bytes())
    except (OSError, ValueError):
        return None


def error_report_csv(content: dict) -> bytes:
    """The errors as CSV for Excel (UTF-8 with BOM, ";"), in the current language."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([str(_l("Row")), str(_l("Column")), str(_l("Value")), str(_l("Problem"))])
    for e in content.get("errors", []):
        writer.writerow(
            [
                e["row"],
                export.guard(e.get("header") or str(FIELD_LABELS.get(e["column"], ""))),
                export.guard(e.get("value") or ""),
                checking.error_text(e["code"], e.get("params")),
            ]
        )
    return out.getvalue().encode("utf-8-sig")


# --- import: apply ---------------------------------------------------------------------------


def apply_task_of(session: Session, check_task: BackgroundTask) -> BackgroundTask | None:
    task_id = (check_task.result or {}).get("apply_task_id")
    return session.get(BackgroundTask, task_id) if task_id else None


def start_apply(
    session: Session, user, scope: fl.FleetScope, check_task: BackgroundTask, actor
) -> BackgroundTask:
    """The apply task for a checked import (the caller holds the check task locked). An
    import that is being or has been applied is not applied again: its apply task is returned.
    """
    existing = apply_task_of(session, check_task)
    if existing is not None and existing.status != TaskStatus.failed:
        return existing
    task = _create(
        session,
        APPLY,
        user,
        {
            "check_task_id": check_task.id,
            "scope": scope_params(scope),
            "upload": check_task.params["upload"],
            "fmt": check_task.params["fmt"],
            "original_name": check_task.params.get("original_name"),
            "locale": check_task.params.get("locale"),
            "actor": {"id": actor.id, "label": actor.label, "address": actor.address},
        },
    )
    check_task.result = {**(check_task.result or {}), "apply_task_id": task.id}
    session.flush()
    return task


def user_tasks(session: Session, user, *, before: int | None = None, limit: int = 50):
    """A portal user's My files, newest first (``before``: older than that task id)."""
    mine = (
        BackgroundTask.portal_user_id == user.id,
        BackgroundTask.customer_id == user.customer_id,
    )
    return _newest(session, mine, before, limit)


def staff_tasks(session: Session, staff_user, *, before: int | None = None, limit: int = 50):
    """A staff user's My files in the console, newest first."""
    return _newest(session, (BackgroundTask.staff_user_id == staff_user.id,), before, limit)


def _newest(session: Session, owner: tuple, before: int | None, limit: int):
    query = select(BackgroundTask).where(*owner)
    if before:
        query = query.where(BackgroundTask.id < before)
    return list(session.scalars(query.order_by(BackgroundTask.id.desc()).limit(limit)))


def is_expired(task: BackgroundTask) -> bool:
    return (
        task.status == TaskStatus.done
        and task.file_path is None
        and task.expires_at is not None
        and task.expires_at < utcnow()
    )
