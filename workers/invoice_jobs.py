"""Invoice document jobs: the ZIP of a period's documents and an invoice's large billing detail
(XLSX or PDF), both as tasks whose file waits in "My files".

Each job takes a task id; ``tasks.start`` returns None for a finished task, so a job delivered
twice does nothing the second time. The documents are read in a session that does not hold
SQLite's write lock, so progress can be committed while the ZIP is written. A job that was lost
(a killed worker, a flushed Redis) is enqueued again by ``fleet_io_jobs.sweep_lost_tasks``, and
the task fails with the reason after three such attempts.
"""

from __future__ import annotations

import logging

from models import BackgroundTask
from services import tasks
from services.einvoice import archive, detail_work, documents
from services.fleet_io import housekeeping
from workers.context import runtime, unit_of_work
from workers.fleet_io_jobs import FAILED, _fail, _progress, _reading, _start

log = logging.getLogger(__name__)


def build_invoice_zip(task_id: int) -> str:
    params = _start(task_id)
    if params is None:
        return "skipped"
    store = runtime().files
    try:
        with _reading() as s:
            task = s.get(BackgroundTask, task_id)
            rel, size, count = archive.write_zip(s, store, task, _progress(task_id))
        with unit_of_work() as s:
            tasks.finish(
                s,
                s.get(BackgroundTask, task_id),
                file_path=rel,
                file_name=params["file_name"],
                content_type="application/zip",
                file_size=size,
                result={"invoices": count},
            )
    except Exception:
        log.exception("invoice ZIP task %s failed", task_id)
        _fail(task_id, FAILED)
        housekeeping.delete_folder(store, task_id)
        raise
    return "done"


def build_invoice_detail(task_id: int) -> str:
    params = _start(task_id)
    if params is None:
        return "skipped"
    store = runtime().files
    try:
        with _reading() as s:
            task = s.get(BackgroundTask, task_id)
            rel, size, count = detail_work.write_file(s, store, task, _progress(task_id))
        with unit_of_work() as s:
            tasks.finish(
                s,
                s.get(BackgroundTask, task_id),
                file_path=rel,
                file_name=params["file_name"],
                content_type=documents.CONTENT_TYPES[params["fmt"]],
                file_size=size,
                result={"lines": count},
            )
    except Exception:
        log.exception("invoice detail task %s failed", task_id)
        _fail(task_id, FAILED)
        housekeeping.delete_folder(store, task_id)
        raise
    return "done"
