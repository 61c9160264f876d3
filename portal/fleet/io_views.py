"""Fleet export (/fleet/export) and import (/fleet/import…).

An export of up to FLEET_EXPORT_INLINE_LIMIT lines downloads at once; a larger one becomes a
background task whose page shows the progress and then the file. An import is uploaded,
checked by a worker (the preview), and applied by a worker in one transaction, or not at all.
"""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from openpyxl import Workbook
from openpyxl.styles import Font

from core.web import actor, commit, db, runtime
from models import TaskStatus
from portal import scope as tenant
from portal.files.views import failure_text, human_size, own_task_or_404
from services import fleet as fl
from services.fleet_io import checking, export, reading, work

bp = Blueprint("fleet_io", __name__, url_prefix="/fleet")

INLINE_LIMIT = 5000
FORMATS = ("csv", "xlsx")


class ImportForm(FlaskForm):
    file = FileField(
        _l("File (XLSX or CSV)"),
        validators=[FileRequired(_l("Choose a file to import."))],
        render_kw={"accept": ".xlsx,.csv,.txt"},
    )


class ApplyForm(FlaskForm):
    """Only the CSRF token: the import to apply is in the URL."""


def _locale() -> str:
    return str(get_locale() or "pl")


def _today():
    return datetime.now(ZoneInfo("Europe/Warsaw")).date()


def _download(data: bytes, name: str, mimetype: str):
    response = send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/export", endpoint="export", methods=["POST"])
@login_required
def export_lines():
    """The lines the list's filter shows, as a file: a POST (CSRF), because a large export
    becomes a task in My files."""
    tenant.require_fleet_reader()
    fmt = request.form.get("fmt", "csv")
    if fmt not in FORMATS:
        abort(404)
    flt = fl.FleetFilter.from_params(request.form)
    scope = tenant.fleet_scope(current_user)
    name = export.file_name(_("fleet"), current_user.customer.name, _today(), fmt)
    limit = current_app.config.get("FLEET_EXPORT_INLINE_LIMIT", INLINE_LIMIT)
    if fl.count(db(), scope, flt) <= limit:
        out = io.BytesIO()
        work.render_export(db(), scope, flt, fmt, out, decimal_comma=_locale() == "pl")
        return _download(out.getvalue(), name, export.CONTENT_TYPES[fmt])
    task = work.start_export(db(), current_user, scope, flt, fmt, locale=_locale(), file_name=name)
    commit()
    flash(_("The export is being prepared. It will also be waiting for you in My files."), "info")
    return redirect(url_for("files.task", task_id=task.id))


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_start():
    tenant.require_manager()
    form = ImportForm()
    status = 200
    if request.method == "POST":
        if (request.content_length or 0) > reading.MAX_BYTES + 64 * 1024:
            form.file.errors = [reading.ImportFileError("too_big").text]
            status = 413
        elif form.validate_on_submit():
            upload = form.file.data
            data = upload.read(reading.MAX_BYTES + 1)
            try:
                fmt = reading.detect_format(upload.filename, data)
            except reading.ImportFileError as err:
                form.file.errors = [err.text]
                status = 413 if err.code == "too_big" else 400
            else:
                task = work.start_check(
                    db(),
                    runtime().files,
                    current_user,
                    tenant.fleet_scope(current_user),
                    file_name=upload.filename,
                    fmt=fmt,
                    data=data,
                    locale=_locale(),
                )
                commit()
                return redirect(url_for(".import_preview", task_id=task.id))
        else:
            status = 400
    return render_template(
        "portal/fleet_io/import.html",
        form=form,
        max_mb=reading.MAX_BYTES // (1024 * 1024),
    ), status


@bp.route("/import/template.<fmt>")
@login_required
def import_template(fmt: str):
    tenant.require_manager()
    if fmt not in FORMATS:
        abort(404)
    headers = reading.template_headers()
    name = export.file_name(_("fleet-import"), current_user.customer.name, _today(), fmt)
    if fmt == "csv":
        data = (";".join(headers) + "\r\n").encode("utf-8-sig")
    else:
        wb = Workbook()
        ws = wb.active
        ws.title = _("Import")[:31]
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for letter in "ABCDEF":
            ws.column_dimensions[letter].width = 30
        ws.freeze_panes = "A2"
        out = io.BytesIO()
        wb.save(out)
        data = out.getvalue()
    return _download(data, name, export.CONTENT_TYPES[fmt])


def _check_task(task_id: int, *, lock: bool = False):
    """The user's import check, or a redirect for another kind of task of theirs."""
    task = own_task_or_404(task_id, lock=lock)
    if task.kind != work.CHECK:
        return task, redirect(url_for("files.task", task_id=task.id))
    tenant.require_manager()
    return task, None


def _blocker(task, result: dict) -> str | None:
    """Why this import cannot be applied (None: it can)."""
    if task.status != TaskStatus.done:
        return _("The file is still being checked.")
    if result.get("file_error"):
        return _("The file cannot be imported. Correct it and upload it again.")
    if result.get("errors"):
        return _(
            "Correct the errors in the file and upload it again: nothing is applied while "
            "any row has an error."
        )
    if not result.get("changes"):
        return _("The file changes nothing: every line already is as the file says.")
    return None


def _file_error(result: dict, content: dict | None) -> str | None:
    code = result.get("file_error")
    if not code:
        return None
    params = (content or {}).get("file_error_params") or {}
    return str(reading.file_error_message(code, **params))


@bp.route("/import/<int:task_id>")
@login_required
def import_preview(task_id: int):
    task, other = _check_task(task_id)
    if other is not None:
        return other
    result = task.result or {}
    content = work.load_report(runtime().files, task) if task.status == TaskStatus.done else None
    expired = work.is_expired(task)
    applied = work.apply_task_of(db(), task)
    return render_template(
        "portal/fleet_io/preview.html",
        task=task,
        result=result,
        content=content or {},
        expired=expired,
        applied=applied,
        blocker=_blocker(task, result) or (_("The checked file has expired.") if expired else None),
        form=ApplyForm(),
        error_text=checking.error_text,
        file_error=_file_error(result, content),
        failure=failure_text(task) if task.status == TaskStatus.failed else None,
        human_size=human_size,
        field_labels=reading.FIELD_LABELS,
        preview_limit=work.PREVIEW_LIMIT,
    )


@bp.route("/import/<int:task_id>/errors")
@login_required
def import_errors(task_id: int):
    task, other = _check_task(task_id)
    if other is not None:
        return other
    content = work.load_report(runtime().files, task)
    if content is None:
        return redirect(url_for(".import_preview", task_id=task.id))
    stem = (task.file_name or "import").rsplit(".", 1)[0]
    prefix = _("import-errors")
    name = f"{export.slug(prefix)}-{export.slug(stem)}.csv"
    return _download(work.error_report_csv(content), name, export.CONTENT_TYPES["csv"])


@bp.route("/import/<int:task_id>/apply", methods=["POST"])
@login_required
def import_apply(task_id: int):
    task, other = _check_task(task_id, lock=True)
    if other is not None:
        abort(404)
    form = ApplyForm()
    if not form.validate_on_submit():
        abort(400)
    existing = work.apply_task_of(db(), task)
    if existing is not None and existing.status != TaskStatus.failed:
        flash(_("This import has already been applied."), "info")
        return redirect(url_for("files.task", task_id=existing.id))
    reason = _blocker(task, task.result or {}) or (
        _("The checked file has expired. Upload it again.") if work.is_expired(task) else None
    )
    if reason:
        flash(reason, "danger")
        return redirect(url_for(".import_preview", task_id=task.id))
    apply_task = work.start_apply(
        db(), current_user, tenant.fleet_scope(current_user), task, actor()
    )
    commit()
    return redirect(url_for("files.task", task_id=apply_task.id))
