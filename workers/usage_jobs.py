"""Loading usage files, and the sweep that resumes loads a lost job left behind.

``load_usage_file(file_id)`` claims the file, then commits one chunk of rows per transaction
together with the file's resume point, so it may be killed at any moment and run again (or
twice at once): it continues from the last committed chunk and never applies a chunk twice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from models import UsageFile
from services import usage_files, usage_ingest, usage_ingest_pg
from services.usage_format import FileRefused, latest_allowed
from workers.context import runtime, unit_of_work

log = logging.getLogger(__name__)
T = TypeVar("T")
CHUNK_ROWS = {"postgresql": 20_000, "sqlite": 10_000}


def chunk_rows(dialect: str) -> int:
    """Rows per transaction; ``USAGE_CHUNK_ROWS`` overrides (tests use small chunks)."""
    raw = os.environ.get("USAGE_CHUNK_ROWS", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else CHUNK_ROWS.get(dialect, 10_000)


def load_usage_file(file_id: int) -> str:
    rt = runtime()
    with unit_of_work() as s:
        file = usage_files.claim(s, file_id)
        if file is None:
            return "skipped"
        stored, start, rejected = file.stored_path, file.rows_done, file.rows_rejected
        needs_total = file.rows_total is None
    path = rt.files.path(stored)
    if not path.is_file():
        _fail(file_id, {"code": "gone", "params": {}})
        return "failed"
    try:
        if needs_total:
            with unit_of_work() as s:
                usage_files.set_total(s, file_id, usage_ingest.count_rows(path))
        dialect = rt.db.engine.dialect.name
        size = chunk_rows(dialect)
        if dialect == "postgresql":
            if _load_in_sql(file_id, path, start, size, rejected) is None:
                return "overtaken"
        elif _load_in_python(file_id, path, start, size, rejected) is None:
            return "overtaken"
    except FileRefused as exc:
        _fail(file_id, {"code": exc.code, "params": exc.params})
        return "failed"
    with unit_of_work() as s:
        usage_files.finish(s, file_id)
    return "loaded"


def _load_in_python(file_id: int, path, start: int, size: int, rejected: int) -> bool | None:
    """Parse each chunk in Python and apply it (SQLite). None when overtaken."""
    lines = usage_ingest.LineDirectory()
    for parsed in _ahead(path, start, size, usage_ingest.parse_chunk):
        with unit_of_work() as s:
            applied = usage_ingest.apply_chunk(
                s,
                file_id,
                parsed,
                lines,
                store_rejections=usage_ingest.MAX_STORED_REJECTIONS - rejected,
            )
        if applied is None:
            log.info("usage file %s: another load is ahead of this one; stopping", file_id)
            return None
        rejected += applied.rejected
    return True


def _load_in_sql(file_id: int, path, start: int, size: int, rejected: int) -> bool | None:
    """Copy each chunk to PostgreSQL, which checks and applies it. None when overtaken."""
    partitions: set = set()
    latest = latest_allowed()
    for staged in _ahead(path, start, size, usage_ingest_pg.stage_chunk):
        while True:
            try:
                with unit_of_work() as s:
                    applied = usage_ingest_pg.apply_staged(
                        s,
                        file_id,
                        staged,
                        latest,
                        partitions,
                        store_rejections=usage_ingest.MAX_STORED_REJECTIONS - rejected,
                    )
                break
            except usage_ingest_pg.PartitionsMissing as missing:
                with unit_of_work() as s:
                    usage_ingest.ensure_partitions(s, missing.months, partitions)
        if applied is None:
            log.info("usage file %s: another load is ahead of this one; stopping", file_id)
            return None
        rejected += applied.rejected
    return True


def _ahead(path, start: int, size: int, prepare: Callable[[usage_ingest.Chunk], T]) -> Iterator[T]:
    """The file's chunks, each passed through ``prepare`` one chunk ahead in a thread: reading
    and parsing (Python) run while the database applies the previous chunk (the thread runs
    while this one waits on the server). Only the thread touches the file."""
    chunks = usage_ingest.read_chunks(path, start, size)

    def next_parsed() -> T | None:
        chunk = next(chunks, None)
        return prepare(chunk) if chunk is not None else None

    with ThreadPoolExecutor(1, thread_name_prefix="usage-parse") as pool:
        ahead = pool.submit(next_parsed)
        try:
            while (parsed := ahead.result()) is not None:
                ahead = pool.submit(next_parsed)
                yield parsed
        finally:
            if not ahead.cancel():
                wait([ahead])  # the read in flight ends before the file is closed
            pool.submit(chunks.close).result()


def _fail(file_id: int, error: dict) -> None:
    with unit_of_work() as s:
        file = s.get(UsageFile, file_id)
        if file is not None:
            usage_files.fail(s, file, error)


LIVE = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def sweep_usage_files(stale_seconds: int = 120) -> int:
    """Periodic: enqueue again the loads that are not moving (received but never started, or
    loading with no chunk committed for ``stale_seconds``) unless their job is waiting."""
    rt = runtime()
    count = 0
    with unit_of_work() as s:
        for file in usage_files.lost(s, stale_seconds):
            try:
                status = Job.fetch(usage_files.job_id(file.id), connection=rt.redis).get_status()
            except NoSuchJobError:
                status = None
            if status in LIVE:
                continue
            usage_files.enqueue_load(s, file)
            count += 1
    return count
