"""Loading usage files, and the sweep that resumes loads a lost job left behind.

``load_usage_file(file_id)`` claims the file, then commits one chunk of rows per transaction
together with the file's resume point, so it may be killed at any moment and run again (or
twice at once): it continues from the last committed chunk and never applies a chunk twice.
On PostgreSQL two chunks are in flight at once, on two connections; they commit in file order.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import TypeVar

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from core.db import Database
from models import UsageFile
from services import usage_files, usage_ingest, usage_ingest_pg, usage_staging
from services.usage_format import FileRefused, latest_allowed
from workers.context import runtime, unit_of_work

log = logging.getLogger(__name__)
T = TypeVar("T")
C = TypeVar("C")
CHUNK_ROWS = {"postgresql": 50_000, "sqlite": 10_000}
# PostgreSQL: chunks applied at once, each in its own transaction on its own connection.
IN_FLIGHT = 2


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
    chunks = usage_ingest.read_chunks(path, start, size)
    for parsed in _ahead(chunks, usage_ingest.parse_chunk):
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
    """Copy each chunk to PostgreSQL, which checks and applies it, two chunks at a time on two
    connections (``_apply_in_turn``). None when overtaken."""
    db = runtime().db
    partitions: set = set()
    latest = latest_allowed()
    stored = [rejected]  # rejected rows so far, counted in the order the chunks commit
    blocks = usage_staging.read_blocks(path, start, size)
    width = IN_FLIGHT if db.parallel_sessions else 1
    in_flight: deque[Future] = deque()
    last = None
    with ThreadPoolExecutor(width, thread_name_prefix="usage-apply") as pool:
        for staged in _ahead(blocks, usage_staging.stage):
            last = pool.submit(
                _apply_in_turn, db, file_id, staged, latest, partitions, last, stored
            )
            in_flight.append(last)
            if len(in_flight) == width and in_flight.popleft().result() is None:
                break
    # A chunk that stops the load stops every chunk after it: the last one tells.
    if last is not None and last.result() is None:
        log.info("usage file %s: another load is ahead of this one; stopping", file_id)
        return None
    return True


def _apply_in_turn(
    db: Database,
    file_id: int,
    staged: usage_staging.Staged,
    latest: datetime,
    partitions: set,
    previous: Future | None,
    stored: list[int],
) -> usage_ingest.Applied | None:
    """One chunk in its own transaction: the events go in at once, the rest (resume point,
    daily totals, rejections) once the previous chunk's transaction has committed, so chunks
    commit in file order. None when the load stopped (overtaken) before or at this chunk; an
    error in the previous chunk is raised here too, and this one rolls back."""
    while True:
        try:
            with db.session_scope() as s:
                loaded = usage_ingest_pg.insert_events(s, file_id, staged, latest, partitions)
                if previous is not None and previous.result() is None:
                    s.rollback()
                    return None
                applied = usage_ingest_pg.apply_totals(
                    s,
                    file_id,
                    staged,
                    loaded,
                    store_rejections=usage_ingest.MAX_STORED_REJECTIONS - stored[0],
                )
                if applied is None:
                    s.rollback()
                    return None
            stored[0] += applied.rejected
            return applied
        except usage_ingest_pg.PartitionsMissing as missing:
            with db.session_scope() as s:
                usage_ingest.ensure_partitions(s, missing.months, partitions)


def _ahead(chunks: Generator[C, None, None], prepare: Callable[[C], T]) -> Iterator[T]:
    """The file's chunks, each passed through ``prepare`` one chunk ahead in a thread: reading
    and parsing (Python) run while the database applies the previous chunk (the thread runs
    while this one waits on the server). Only the thread touches the file."""

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
