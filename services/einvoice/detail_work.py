"""An invoice's billing detail (XLSX or the PDF appendix) made by a worker, for invoices with
more lines than download at once: a ``BackgroundTask`` (kind ``invoice_detail``, queue
``documents``) created before the commit that enqueues ``workers.invoice_jobs.
build_invoice_detail``. A portal user's file waits in My files; a staff member's on the
console's invoice page. Asking again while the same file is being made returns that task.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.files import FileStore
from models import BackgroundTask, Invoice, InvoiceLine, TaskStatus
from services import tasks
from services.einvoice import detail, documents
from workers import queues

KIND = "invoice_detail"
JOB = "workers.invoice_jobs.build_invoice_detail"
TIMEOUT = 3600
FORMATS = ("xlsx", "detail_pdf")
SUFFIXES = {"xlsx": ".xlsx", "detail_pdf": ".pdf"}


def line_count(session: Session, invoice: Invoice) -> int:
    return session.scalar(
        select(func.count()).select_from(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
    )


def start(
    session: Session, invoice: Invoice, fmt: str, *, portal_user=None, staff_user=None
) -> BackgroundTask:
    """The task that makes ``fmt`` of ``invoice`` for the user (one of the two owners)."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    owner = (
        BackgroundTask.portal_user_id == portal_user.id
        if portal_user is not None
        else BackgroundTask.staff_user_id == staff_user.id
    )
    for task in session.scalars(
        select(BackgroundTask).where(
            owner,
            BackgroundTask.kind == KIND,
            BackgroundTask.status.in_([TaskStatus.queued, TaskStatus.running]),
        )
    ):
        if task.params.get("invoice_id") == invoice.id and task.params.get("fmt") == fmt:
            return task
    return tasks.create(
        session,
        KIND,
        queue=queues.DOCUMENTS,
        func=JOB,
        customer_id=invoice.customer_id,
        portal_user_id=portal_user.id if portal_user is not None else None,
        staff_user_id=staff_user.id if staff_user is not None else None,
        params={
            "invoice_id": invoice.id,
            "fmt": fmt,
            "file_name": documents.file_name(invoice, fmt),
        },
        timeout=TIMEOUT,
    )


def write_file(
    session: Session, store: FileStore, task: BackgroundTask, progress=None
) -> tuple[str, int, int]:
    """The task's file into its folder: (relative path, size, invoice lines)."""
    invoice = session.get(Invoice, task.params["invoice_id"])
    fmt = task.params["fmt"]
    count = line_count(session, invoice)
    if fmt == "xlsx":
        if progress:
            progress(0, count)
        data = detail.detail_xlsx(session, invoice, progress=progress)
    else:
        data = detail.detail_pdf(session, invoice, progress=progress)
    rel = store.new_name(f"tasks/{task.id}", SUFFIXES[fmt])
    with store.writing(rel) as tmp:
        tmp.write_bytes(data)
    return rel, store.size(rel), count
