"""Background tasks a user waits for: created (and committed) before the job is enqueued,
updated by the job as it goes, finished with a file or a reason."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import aftercommit
from models import BackgroundTask, TaskStatus
from models.base import utcnow

DEFAULT_KEEP_DAYS = 7


def create(
    session: Session,
    kind: str,
    *,
    queue: str,
    func: str,
    customer_id: int | None = None,
    portal_user_id: int | None = None,
    staff_user_id: int | None = None,
    params: dict | None = None,
    timeout: int = 1800,
) -> BackgroundTask:
    task = BackgroundTask(
        kind=kind,
        customer_id=customer_id,
        portal_user_id=portal_user_id,
        staff_user_id=staff_user_id,
        params=params or {},
        status=TaskStatus.queued,
    )
    session.add(task)
    session.flush()
    aftercommit.enqueue(
        session, queue, func, task.id, job_id=f"task-{task.id}", job_timeout=timeout
    )
    return task


def start(session: Session, task_id: int) -> BackgroundTask | None:
    """Mark running; None if the task is already finished (a repeated job does nothing)."""
    task = session.get(BackgroundTask, task_id)
    if task is None or task.status in (TaskStatus.done, TaskStatus.failed):
        return None
    task.status = TaskStatus.running
    task.done_units = 0
    session.flush()
    return task


def progress(session_factory, task_id: int, done: int, total: int | None = None) -> None:
    """Record progress in its own short transaction, so the page sees it while the job runs."""
    with session_factory() as s:
        values = {"done_units": done, "updated_at": utcnow()}
        if total is not None:
            values["total_units"] = total
        s.execute(update(BackgroundTask).where(BackgroundTask.id == task_id).values(**values))
        s.commit()


def finish(
    session: Session,
    task: BackgroundTask,
    *,
    file_path: str | None = None,
    file_name: str | None = None,
    content_type: str | None = None,
    file_size: int | None = None,
    result: dict | None = None,
    keep_days: int = DEFAULT_KEEP_DAYS,
) -> None:
    task.status = TaskStatus.done
    task.file_path, task.file_name = file_path, file_name
    task.content_type, task.file_size = content_type, file_size
    task.result = result
    task.finished_at = utcnow()
    task.expires_at = utcnow() + timedelta(days=keep_days) if file_path else None
    if task.total_units is not None:
        task.done_units = task.total_units
    session.flush()


def fail(session: Session, task_id: int, message: str) -> None:
    task = session.get(BackgroundTask, task_id)
    if task is None:
        return
    task.status = TaskStatus.failed
    task.message = message[:500]
    task.finished_at = utcnow()
    session.flush()


def expired(session: Session) -> list[BackgroundTask]:
    return list(
        session.scalars(
            select(BackgroundTask).where(
                BackgroundTask.expires_at.is_not(None), BackgroundTask.expires_at < utcnow()
            )
        )
    )


def stale(session: Session, older_than: timedelta = timedelta(minutes=30)) -> list[int]:
    """Queued or running tasks whose job seems lost."""
    return list(
        session.scalars(
            select(BackgroundTask.id).where(
                BackgroundTask.status.in_([TaskStatus.queued, TaskStatus.running]),
                BackgroundTask.updated_at < utcnow() - older_than,
            )
        )
    )
