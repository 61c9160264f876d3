"""Jobs of fleet export and import, and the sweeps that keep their tasks moving.

Each job takes a task id and uses what the jobs behind My files share (``task_jobs``): a task
started once, read without blocking writers, its progress committed as it goes; the export is
a task that makes one file (``task_jobs.write_file``).
"""

from __future__ import annotations

import logging

from flask_babel import force_locale
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from core import aftercommit
from models import BackgroundTask
from services import tasks
from services.audit import Actor
from services.fleet_io import applying, checking, export, housekeeping, reading, work
from workers import task_jobs
from workers.context import runtime, unit_of_work

log = logging.getLogger(__name__)


def export_fleet(task_id: int) -> str:
    return task_jobs.write_file(
        task_id,
        "fleet export",
        work.write_export_file,
        lambda params: export.CONTENT_TYPES[params["fmt"]],
        "lines",
        localized=True,
    )


def _read_upload(params: dict, progress) -> reading.Sheet:
    data = runtime().files.path(params["upload"]).read_bytes()
    return reading.read_sheet(data, params["fmt"], progress)


def check_import(task_id: int) -> str:
    params = task_jobs.start(task_id)
    if params is None:
        return "skipped"
    store = runtime().files
    try:
        with force_locale(params.get("locale") or "pl"):
            _check(task_id, params, store)
    except Exception:
        log.exception("fleet import check task %s failed", task_id)
        task_jobs.fail(task_id)
        housekeeping.delete_folder(store, task_id)  # a failed check keeps no upload
        raise
    return "done"


def _check(task_id: int, params: dict, store) -> None:
    scope = work.scope_from(params["scope"])
    try:
        sheet = _read_upload(params, task_jobs.progress(task_id))
    except reading.ImportFileError as exc:
        content = {"file_error": exc.code, "file_error_params": exc.params}
        result = {"file_error": exc.code, "rows": 0, "errors": 0, "changes": 0}
    else:
        with task_jobs.reading() as s:
            plan = checking.check(s, scope, sheet)
            content = work.report(s, scope, sheet, plan)
        result = work.summary(plan)
    rel, size = work.save_report(store, task_id, content)
    with unit_of_work() as s:
        tasks.finish(
            s,
            s.get(BackgroundTask, task_id),
            file_path=rel,
            file_name=params.get("original_name"),
            content_type="application/json",
            file_size=size,
            result=result,
        )


class _Stale(Exception):
    def __init__(self, plan: checking.Plan) -> None:
        super().__init__("the data changed since the check")
        self.plan = plan


def apply_import(task_id: int) -> str:
    params = task_jobs.start(task_id)
    if params is None:
        return "skipped"
    try:
        with force_locale(params.get("locale") or "pl"):
            return _apply(task_id, params)
    except Exception:
        log.exception("fleet import apply task %s failed", task_id)
        task_jobs.fail(task_id)
        raise


def _apply(task_id: int, params: dict) -> str:
    scope = work.scope_from(params["scope"])
    who = params["actor"]
    actor = Actor("portal", who["id"], who["label"], who.get("address"))
    try:
        sheet = _read_upload(params, task_jobs.progress(task_id))
    except (OSError, reading.ImportFileError):
        task_jobs.fail(task_id, "The uploaded file is no longer available.", {"error": "no_file"})
        return "failed"
    try:
        with unit_of_work() as s:
            plan = checking.check(s, scope, sheet, lock=True)
            if plan.errors:
                raise _Stale(plan)
            result = applying.apply(s, actor, scope, plan)
            tasks.finish(s, s.get(BackgroundTask, task_id), result=result)
    except _Stale as stale:
        task_jobs.fail(
            task_id,
            "The data changed since the check; nothing was changed.",
            {"error": "stale", "errors": len(stale.plan.errors)},
        )
        return "stale"
    return "done"


# --- sweeps --------------------------------------------------------------------------------

LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def sweep_task_files() -> int:
    """Periodic: delete expired task files; the task rows stay, marked expired."""
    with unit_of_work() as s:
        return housekeeping.expire_files(s, runtime().files)


def sweep_lost_tasks() -> int:
    """Periodic: enqueue again the tasks of ``work.JOBS`` (fleet export and import, report
    exports, invoice ZIPs) whose job was lost; fail them after a few attempts."""
    rt = runtime()
    count = 0
    with unit_of_work() as s:
        for task in housekeeping.lost_tasks(s):
            try:
                status = Job.fetch(f"task-{task.id}", connection=rt.redis).get_status()
            except NoSuchJobError:
                status = None
            if status in LIVE:
                continue
            if housekeeping.count_attempt(s, task):
                func, queue, timeout = work.JOBS[task.kind]
                aftercommit.enqueue(
                    s, queue, func, task.id, job_id=f"task-{task.id}", job_timeout=timeout
                )
                count += 1
    return count
