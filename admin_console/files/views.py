"""My files in the console (/files/): exports a staff user started that were too large to
download at once (a customer's reports). Only the owner sees a task; any other id answers 404.
The status panel, the file names and the expiry are the portal's (portal/files)."""

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
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from core.web import db, runtime
from models import BackgroundTask, TaskStatus
from portal.files.views import KIND_ICONS, KIND_LABELS, failure_text, human_size
from services.fleet_io import work

bp = Blueprint("staff_files", __name__, url_prefix="/files")

PAGE = 50


def own_task_or_404(task_id: int) -> BackgroundTask:
    task = db().scalar(
        select(BackgroundTask).where(
            BackgroundTask.id == task_id, BackgroundTask.staff_user_id == current_user.id
        )
    )
    if task is None:
        abort(404)
    return task


def _context(task: BackgroundTask) -> dict:
    return {
        "task": task,
        "kind_label": KIND_LABELS.get(task.kind, _l("Task")),
        "expired": work.is_expired(task),
        "failure": failure_text(task) if task.status == TaskStatus.failed else None,
        "human_size": human_size,
        "result_page": None,
        "files_bp": "staff_files",
    }


@bp.route("/")
def index():
    before = request.args.get("before", type=int)
    query = select(BackgroundTask).where(BackgroundTask.staff_user_id == current_user.id)
    if before:
        query = query.where(BackgroundTask.id < before)
    tasks = list(db().scalars(query.order_by(BackgroundTask.id.desc()).limit(PAGE + 1)))
    more = len(tasks) > PAGE
    tasks = tasks[:PAGE]
    return render_template(
        "admin_console/files/index.html",
        tasks=tasks,
        older=tasks[-1].id if more else None,
        newer=bool(before),
        KIND_LABELS=KIND_LABELS,
        KIND_ICONS=KIND_ICONS,
        is_expired=work.is_expired,
        human_size=human_size,
    )


@bp.route("/<int:task_id>")
def task(task_id: int):
    return render_template("admin_console/files/task.html", **_context(own_task_or_404(task_id)))


@bp.route("/<int:task_id>/status")
def task_status(task_id: int):
    """The status panel alone, for htmx polling."""
    task = own_task_or_404(task_id)
    return make_response(render_template("portal/files/_status.html", **_context(task)))


@bp.route("/<int:task_id>/download")
def download(task_id: int):
    task = own_task_or_404(task_id)
    if task.status != TaskStatus.done or not task.file_path:
        if work.is_expired(task):
            flash(_("This file has expired and was deleted. Prepare it again."), "warning")
        return redirect(url_for(".task", task_id=task.id))
    path = runtime().files.path(task.file_path)
    if not path.is_file():
        flash(_("The file is no longer available. Prepare it again."), "warning")
        return redirect(url_for(".task", task_id=task.id))
    response = send_file(
        path,
        mimetype=task.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=task.file_name or path.name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
