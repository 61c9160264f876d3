"""Delivered usage files: submitting one (console upload, CLI, demo), the states a load goes
through, the rejection report, and finding loads a lost job left behind.

A file is known by its SHA-256: delivering the same bytes again (under any name) changes
nothing and answers with the file recorded the first time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import aftercommit
from core.files import FileStore
from core.i18n import _l
from models import FileState, UsageFile, UsageRejection
from models.base import utcnow
from services import ServiceError
from services.usage_format import (
    FileRefused,
    check_head,
    file_error_message,
    head_of,
    reason_message,
)
from workers import queues

JOB = "workers.usage_jobs.load_usage_file"
JOB_TIMEOUT = 6 * 3600
MAX_ATTEMPTS = 5
FOLDER = "usage"


def job_id(file_id: int) -> str:
    return f"usage-file-{file_id}"


def enqueue_load(session: Session, file: UsageFile) -> None:
    aftercommit.enqueue(
        session, queues.USAGE, JOB, file.id, job_id=job_id(file.id), job_timeout=JOB_TIMEOUT
    )


def _digest(path: Path) -> tuple[str, int, bytes]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        head = f.read(1024 * 1024)
        chunk = head
        while chunk:
            h.update(chunk)
            size += len(chunk)
            chunk = f.read(1024 * 1024)
    return h.hexdigest(), size, head


def submit_path(
    session: Session,
    store: FileStore,
    path: Path,
    *,
    name: str,
    submitted_by: str,
    enqueue: bool = True,
) -> tuple[UsageFile, bool]:
    """Record the file at ``path`` (copied into the store) and queue its load after the
    commit. Returns (file, created); an already delivered file comes back with False.

    Raises ServiceError when the file cannot be a usage file (empty, not CSV, wrong header)."""
    sha, size, head = _digest(path)
    existing = session.scalar(select(UsageFile).where(UsageFile.sha256 == sha))
    if existing is not None:
        return existing, False
    try:
        check_head(head_of(head))
    except FileRefused as exc:
        raise ServiceError(exc.message, field="file", code=exc.code) from exc
    suffix = ".csv.gz" if head[:2] == b"\x1f\x8b" else ".csv"
    stored = f"{FOLDER}/{sha[:2]}/{sha}{suffix}"
    with store.writing(stored) as tmp:
        shutil.copyfile(path, tmp)
    file = UsageFile(
        name=(name or "usage.csv")[:255],
        sha256=sha,
        size=size,
        stored_path=stored,
        state=FileState.received,
        submitted_by=submitted_by[:254],
        rows_done=0,
        rows_loaded=0,
        rows_rejected=0,
        attempts=0,
    )
    try:
        with session.begin_nested():
            session.add(file)
            session.flush()
    except IntegrityError:  # delivered at the same moment by someone else
        existing = session.scalar(select(UsageFile).where(UsageFile.sha256 == sha))
        if existing is None:
            raise
        return existing, False
    if enqueue:
        enqueue_load(session, file)
    return file, True


def claim(session: Session, file_id: int) -> UsageFile | None:
    """Start (or resume) loading; None when the file is finished or gone."""
    file = session.get(UsageFile, file_id, with_for_update=True)
    if file is None or file.state in (FileState.loaded, FileState.failed):
        return None
    if file.attempts >= MAX_ATTEMPTS:
        fail(session, file, {"code": "attempts", "params": {}})
        return None
    file.state = FileState.loading
    file.attempts += 1
    file.started_at = file.started_at or utcnow()
    session.flush()
    return file


def finish(session: Session, file_id: int) -> UsageFile | None:
    file = session.get(UsageFile, file_id, with_for_update=True)
    if file is None or file.state != FileState.loading:
        return None
    file.state = FileState.loaded
    file.rows_total = file.rows_done
    file.finished_at = utcnow()
    session.flush()
    # New charges: spend alerts are evaluated once the load is committed.
    aftercommit.enqueue(
        session, queues.DEFAULT, "workers.spend_jobs.evaluate_spend", job_timeout=1800
    )
    return file


def fail(session: Session, file: UsageFile, error: dict) -> None:
    if file.state in (FileState.loaded, FileState.failed):
        return
    file.state = FileState.failed
    file.error = error
    file.finished_at = utcnow()
    session.flush()


def set_total(session: Session, file_id: int, rows: int) -> None:
    file = session.get(UsageFile, file_id)
    if file is not None and file.rows_total is None:
        file.rows_total = rows
        session.flush()


def error_text(file: UsageFile) -> str:
    return file_error_message(file.error)


def lost(session: Session, stale_seconds: int = 120) -> list[UsageFile]:
    """Files whose load should be running but shows no progress: received and never started,
    or loading without a chunk committed for ``stale_seconds``."""
    limit = utcnow() - timedelta(seconds=stale_seconds)
    return list(
        session.scalars(
            select(UsageFile)
            .where(
                or_(UsageFile.state == FileState.received, UsageFile.state == FileState.loading),
                UsageFile.updated_at <= limit,
            )
            .order_by(UsageFile.id)
            .limit(100)
        )
    )


def rejections(session: Session, file_id: int) -> Iterator[UsageRejection]:
    return iter(
        session.scalars(
            select(UsageRejection)
            .where(UsageRejection.file_id == file_id)
            .order_by(UsageRejection.row_number)
            .execution_options(yield_per=2000)
        )
    )


REPORT_HEADER = (_l("Row"), _l("Reason"), _l("Value"), _l("Row as delivered"))


def rejection_report(session: Session, file: UsageFile) -> Iterator[str]:
    """The rejection report as CSV text in the current language (UTF-8 with BOM for Excel)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";")
    buf.write("\ufeff")
    writer.writerow([str(h) for h in REPORT_HEADER])
    if file.error:
        writer.writerow(["", error_text(file), "", ""])
    for n, r in enumerate(rejections(session, file.id), start=1):
        writer.writerow([r.row_number, reason_message(r.reason), r.detail or "", r.raw])
        if n % 1000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    stored = session.scalar(
        select(func.count()).select_from(UsageRejection).where(UsageRejection.file_id == file.id)
    )
    if file.rows_rejected > stored:
        writer.writerow(["", str(_l("Only the first 10,000 rejected rows are listed.")), "", ""])
    yield buf.getvalue()
