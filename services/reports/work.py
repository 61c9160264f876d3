"""Report exports as background tasks (large ones): created before the commit that enqueues
the job (workers/report_jobs.py); the file lands in the task's folder and in My files."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.files import FileStore
from models import BackgroundTask
from services import tasks
from services.reports import documents
from workers import queues

EXPORT = "report_export"
JOB = "workers.report_jobs.export_report"
TIMEOUT = 1800


def start_export(session: Session, user, params: dict, *, file_name: str) -> BackgroundTask:
    """A task for a portal user (``user``), or for a staff user when ``params`` says
    ``requested_by_staff``."""
    staff = params.get("requested_by_staff")
    return tasks.create(
        session,
        EXPORT,
        queue=queues.DOCUMENTS,
        func=JOB,
        customer_id=params["scope"]["customer_id"] if not staff else None,
        portal_user_id=None if staff else user.id,
        staff_user_id=user.id if staff else None,
        params={**params, "file_name": file_name},
        timeout=TIMEOUT,
    )


def write_file(session: Session, store: FileStore, task: BackgroundTask, progress=None):
    """The task's report into its folder: (relative path, size, rows)."""
    params = task.params
    rel = store.new_name(f"tasks/{task.id}", "." + params["fmt"])
    with store.writing(rel) as tmp, tmp.open("wb") as fh:
        count = documents.write(session, params, fh, progress)
    return rel, store.size(rel), count
