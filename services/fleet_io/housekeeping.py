"""Housekeeping of task files: expired files go (the task row stays, without its file), and
tasks whose job was lost are found for the sweep to enqueue again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.files import FileStore
from models import BackgroundTask
from models.base import utcnow
from services import tasks
from services.fleet_io.work import JOBS, folder

MAX_ATTEMPTS = 3


def delete_folder(store: FileStore, task_id: int) -> None:
    """Everything in the task's own folder (export, upload, check report), and the folder."""
    directory = store.path(folder(task_id))
    if directory.is_dir():
        for item in directory.iterdir():
            if item.is_file():
                item.unlink()
        directory.rmdir()


def delete_files(store: FileStore, task: BackgroundTask) -> None:
    """The task's file (wherever it is) and the task's own folder."""
    if task.file_path and not task.file_path.startswith(folder(task.id) + "/"):
        store.delete(task.file_path)
    delete_folder(store, task.id)


def expire_files(session: Session, store: FileStore, *, limit: int = 500) -> int:
    """Delete files past their expiry; the task stays, marked expired (no file)."""
    expired = list(
        session.scalars(
            select(BackgroundTask)
            .where(BackgroundTask.file_path.is_not(None), BackgroundTask.expires_at < utcnow())
            .order_by(BackgroundTask.expires_at)
            .limit(limit)
        )
    )
    for task in expired:
        delete_files(store, task)
        task.file_path = None
    session.flush()
    return len(expired)


def lost_tasks(session: Session, older_than: timedelta = timedelta(minutes=5)) -> list:
    """Our queued or running tasks that have not moved for a while (their job may be lost)."""
    ids = tasks.stale(session, older_than=older_than)
    if not ids:
        return []
    return list(
        session.scalars(
            select(BackgroundTask).where(
                BackgroundTask.id.in_(ids), BackgroundTask.kind.in_(list(JOBS))
            )
        )
    )


def count_attempt(session: Session, task: BackgroundTask) -> bool:
    """One more start for a lost task; False (and the task failed) after MAX_ATTEMPTS."""
    attempts = int((task.params or {}).get("attempts", 0)) + 1
    if attempts > MAX_ATTEMPTS:
        tasks.fail(session, task.id, "The task was interrupted several times; start it again.")
        return False
    task.params = {**(task.params or {}), "attempts": attempts}
    task.updated_at = utcnow()
    session.flush()
    return True
