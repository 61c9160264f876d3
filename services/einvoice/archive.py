"""A ZIP of a period's invoice documents, built by a worker as a "My files" task.

``start`` creates the task (kind ``invoice_zip``) for a company-wide portal user and a range
of billing months; ``write_zip`` writes one folder per issued invoice or correction of the
customer whose billing month lies in the range — FA(3), UBL, PDF and the billing detail as
CSV and as the PDF appendix —
reporting progress per invoice. A document that cannot be made (an FA(3) over KSeF's limit)
is left out and listed in ``BRAK.txt`` of that folder.
"""

from __future__ import annotations

import zipfile
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.files import FileStore
from core.i18n import _l
from models import BackgroundTask, Invoice, InvoiceState
from services import ServiceError, tasks
from services.einvoice import documents
from services.einvoice.fa3 import InvalidDocument
from workers import queues

KIND = "invoice_zip"
JOB = "workers.invoice_jobs.build_invoice_zip"
TIMEOUT = 3600
MAX_MONTHS = 12
DOCUMENTS = ("fa3", "ubl", "pdf", "csv", "detail_pdf")


def _invoices(session: Session, customer_id: int, first: date, last: date):
    return select(Invoice.id).where(
        Invoice.customer_id == customer_id,
        Invoice.state == InvoiceState.issued,
        Invoice.period_start >= first,
        Invoice.period_start <= last,
    )


def start(session: Session, user, first: date, last: date, file_name: str) -> BackgroundTask:
    """Queue the ZIP of the months ``first`` … ``last`` (first days of months)."""
    if first > last:
        raise ServiceError(_l("The first month comes after the last."), field="from")
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        raise ServiceError(_l("Choose at most 12 months."), field="from")
    if session.scalar(_invoices(session, user.customer_id, first, last).limit(1)) is None:
        raise ServiceError(_l("There are no invoices for these months."), field="from")
    return tasks.create(
        session,
        KIND,
        queue=queues.DOCUMENTS,
        func=JOB,
        customer_id=user.customer_id,
        portal_user_id=user.id,
        params={"from": first.isoformat(), "to": last.isoformat(), "file_name": file_name},
        timeout=TIMEOUT,
    )


def write_zip(
    session: Session, store: FileStore, task: BackgroundTask, progress=None
) -> tuple[str, int, int]:
    """The task's ZIP into its folder; (relative path, size, invoices)."""
    first = date.fromisoformat(task.params["from"])
    last = date.fromisoformat(task.params["to"])
    ids = list(
        session.scalars(_invoices(session, task.customer_id, first, last).order_by(Invoice.id))
    )
    if progress:
        progress(0, len(ids))
    rel = store.new_name(f"tasks/{task.id}", ".zip")
    with (
        store.writing(rel) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf,
    ):
        for n, invoice_id in enumerate(ids, 1):
            invoice = session.get(Invoice, invoice_id)
            base = documents.file_name(invoice, "pdf").rsplit(".", 1)[0]
            missing = []
            for kind in DOCUMENTS:
                try:
                    data = documents.render(session, invoice, kind)
                except InvalidDocument as exc:
                    missing.append(f"{kind}: {exc}")
                    continue
                zf.writestr(f"{base}/{documents.file_name(invoice, kind)}", data)
            if missing:
                zf.writestr(f"{base}/BRAK.txt", "\n".join(missing) + "\n")
            session.expunge_all()
            if progress:
                progress(n, len(ids))
    return rel, store.size(rel), len(ids)
