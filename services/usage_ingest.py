"""Loading a usage file into events and daily totals, one chunk of rows per transaction.

The job reads the file, parses a chunk (``parse_chunk``, no database), then applies it
(``apply_chunk``) in one transaction that also moves the file's resume point
(``usage_file.rows_done``) with a compare-and-set. So a worker killed mid-file loses nothing
(the chunk rolls back with its resume point) and doubles nothing (a chunk is applied only from
the resume point it was read at: a second copy of the job finds the point moved and stops).

Events go in with bulk SQL: PostgreSQL ``COPY`` into the partitioned table, SQLite
``executemany``. The chunk's daily totals are summed in Python and upserted in one statement
per chunk (``INSERT … ON CONFLICT DO UPDATE``), and so are their sums per month into the
monthly rollup (``services.usage_rollup``). On PostgreSQL the job checks and applies the
chunks in SQL instead (``services.usage_ingest_pg``).
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from models import FileState, Line, UsageFile
from models.base import utcnow
from services import usage_rollup
from services.usage_format import (
    Event,
    Header,
    Rejection,
    iter_rows,
    latest_allowed,
    open_rows,
    parse_row,
)

MAX_STORED_REJECTIONS = 10_000
SQLITE_CACHE_KIB = 64 * 1024
EVENT_COLUMNS = (
    "started_at, line_id, customer_id, kind, direction, zone, quantity, charge, file_id, file_row"
)
DAILY_COLUMNS = "line_id, day, kind, zone, direction, customer_id, quantity, events, charge"
# PostgreSQL: a chunk's daily sums are copied here, then upserted in one statement.
DAILY_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS usage_daily_stage (
    line_id integer, day date, kind varchar(5), zone varchar(8), direction varchar(3),
    customer_id integer, quantity bigint, events integer, charge numeric(14, 2)
) ON COMMIT DELETE ROWS
"""
DAILY_CONFLICT = """
ON CONFLICT (line_id, day, kind, zone, direction) DO UPDATE SET
    quantity = usage_daily.quantity + excluded.quantity,
    events = usage_daily.events + excluded.events,
    charge = usage_daily.charge + excluded.charge
"""


@dataclass
class Chunk:
    start: int  # rows_done before this chunk
    end: int  # rows_done after it (the number of the chunk's last row, minus the header)
    rows: list[tuple[int, list[str]]]
    header: Header


@dataclass
class Parsed:
    start: int
    end: int
    events: list[Event]
    rejections: list[Rejection]
    months: set[date] = field(default_factory=set)


def read_chunks(path: Path, start: int, size: int) -> Iterator[Chunk]:
    """Chunks of ``size`` rows after the first ``start`` rows (the resume point)."""
    with open_rows(path) as text_io:
        header, rows = iter_rows(text_io)
        yield from chunks_of(header, rows, start, size)


def chunks_of(
    header: Header, rows: Iterator[tuple[int, list[str]]], start: int, size: int
) -> Iterator[Chunk]:
    """``rows`` (numbered as ``iter_rows`` numbers them) in chunks of ``size``, after the
    resume point ``start``."""
    remaining = (row for row in rows if row[0] - 1 > start)
    done = start
    while batch := list(islice(remaining, size)):
        end = batch[-1][0] - 1
        yield Chunk(done, end, batch, header)
        done = end


def count_rows(path: Path) -> int:
    """Data rows of the file (line breaks after the header), for the progress bar. Counted in
    the raw bytes, without decoding: a row whose quoted field spans lines counts once per line,
    which only the progress bar sees."""
    with path.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    breaks, last = 0, b"\n"
    with gzip.open(path, "rb") if compressed else path.open("rb") as raw:
        while block := raw.read(1 << 20):
            breaks += block.count(b"\n")
            last = block[-1:]
    lines = breaks + (last != b"\n")  # a last line without a line break
    return max(0, lines - 1)


def parse_chunk(chunk: Chunk, latest: datetime | None = None) -> Parsed:
    latest = latest or latest_allowed()
    parsed = Parsed(chunk.start, chunk.end, [], [])
    events, rejections, header = parsed.events, parsed.rejections, chunk.header
    months = set()
    for number, fields in chunk.rows:
        item = parse_row(header, number, fields, latest)
        if type(item) is Event:
            events.append(item)
            months.add(item.started_at.year * 12 + item.started_at.month - 1)
        else:
            rejections.append(item)
    parsed.months = {date(m // 12, m % 12 + 1, 1) for m in months}
    return parsed


# --- PostgreSQL partitions ---------------------------------------------------------------------


def partition_name(month: date) -> str:
    return f"usage_event_p{month.year:04d}_{month.month:02d}"


def _next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def ensure_partitions(session: Session, months: set[date], known: set[date]) -> None:
    """PostgreSQL: create the monthly partitions of ``usage_event`` that ``months`` need and
    that are neither ``known`` nor exist yet (UTC month bounds). Idempotent; concurrent loaders
    take turns. Run it in its own short transaction, before the chunk that needs it; ``known``
    is not changed (a month becomes known once its partition is seen committed).

    Each is made as a table of its own, then attached: ``ATTACH PARTITION`` takes a lock on
    ``usage_event`` that lets other transactions go on inserting events, where ``CREATE TABLE
    … PARTITION OF`` would wait for all of them to end — among them the next chunk of the same
    load, which waits for this one to commit first."""
    if session.get_bind().dialect.name != "postgresql":
        return
    missing = sorted(months - known)
    if not missing:
        return
    # The lock ATTACH takes anyway, taken first: loaders creating partitions wait for each
    # other (loaders inserting events do not), and this one then sees what they created.
    session.execute(text("LOCK TABLE ONLY usage_event IN SHARE UPDATE EXCLUSIVE MODE"))
    for month in missing:
        name = partition_name(month)
        if session.scalar(text("SELECT to_regclass(:n)"), {"n": name}) is None:
            session.execute(
                text(
                    f"CREATE TABLE {name} "
                    "(LIKE usage_event INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                )
            )
            session.execute(
                text(
                    f"ALTER TABLE usage_event ATTACH PARTITION {name} "
                    f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') "
                    f"TO ('{_next_month(month).isoformat()} 00:00:00+00')"
                )
            )


# --- applying a chunk --------------------------------------------------------------------------


class LineDirectory:
    """MSISDN -> (line id, customer id), looked up as numbers appear and kept for the file."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, int] | None] = {}

    def resolve(self, session: Session, msisdns: set[str]) -> dict[str, tuple[int, int] | None]:
        unknown = [m for m in msisdns if m not in self._known]
        for i in range(0, len(unknown), 900):
            part = unknown[i : i + 900]
            for m in part:
                self._known[m] = None
            for msisdn, line_id, customer_id in session.execute(
                select(Line.msisdn, Line.id, Line.customer_id).where(Line.msisdn.in_(part))
            ):
                self._known[msisdn] = (line_id, customer_id)
        return self._known


@dataclass
class Applied:
    loaded: int
    rejected: int


def apply_chunk(
    session: Session,
    file_id: int,
    parsed: Parsed,
    lines: LineDirectory,
    store_rejections: int = MAX_STORED_REJECTIONS,
) -> Applied | None:
    """Apply one parsed chunk of file ``file_id``; None when the file's resume point is no
    longer ``parsed.start`` (another copy of the job got there first: nothing is written).

    Stores at most ``store_rejections`` of the chunk's rejected rows (all are counted)."""
    if not move_resume_point(session, file_id, parsed.start, parsed.end):
        return None
    if session.get_bind().dialect.name == "sqlite":
        # A page cache that holds what a chunk walks of the daily totals' key (SQLite's default
        # 2 MB evicted and read it again on every chunk: 15 % of the load). It stays with the
        # pooled connection.
        session.execute(text(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
    known = lines.resolve(session, {e.msisdn for e in parsed.events})
    rejections = list(parsed.rejections)
    rows = []
    for e in parsed.events:
        owner = known.get(e.msisdn)
        if owner is None:
            rejections.append(Rejection(e.row, "unknown_number", e.msisdn, _raw_event(e)))
        else:
            rows.append((e, owner[0], owner[1]))
    if rows:
        _insert_events(session, file_id, rows)
        _upsert_daily(session, rows)
    if rejections:
        rejections.sort(key=lambda r: r.row)
        _insert_rejections(session, file_id, rejections[: max(0, store_rejections)])
    record_counts(session, file_id, len(rows), len(rejections))
    return Applied(len(rows), len(rejections))


def move_resume_point(session: Session, file_id: int, start: int, end: int) -> bool:
    """Compare-and-set of the file's resume point from ``start`` to ``end``; False when another
    load moved it first (or the file is no longer loading)."""
    moved = session.execute(
        update(UsageFile)
        .where(
            UsageFile.id == file_id,
            UsageFile.rows_done == start,
            UsageFile.state == FileState.loading,
        )
        .values(rows_done=end, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1


def record_counts(session: Session, file_id: int, loaded: int, rejected: int) -> None:
    session.execute(
        update(UsageFile)
        .where(UsageFile.id == file_id)
        .values(
            rows_loaded=UsageFile.rows_loaded + loaded,
            rows_rejected=UsageFile.rows_rejected + rejected,
        )
        .execution_options(synchronize_session=False)
    )


def _raw_event(e: Event) -> str:
    # The row as read, for the report of a number no line has (the fields were valid).
    return ",".join(
        (
            e.msisdn,
            e.started_at.isoformat().replace("+00:00", "Z"),
            e.kind,
            e.direction,
            e.zone,
            str(e.quantity),
            str(e.charge),
        )
    )


def _driver(session: Session):
    return session.connection().connection.driver_connection


def _insert_events(session: Session, file_id: int, rows) -> None:
    if session.get_bind().dialect.name == "postgresql":
        buf = io.StringIO()
        write = buf.write
        for e, line_id, customer_id in rows:
            write(
                f"{e.started_at.isoformat()}\t{line_id}\t{customer_id}\t{e.kind}\t"
                f"{e.direction}\t{e.zone}\t{e.quantity}\t{e.charge}\t{file_id}\t{e.row}\n"
            )
        with (
            _driver(session).cursor() as cur,
            cur.copy(f"COPY usage_event ({EVENT_COLUMNS}) FROM STDIN") as copy,
        ):
            copy.write(buf.getvalue())
        return
    cur = _driver(session).cursor()
    cur.executemany(
        # Column names are constants of this module; the values are parameters.
        f"INSERT INTO usage_event ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        [
            (
                _sqlite_time(e.started_at),
                line_id,
                customer_id,
                e.kind,
                e.direction,
                e.zone,
                e.quantity,
                int(e.charge * 100),  # grosze: see models.base.GroszeOnSQLite
                file_id,
                e.row,
            )
            for e, line_id, customer_id in rows
        ],
    )
    cur.close()


def _sqlite_time(value: datetime) -> str:
    # The text form SQLAlchemy's DateTime uses on SQLite ("%Y-%m-%d %H:%M:%S.%f"), so queries
    # compare like with like.
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _upsert_daily(session: Session, rows) -> None:
    """Adds the chunk's sums to the daily totals and to the monthly rollup."""
    sums: dict[tuple, list] = {}
    for e, line_id, customer_id in rows:
        key = (line_id, e.day, e.kind, e.zone, e.direction)
        cell = sums.get(key)
        if cell is None:
            sums[key] = [customer_id, e.quantity, 1, e.charge]
        else:
            cell[1] += e.quantity
            cell[2] += 1
            cell[3] += e.charge
    if session.get_bind().dialect.name == "postgresql":
        buf = io.StringIO()
        buf.writelines(
            f"{k[0]}\t{k[1].isoformat()}\t{k[2]}\t{k[3]}\t{k[4]}\t{v[0]}\t{v[1]}\t{v[2]}\t{v[3]}\n"
            for k, v in sums.items()
        )
        with _driver(session).cursor() as cur:
            cur.execute(DAILY_STAGE)
            with cur.copy(f"COPY usage_daily_stage ({DAILY_COLUMNS}) FROM STDIN") as copy:
                copy.write(buf.getvalue())
            upsert = f"INSERT INTO usage_daily ({DAILY_COLUMNS}) SELECT {DAILY_COLUMNS} FROM "  # noqa: S608
            cur.execute(upsert + "usage_daily_stage" + DAILY_CONFLICT)
            cur.execute(usage_rollup.MONTHLY_FROM_DAILY_STAGE)
            cur.execute("DELETE FROM usage_daily_stage")
        return
    cur = _driver(session).cursor()
    for table, columns, conflict, cells in (
        ("usage_daily", DAILY_COLUMNS, DAILY_CONFLICT, sums),
        (
            "usage_monthly",
            usage_rollup.MONTHLY_COLUMNS,
            usage_rollup.MONTHLY_CONFLICT,
            usage_rollup.fold_months(sums),
        ),
    ):
        cur.executemany(
            # Table and column names are constants; the values are parameters.
            f"INSERT INTO {table} ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
            + conflict,
            [
                (k[0], k[1].isoformat(), k[2], k[3], k[4], v[0], v[1], v[2], int(v[3] * 100))
                for k, v in cells.items()
            ],
        )
    cur.close()


def _insert_rejections(session: Session, file_id: int, rejections: list[Rejection]) -> None:
    if not rejections:
        return
    session.execute(
        text(
            "INSERT INTO usage_rejection (file_id, row_number, reason, detail, raw) "
            "VALUES (:file_id, :row, :reason, :detail, :raw)"
        ),
        [
            {"file_id": file_id, "row": r.row, "reason": r.reason, "detail": r.detail, "raw": r.raw}
            for r in rejections
        ],
    )


def charge_sum(values) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal("0"))
