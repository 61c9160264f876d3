"""What the jobs behind "My files" share: a task started once, read without blocking writers,
its progress committed as it goes, and — for the jobs that make one file — the file written,
the task finished with it, or failed with nothing left behind.

Each job takes a task id. ``start`` returns None for a finished task, so a job delivered twice
does nothing the second time. Reading happens in a session that does not hold SQLite's write
lock (``reading``), so progress can be committed while the job runs. A job that was lost (a
killed worker, a flushed Redis) is enqueued again by ``fleet_io_jobs.sweep_lost_tasks``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from flask_babel import force_locale
from sqlalchemy.orm import Session

from models import BackgroundTask
from services import tasks
from services.fleet_io import housekeeping
from workers.context import runtime, unit_of_work

log = logging.getLogger(__name__)
FAILED = "The task could not be completed."

# (session, file store, task, progress) -> (stored path, size in bytes, rows or items written)
FileWriter = Callable[[Session, object, BackgroundTask, Callable], tuple[str, int, int]]


@contextmanager
def reading() -> Iterator[Session]:
    """A read-only session; on SQLite a deferred transaction (writers are not blocked)."""
    session = runtime().db.new_session()
    try:
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        yield session
    finally:
        session.rollback()
        session.close()


def progress(task_id: int) -> Callable:
    """``progress(done, total=None)``, each call committed in a short transaction of its own."""
    factory = runtime().db.session_factory
    return lambda done, total=None: tasks.progress(factory, task_id, done, total)


def start(task_id: int) -> dict | None:
    """The task's parameters, or None when it is finished (the job was delivered twice)."""
    with unit_of_work() as s:
        task = tasks.start(s, task_id)
        return dict(task.params) if task is not None else None


def fail(task_id: int, message: str = FAILED, result: dict | None = None) -> None:
    with unit_of_work() as s:
        tasks.fail(s, task_id, message)
        task = s.get(BackgroundTask, task_id)
        if task is not None and result is not None:
            task.result = {**(task.result or {}), **result}


def write_file(
    task_id: int,
    what: str,
    write: FileWriter,
    content_type: Callable[[dict], str],
    counted: str,
    *,
    localized: bool = False,
    keep_days: int = tasks.DEFAULT_KEEP_DAYS,
) -> str:
    """The whole job of a task that makes one file: ``write`` it (in the task's locale when
    ``localized``), then finish the task with the file and ``{counted: n}`` as its result. On
    any error the task fails, its folder is deleted and the error is raised (the worker logs
    it); ``what`` names the job in the log. Returns "done", or "skipped" for a finished task."""
    params = start(task_id)
    if params is None:
        return "skipped"
    store = runtime().files
    locale = force_locale(params.get("locale") or "pl") if localized else nullcontext()
    try:
        with reading() as s, locale:
            task = s.get(BackgroundTask, task_id)
            rel, size, count = write(s, store, task, progress(task_id))
        with unit_of_work() as s:
            tasks.finish(
                s,
                s.get(BackgroundTask, task_id),
                file_path=rel,
                file_name=params["file_name"],
                content_type=content_type(params),
                file_size=size,
                result={counted: count},
                keep_days=keep_days,
            )
    except Exception:
        log.exception("%s task %s failed", what, task_id)
        fail(task_id)
        housekeeping.delete_folder(store, task_id)
        raise
    return "done"
