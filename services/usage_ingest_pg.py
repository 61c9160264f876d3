"""PostgreSQL: a chunk of a usage file checked and applied in SQL.

Python only splits the file into rows and refuses what needs the row as a whole (wrong number of
fields, too long, not UTF-8); the other fields go to the server as text (``COPY`` into a
temporary table). One statement then checks every row with the rules of
``services.usage_format.parse_row`` — the same reasons, in the same order, with the same
offending value — parses the times (with their offsets) and looks the numbers up in ``line``.
From that checked table, in the same transaction: the events (``INSERT … SELECT`` into the
partitioned ``usage_event``), the chunk's daily totals per Warsaw day (one upsert), their
sums per Warsaw month into the monthly rollup (one upsert, ``MONTHLY``), and the rejected
rows (their raw text is rebuilt in Python from the chunk).

A chunk whose events fall in a month without a partition raises ``PartitionsMissing`` before
anything is written: the caller rolls back, creates the partitions in their own short
transaction (``usage_ingest.ensure_partitions``) and applies the chunk again.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from services.usage_format import MAX_QUANTITY, MAX_ROW_CHARS, Rejection, raw_text
from services.usage_ingest import (
    DAILY_COLUMNS,
    DAILY_CONFLICT,
    Applied,
    Chunk,
    _driver,
    _insert_rejections,
    move_resume_point,
    partition_name,
    record_counts,
)
from services.usage_rollup import MONTHLY_COLUMNS, MONTHLY_CONFLICT

RAW_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS usage_raw_stage (
    file_row integer, msisdn text, started_at text, kind text, direction text, zone text,
    quantity text, charge text
) ON COMMIT DELETE ROWS
"""
CHECKED_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS usage_checked_stage (
    file_row integer, reason text, detail text, line_id integer, customer_id integer,
    started_at timestamptz, kind text COLLATE "C", direction text COLLATE "C",
    zone text COLLATE "C", quantity bigint, charge numeric(12, 2)
) ON COMMIT DELETE ROWS
"""
# ISO 8601 with an offset, as datetime.fromisoformat reads it and PostgreSQL can cast it without
# an error once the day is checked against the month (offsets up to 15:59).
TIME_RE = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)$"
)
# The usual shapes of a time (digits as 0), checked without a regular expression.
TIME_SHAPES = (
    "'0000-00-00T00:00:00Z', '0000-00-00 00:00:00Z', '0000-00-00T00:00:00+00:00', "
    "'0000-00-00T00:00:00-00:00', '0000-00-00 00:00:00+00:00', '0000-00-00 00:00:00-00:00'"
)
WS = r"E' \t\r\n\f\x0b'"


def _c(expr: str) -> str:
    return f'{expr} COLLATE "C"'


def _day_fits(x: str) -> str:
    """SQL: the day of the ISO date ``x`` (YYYY-MM-DD…) exists in its month and year."""
    year = f"substr({x}, 1, 4)::int"
    return (
        f"{_c(f'substr({x}, 9, 2)')} <= CASE substr({x}, 6, 2) "
        f"WHEN '02' THEN CASE WHEN {year} %% 4 = 0 AND ({year} %% 100 <> 0 OR {year} %% 400 = 0) "
        "THEN '29' ELSE '28' END "
        "WHEN '04' THEN '30' WHEN '06' THEN '30' WHEN '09' THEN '30' WHEN '11' THEN '30' "
        f"ELSE '31' END AND substr({x}, 1, 4) <> '0000'"
    )


def _usual_time_fits(x: str) -> str:
    """SQL: a time of one of TIME_SHAPES has fields in range (so the cast cannot fail)."""
    return " AND ".join(
        (
            f"{_c(f'substr({x}, 6, 2)')} BETWEEN '01' AND '12'",
            f"{_c(f'substr({x}, 9, 2)')} >= '01'",
            f"{_c(f'substr({x}, 12, 2)')} < '24'",
            f"{_c(f'substr({x}, 15, 2)')} < '60'",
            f"{_c(f'substr({x}, 18, 2)')} < '60'",
            f"(length({x}) = 20 OR ({_c(f'substr({x}, 21, 2)')} < '16' "
            f"AND {_c(f'substr({x}, 24, 2)')} < '60'))",
            _day_fits(x),
        )
    )


TRIMMED_TIME = f"btrim(s, {WS})"
TRIMMED_CHARGE = f"btrim(c, {WS})"
TRIMMED_QUANTITY = f"btrim(q, {WS})"
CHECK = f"""
INSERT INTO usage_checked_stage
WITH n AS MATERIALIZED (
    SELECT file_row,
        btrim(coalesce(msisdn, ''), {WS}) AS m,
        coalesce(started_at, '') AS s,
        translate(coalesce(started_at, ''), '123456789', '000000000') AS shape,
        CASE WHEN kind IN ('voice', 'sms', 'mms', 'data') THEN kind
             ELSE lower(btrim(coalesce(kind, ''), {WS})) END AS k,
        CASE WHEN direction IN ('in', 'out') THEN direction
             ELSE lower(btrim(coalesce(direction, ''), {WS})) END AS d0,
        CASE WHEN zone IN ('domestic', 'eu', 'europe', 'world') THEN zone
             ELSE lower(btrim(coalesce(zone, ''), {WS})) END AS z,
        coalesce(quantity, '') AS q,
        translate(coalesce(quantity, ''), '0123456789', '') AS q_rest,
        CASE WHEN %(comma)s THEN replace(coalesce(charge, ''), ',', '.')
             ELSE coalesce(charge, '') END AS c
    FROM usage_raw_stage
), v AS MATERIALIZED (
    SELECT n.*,
        CASE WHEN d0 = '' AND k = 'data' THEN 'out' ELSE d0 END AS d,
        CASE WHEN shape IN ({TIME_SHAPES}) AND {_usual_time_fits("s")} THEN s::timestamptz
             WHEN {TRIMMED_TIME} ~ '{TIME_RE}' AND {_day_fits(TRIMMED_TIME)}
             THEN {TRIMMED_TIME}::timestamptz END AS at,
        CASE WHEN q_rest = '' AND q <> '' THEN q::numeric
             WHEN {TRIMMED_QUANTITY} ~ '^[0-9]+$' THEN {TRIMMED_QUANTITY}::numeric END AS qn,
        CASE WHEN translate(c, '0123456789', '') IN ('', '.') AND c NOT IN ('', '.')
             THEN c::numeric
             WHEN {TRIMMED_CHARGE} ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)$'
             THEN {TRIMMED_CHARGE}::numeric END AS cn
    FROM n
), r AS (
    SELECT v.*, l.id AS line_id, l.customer_id,
        CASE
            WHEN l.id IS NULL AND m !~ '^[+][1-9][0-9]{{6,14}}$' THEN 'msisdn'
            WHEN at IS NULL THEN 'date'
            WHEN at < '2000-01-01 00:00:00+00' OR at > %(latest)s THEN 'date_range'
            WHEN k NOT IN ('voice', 'sms', 'mms', 'data') THEN 'kind'
            WHEN d NOT IN ('in', 'out') THEN 'direction'
            WHEN z NOT IN ('domestic', 'eu', 'europe', 'world') THEN 'zone'
            WHEN qn IS NULL AND {TRIMMED_QUANTITY} ~ '^-[0-9]+$' THEN 'negative_quantity'
            WHEN qn IS NULL THEN 'quantity'
            WHEN qn > CASE k WHEN 'voice' THEN {MAX_QUANTITY["voice"]}
                             WHEN 'data' THEN {MAX_QUANTITY["data"]}
                             ELSE {MAX_QUANTITY["sms"]} END THEN 'quantity_range'
            WHEN cn IS NULL OR abs(cn) >= 1000000 OR cn <> round(cn, 2) THEN 'charge'
            WHEN cn < 0 THEN 'negative_charge'
            WHEN l.id IS NULL THEN 'unknown_number'
        END AS reason
    FROM v LEFT JOIN line l ON l.msisdn = v.m
)
SELECT file_row, reason,
    CASE WHEN reason IS NOT NULL THEN nullif(left(CASE reason
        WHEN 'msisdn' THEN m WHEN 'unknown_number' THEN m
        WHEN 'date' THEN s WHEN 'date_range' THEN s
        WHEN 'kind' THEN k WHEN 'direction' THEN d WHEN 'zone' THEN z
        WHEN 'charge' THEN c WHEN 'negative_charge' THEN c
        ELSE {TRIMMED_QUANTITY} END, 200), '') END,
    line_id, customer_id, at, k, d, z,
    CASE WHEN reason IS NULL THEN qn END,
    CASE WHEN reason IS NULL THEN cn END
FROM r
"""  # noqa: S608 - module constants only
MONTHS = """
SELECT DISTINCT date_trunc('month', started_at AT TIME ZONE 'UTC')::date
FROM usage_checked_stage WHERE reason IS NULL
"""
EVENTS = """
INSERT INTO usage_event (started_at, line_id, customer_id, kind, direction, zone, quantity,
                         charge, file_id, file_row)
SELECT started_at, line_id, customer_id, kind, direction, zone, quantity, charge, %(file)s,
       file_row
FROM usage_checked_stage WHERE reason IS NULL
"""
DAILY = f"""
INSERT INTO usage_daily ({DAILY_COLUMNS})
SELECT line_id, (started_at AT TIME ZONE 'Europe/Warsaw')::date, kind, zone, direction,
       customer_id, sum(quantity), count(*), sum(charge)
FROM usage_checked_stage WHERE reason IS NULL
GROUP BY 1, 2, 3, 4, 5, 6
{DAILY_CONFLICT}
"""  # noqa: S608 - module constants only
# The monthly rollup gets the same sums per Warsaw month, in the order of its key (concurrent
# loads then lock its rows in one order); see services.usage_rollup.
MONTHLY = f"""
INSERT INTO usage_monthly ({MONTHLY_COLUMNS})
SELECT line_id, date_trunc('month', started_at AT TIME ZONE 'Europe/Warsaw')::date, kind, zone,
       direction, customer_id, sum(quantity), count(*), sum(charge)
FROM usage_checked_stage WHERE reason IS NULL
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 1, 2, 3, 4, 5
{MONTHLY_CONFLICT}
"""  # noqa: S608 - module constants only
REJECTED = """
SELECT file_row, reason, detail FROM usage_checked_stage
WHERE reason IS NOT NULL ORDER BY file_row
"""


class PartitionsMissing(Exception):
    """The chunk has events in months whose partition does not exist yet."""

    def __init__(self, months: set[date]) -> None:
        super().__init__(sorted(months))
        self.months = months


@dataclass
class Staged:
    """A chunk ready to copy: its rows as CSV text, and the rows refused as a whole."""

    start: int
    end: int
    csv_text: str
    rejections: list[Rejection]
    chunk: Chunk


def stage_chunk(chunk: Chunk) -> Staged:
    """No database: the rows of ``chunk`` with the header's width, as CSV of the row number
    and the seven columns; the others refused with their reason."""
    header = chunk.header
    pick, width, delimiter = header.pick, header.width, header.delimiter
    good, rejections = [], []
    for number, fields in chunk.rows:
        if len(fields) != width:
            reason, detail = "columns", str(len(fields))
        else:
            joined = "".join(fields)
            if len(joined) > MAX_ROW_CHARS:
                reason, detail = "too_long", None
            elif "\ufffd" in joined:
                reason, detail = "encoding", None
            else:
                good.append((number, *pick(fields)))
                continue
        rejections.append(Rejection(number, reason, detail, raw_text(fields, delimiter)))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(good)
    return Staged(chunk.start, chunk.end, buf.getvalue(), rejections, chunk)


def apply_staged(
    session: Session,
    file_id: int,
    staged: Staged,
    latest: datetime,
    partitions: set[date],
    store_rejections: int,
) -> Applied | None:
    """``usage_ingest.apply_chunk`` for PostgreSQL, from a staged chunk. ``partitions`` holds
    the months known to have a partition (filled as they are found)."""
    if not move_resume_point(session, file_id, staged.start, staged.end):
        return None
    with _driver(session).cursor() as cur:
        cur.execute(RAW_STAGE)
        cur.execute(CHECKED_STAGE)
        # Empty already after a commit; not when the caller's transaction spans chunks.
        cur.execute("TRUNCATE usage_raw_stage, usage_checked_stage")
        with cur.copy(
            "COPY usage_raw_stage (file_row, msisdn, started_at, kind, direction, zone, "
            "quantity, charge) FROM STDIN (FORMAT csv)"
        ) as copy:
            copy.write(staged.csv_text)
        cur.execute(CHECK, {"comma": staged.chunk.header.delimiter == ";", "latest": latest})
        cur.execute(MONTHS)
        months = {row[0] for row in cur.fetchall()}
        _check_partitions(cur, months, partitions)
        cur.execute(EVENTS, {"file": file_id})
        loaded = cur.rowcount
        if loaded:
            cur.execute(DAILY)
            cur.execute(MONTHLY)
        cur.execute(REJECTED)
        found = cur.fetchall()
    rejections = staged.rejections
    if found:
        fields_of = dict(staged.chunk.rows)
        delimiter = staged.chunk.header.delimiter
        rejections = rejections + [
            Rejection(row, reason, detail, raw_text(fields_of[row], delimiter))
            for row, reason, detail in found
        ]
        rejections.sort(key=lambda r: r.row)
    _insert_rejections(session, file_id, rejections[: max(0, store_rejections)])
    record_counts(session, file_id, loaded, len(rejections))
    return Applied(loaded, len(rejections))


def _check_partitions(cur, months: set[date], known: set[date]) -> None:
    missing = set()
    for month in months - known:
        cur.execute("SELECT to_regclass(%s)", (partition_name(month),))
        if cur.fetchone()[0] is None:
            missing.add(month)
        else:
            known.add(month)
    if missing:
        raise PartitionsMissing(missing)
