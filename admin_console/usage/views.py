"""Usage files delivered by the operator's billing platform: the list with each load's state,
counts and progress (refreshed while a load runs), the upload, and the rejection report.

Usage files hold the lines of every customer, so they are operator data: sales and operator
admins upload files and download rejection reports (which show rejected rows as delivered);
account managers see the list and the counts only.
"""

from __future__ import annotations

import secrets

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from admin_console.usage.forms import UploadForm
from core.web import actor, commit, db, local_datetime, runtime
from models import FileState, StaffRole, UsageFile
from services import ServiceError, usage_files
from services.audit import record

bp = Blueprint("usage", __name__, url_prefix="/usage")


@bp.context_processor
def _helpers() -> dict:
    return {"can_manage": can_manage(), "file_error": usage_files.error_text}


PAGE_SIZE = 50
DEFAULT_MAX_BYTES = 40 * 1024 * 1024
MANAGERS = (StaffRole.sales_admin, StaffRole.operator_admin)


def can_manage() -> bool:
    return current_user.role in MANAGERS


def _max_bytes() -> int:
    return int(current_app.config.get("USAGE_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit // (1024 * 1024)} MB"
    return f"{limit // 1024} kB"


def _page():
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    files = list(
        db().scalars(
            select(UsageFile)
            .order_by(UsageFile.id.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    total = db().scalar(select(func.count()).select_from(UsageFile))
    running = any(f.state in (FileState.received, FileState.loading) for f in files)
    return {"files": files, "total": total, "page": page, "running": running}


@bp.route("/")
def index():
    form = UploadForm(formdata=None)
    return render_template("admin_console/usage/index.html", form=form, **_page())


@bp.route("/list")
def file_list():
    """The table alone, for the page's refresh while a load runs."""
    return render_template("admin_console/usage/_files.html", **_page())


def _refuse(form: UploadForm, message: str, status: int = 422):
    form.file.errors = [*form.file.errors, message]
    return render_template("admin_console/usage/index.html", form=form, **_page()), status


@bp.route("/", methods=["POST"])
def upload():
    if not can_manage():
        abort(403)
    form = UploadForm()
    upload = form.file.data if form.validate_on_submit() else None
    if not upload or not getattr(upload, "filename", None):
        if form.errors:
            return render_template("admin_console/usage/index.html", form=form, **_page()), 422
        return _refuse(form, _("Choose the usage file to upload."))
    limit = _max_bytes()
    store = runtime().files
    incoming = f"{usage_files.FOLDER}/incoming/{secrets.token_hex(12)}.part"
    too_large = False
    with store.writing(incoming) as tmp, tmp.open("wb") as out:
        written = 0
        while block := upload.stream.read(1024 * 1024):
            written += len(block)
            if written > limit:
                too_large = True
                break
            out.write(block)
    upload.close()
    try:
        if too_large:
            return _refuse(
                form,
                _(
                    "The file is larger than %(size)s. Compress it (gzip) or deliver it with "
                    "the command asystent usage load.",
                    size=_size(limit),
                ),
            )
        try:
            file, created = usage_files.submit_path(
                db(),
                store,
                store.path(incoming),
                name=upload.filename,
                submitted_by=current_user.email,
            )
        except ServiceError as err:
            db().rollback()
            return _refuse(form, err.text)
    finally:
        store.delete(incoming)
    if not created:
        db().rollback()
        flash(
            _(
                "This file was already delivered on %(when)s as %(name)s (file %(id)d); "
                "nothing was changed.",
                when=local_datetime(file.created_at, "short"),
                name=file.name,
                id=file.id,
            ),
            "warning",
        )
        return redirect(url_for("usage.index"))
    record(db(), actor(), "usage_file.submitted", obj=file, after={"name": file.name})
    file_id = file.id
    commit()
    flash(_("File %(id)d received; it is being loaded.", id=file_id), "success")
    return redirect(url_for("usage.index"))


@bp.route("/<int:file_id>/rejections.csv")
def rejections(file_id: int):
    if not can_manage():
        abort(403)
    file = db().get(UsageFile, file_id)
    if file is None:
        abort(404)
    session = db()
    body = stream_with_context(usage_files.rejection_report(session, file))
    name = f"rejections-{file.id}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
