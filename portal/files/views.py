"""My files (/files/): the signed-in user's own background tasks and the files they made.

Only the owner sees a task, and only within their customer: any other id answers 404.
A task page polls its status with htmx until the task is finished.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from core.web import db, runtime
from models import BackgroundTask, TaskStatus
from services.fleet_io import work

bp = Blueprint("files", __name__, url_prefix="/files")

PAGE = 50

KIND_LABELS = {
    work.EXPORT: _l("Fleet export"),
    work.CHECK: _l("Import check"),
    work.APPLY: _l("Fleet import"),
    "report_export": _l("Report"),
    "invoice_zip": _l("Invoice documents (ZIP)"),
    "invoice_detail": _l("Billing detail"),
}
KIND_ICONS = {
    work.EXPORT: "bi-file-earmark-spreadsheet",
    work.CHECK: "bi-clipboard-check",
    work.APPLY: "bi-upload",
    "report_export": "bi-bar-chart",
    "invoice_zip": "bi-file-earmark-zip",
    "invoice_detail": "bi-receipt",
}
# Pages of their own for finished tasks of some kinds (the rest show the task page).
RESULT_PAGES = {work.CHECK: "fleet_io.import_preview"}

# The templates serve the console's My files too (admin_console/files): which app's pages.
PAGES = {"files_bp": "files", "layout": "portal/layout.html", "staff": False}

# What a failed task's stored reason (English, from the job) says in the user's language.
FAILURES = {
    "The task could not be completed.": _l(
        "The task could not be completed. Please try again; if it happens again, contact us."
    ),
    "The uploaded file is no longer available.": _l(
        "The uploaded file is no longer available. Upload it again."
    ),
    "The task was interrupted several times; start it again.": _l(
        "The task was interrupted several times. Please start it again."
    ),
}


def own_task_or_404(task_id: int, *, lock: bool = False) -> BackgroundTask:
    """The current user's own task (same customer); 404 for anyone else's."""
    query = select(BackgroundTask).where(
        BackgroundTask.id == task_id,
        BackgroundTask.portal_user_id == current_user.id,
        BackgroundTask.customer_id == current_user.customer_id,
    )
    if lock:
        query = query.with_for_update()
    task = db().scalar(query)
    if task is None:
        abort(404)
    return task


def human_size(size: int | None) -> str:
    if not size:
        return "—"
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if size >= factor:
            return f"{format_decimal(round(size / factor, 1))} {unit}"
    return f"{format_decimal(size)} B"


def failure_text(task: BackgroundTask) -> str:
    result = task.result or {}
    if result.get("error") == "stale":
        return _(
            "The data changed after the file was checked, so nothing was changed. "
            "Upload the file again to check it against the current data."
        )
    return str(FAILURES.get(task.message or "", FAILURES["The task could not be completed."]))


def _context(task: BackgroundTask) -> dict:
    return {
        "task": task,
        "kind_label": KIND_LABELS.get(task.kind, _l("Task")),
        "expired": work.is_expired(task),
        "failure": failure_text(task) if task.status == TaskStatus.failed else None,
        "human_size": human_size,
        "result_page": RESULT_PAGES.get(task.kind),
        **PAGES,
    }


@bp.route("/")
@login_required
def index():
    before = request.args.get("before", type=int)
    tasks = work.user_tasks(db(), current_user, before=before, limit=PAGE + 1)
    more = len(tasks) > PAGE
    tasks = tasks[:PAGE]
    return render_template(
        "portal/files/index.html",
        tasks=tasks,
        older=tasks[-1].id if more else None,
        newer=bool(before),
        KIND_LABELS=KIND_LABELS,
        KIND_ICONS=KIND_ICONS,
        RESULT_PAGES=RESULT_PAGES,
        is_expired=work.is_expired,
        human_size=human_size,
        **PAGES,
    )


@bp.route("/<int:task_id>")
@login_required
def task(task_id: int):
    task = own_task_or_404(task_id)
    if task.kind in RESULT_PAGES:
        return redirect(url_for(RESULT_PAGES[task.kind], task_id=task.id))
    return render_template("portal/files/task.html", **_context(task))


@bp.route("/<int:task_id>/status")
@login_required
def task_status(task_id: int):
    """The status panel alone, for htmx polling; a finished task with a page of its own
    sends the browser there."""
    task = own_task_or_404(task_id)
    finished = task.status in (TaskStatus.done, TaskStatus.failed)
    page = RESULT_PAGES.get(task.kind)
    response = make_response(render_template("portal/files/_status.html", **_context(task)))
    if finished and page and request.headers.get("HX-Request"):
        response.headers["HX-Redirect"] = url_for(page, task_id=task.id)
    return response


@bp.route("/<int:task_id>/download")
@login_required
def download(task_id: int):
    task = own_task_or_404(task_id)
    if task.kind in RESULT_PAGES:
        return redirect(url_for(RESULT_PAGES[task.kind], task_id=task.id))
    return send_task_file(task, url_for(".task", task_id=task.id))


def send_task_file(task: BackgroundTask, task_page: str):
    """The finished task's file, or back to its page (``task_page``) with why not."""
    if task.status != TaskStatus.done or not task.file_path:
        if work.is_expired(task):
            flash(_("This file has expired and was deleted. Prepare it again."), "warning")
        return redirect(task_page)
    path = runtime().files.path(task.file_path)
    if not path.is_file():
        flash(_("The file is no longer available. Prepare it again."), "warning")
        return redirect(task_page)
    response = send_file(
        path,
        mimetype=task.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=task.file_name or path.name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
