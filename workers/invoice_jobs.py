"""Invoice document jobs: the ZIP of a period's documents and an invoice's large billing detail
(XLSX or PDF), both as tasks whose file waits in "My files".

Each is a task that makes one file (``task_jobs.write_file``: delivered twice, it does nothing
the second time; progress is committed while the documents are read). A job that was lost (a
killed worker, a flushed Redis) is enqueued again by ``fleet_io_jobs.sweep_lost_tasks``, and the
task fails with the reason after three such attempts.
"""

from __future__ import annotations

from services.einvoice import archive, detail_work, documents
from workers import task_jobs


def build_invoice_zip(task_id: int) -> str:
    return task_jobs.write_file(
        task_id, "invoice ZIP", archive.write_zip, lambda _params: "application/zip", "invoices"
    )


def build_invoice_detail(task_id: int) -> str:
    return task_jobs.write_file(
        task_id,
        "invoice detail",
        detail_work.write_file,
        lambda params: documents.CONTENT_TYPES[params["fmt"]],
        "lines",
    )
