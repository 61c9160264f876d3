"""My files in the console (/files/): exports a staff user started that were too large to
download at once (a customer's reports). Only the owner sees a task; any other id answers 404.
The pages are the portal's (portal/files), in the console's layout."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from core.web import db
from models import BackgroundTask, TaskStatus
from portal.files.views import KIND_ICONS, KIND_LABELS, failure_text, human_size, send_task_file
from services.fleet_io import work

bp = Blueprint("staff_files", __name__, url_prefix="/files")

PAGE = 50
PAGES = {"files_bp": "staff_files", "layout": "admin_console/layout.html", "staff": True}


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
        **PAGES,
    }


@bp.route("/")
def index():
    before = request.args.get("before", type=int)
    tasks = work.staff_tasks(db(), current_user, before=before, limit=PAGE + 1)
    more = len(tasks) > PAGE
    tasks = tasks[:PAGE]
    return render_template(
        "portal/files/index.html",
        tasks=tasks,
        older=tasks[-1].id if more else None,
        newer=bool(before),
        KIND_LABELS=KIND_LABELS,
        KIND_ICONS=KIND_ICONS,
        RESULT_PAGES={},
        is_expired=work.is_expired,
        human_size=human_size,
        **PAGES,
    )


@bp.route("/<int:task_id>")
def task(task_id: int):
    return render_template("portal/files/task.html", **_context(own_task_or_404(task_id)))


@bp.route("/<int:task_id>/status")
def task_status(task_id: int):
    """The status panel alone, for htmx polling."""
    task = own_task_or_404(task_id)
    return make_response(render_template("portal/files/_status.html", **_context(task)))


@bp.route("/<int:task_id>/download")
def download(task_id: int):
    task = own_task_or_404(task_id)
    return send_task_file(task, url_for(".task", task_id=task.id))
