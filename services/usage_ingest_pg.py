"""PostgreSQL: a chunk of a usage file checked and applied in SQL.

Python only splits the file into rows (``services.usage_staging``); the fields go to the server
as text (``COPY`` into a temporary table). One statement then checks every row with the rules
of ``services.usage_format.parse_row`` — the same reasons, in the same order, with the same
offending value — parses the times (with their offsets) and looks the numbers up in ``line``;
a chunk whose rows all have the usual clean shape gets a shorter statement with the checks
that shape leaves open. From that checked table, in the same transaction: the events
(``INSERT … SELECT`` into the partitioned ``usage_event``), the chunk's daily totals per Warsaw
day (one upsert), their sums per Warsaw month into the monthly rollup (one upsert,
``usage_rollup.MONTHLY_FROM_STAGE``), and the rejected rows (their raw text is rebuilt
in Python from the chunk). The sums per day and per month are grouped in the first part.

A chunk's transaction has two parts (``insert_events``, then ``apply_totals``), so that the job
can run the first part of one chunk while the previous chunk finishes on another connection;
the second part moves the resume point and writes what chunks share, in file order.

A chunk whose events fall in a month without a partition raises ``PartitionsMissing`` before
anything is written: the caller rolls back, creates the partitions in their own short
transaction (``usage_ingest.ensure_partitions``) and applies the chunk again.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from services.usage_format import MAX_QUANTITY, Rejection
from services.usage_ingest import (
    DAILY_COLUMNS,
    DAILY_CONFLICT,
    DAILY_STAGE,
    Applied,
    _driver,
    _insert_rejections,
    _next_month,
    move_resume_point,
    partition_name,
    record_counts,
)
from services.usage_rollup import MONTHLY_FROM_STAGE, MONTHLY_STAGE, MONTHLY_SUMS
from services.usage_staging import Staged

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
# Rows of the clean shape (``usage_staging.CLEAN_ROW``) only: what is left to check is whether
# the day exists in its month, the time range, the quantity's limit for the kind, and the
# number's line, in parse_row's order.
CLEAN_CHECK = f"""
INSERT INTO usage_checked_stage
SELECT file_row, reason,
    CASE reason WHEN 'unknown_number' THEN msisdn WHEN 'quantity_range' THEN quantity
                WHEN 'date' THEN started_at WHEN 'date_range' THEN started_at END,
    line_id, customer_id, at, kind, direction, zone,
    CASE WHEN reason IS NULL THEN qn END,
    CASE WHEN reason IS NULL THEN cn END
FROM (
    SELECT r.*, l.id AS line_id, l.customer_id,
        CASE
            WHEN at IS NULL THEN 'date'
            WHEN at < '2000-01-01 00:00:00+00' OR at > %(latest)s THEN 'date_range'
            WHEN qn > CASE kind WHEN 'voice' THEN {MAX_QUANTITY["voice"]}
                                WHEN 'data' THEN {MAX_QUANTITY["data"]}
                                ELSE {MAX_QUANTITY["sms"]} END THEN 'quantity_range'
            WHEN l.id IS NULL THEN 'unknown_number'
        END AS reason
    FROM (
        SELECT file_row, msisdn, started_at, kind, direction, zone, quantity,
            CASE WHEN {_c("substr(started_at, 9, 2)")} <= '28' OR {_day_fits("started_at")}
                 THEN started_at::timestamptz END AS at,
            quantity::bigint AS qn, charge::numeric AS cn
        FROM usage_raw_stage
        OFFSET 0  -- each cast once per row
    ) r
    LEFT JOIN line l ON l.msisdn = r.msisdn
) c
"""  # noqa: S608 - module constants only
# For the chunk's transaction only. It commits without waiting for its WAL to reach the disk:
# a crash of the database server may forget the last chunks committed, but each as a whole
# together with the resume point it moved (one transaction), so the next run of the job reads
# those rows again from the resume point that survived: nothing lost, nothing counted twice.
# Nothing outside the database acts on such a commit: the file becomes "loaded", and spend
# alerts are queued, only by the ordinary, durable commit of ``usage_files.finish``, which
# makes every earlier commit durable too. work_mem keeps the chunk's sorts in memory.
CHUNK_SETTINGS = """
SELECT set_config('synchronous_commit', 'off', true), set_config('work_mem', '64MB', true)
"""
# One round trip: the settings, the staging tables (created once per connection), emptied
# (they are already after a commit; not when the caller's transaction spans chunks).
CHUNK_START = ";".join(
    (
        CHUNK_SETTINGS,
        RAW_STAGE,
        CHECKED_STAGE,
        DAILY_STAGE,
        MONTHLY_STAGE,
        "TRUNCATE usage_raw_stage, usage_checked_stage, usage_daily_stage, usage_monthly_stage",
    )
)
# The UTC months of the chunk's events: first their first and last (cheap), and only when a
# month in between has no known partition, each month.
SPAN = """
SELECT date_trunc('month', min(started_at) AT TIME ZONE 'UTC')::date,
       date_trunc('month', max(started_at) AT TIME ZONE 'UTC')::date
FROM usage_checked_stage WHERE reason IS NULL
"""
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
# The chunk's sums per line, Warsaw day, kind, zone and direction, in the order of
# usage_daily's key (prepared while the previous chunk may still be open)…
DAILY_SUMS = f"""
INSERT INTO usage_daily_stage ({DAILY_COLUMNS})
SELECT line_id, (started_at AT TIME ZONE 'Europe/Warsaw')::date, kind, zone, direction,
       customer_id, sum(quantity), count(*), sum(charge)
FROM usage_checked_stage WHERE reason IS NULL
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 1, 2, 3, 4, 5
"""  # noqa: S608 - module constants only
# … added to the daily totals in turn, in key order (the index is walked once, and concurrent
# loads lock shared rows in one order).
DAILY = f"""
INSERT INTO usage_daily ({DAILY_COLUMNS})
SELECT {DAILY_COLUMNS} FROM usage_daily_stage
ORDER BY line_id, day, kind, zone, direction
{DAILY_CONFLICT}
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


def insert_events(
    session: Session, file_id: int, staged: Staged, latest: datetime, partitions: set[date]
) -> int:
    """The first part of a chunk's transaction: its rows copied and checked into the staging
    table, the good ones inserted as events; returns their number. ``partitions`` holds the
    months known to have a partition (filled as they are found).

    It may run while the previous chunk's transaction is still open: it writes only new event
    rows and its own temporary tables, nothing another chunk's transaction writes or waits
    for. Rows that chunks share (daily totals, the file's counts) are written by
    ``apply_totals``, in turn."""
    with _driver(session).cursor() as cur:
        cur.execute(CHUNK_START)
        with cur.copy(
            "COPY usage_raw_stage (file_row, msisdn, started_at, kind, direction, zone, "
            "quantity, charge) FROM STDIN (FORMAT csv)"
        ) as copy:
            copy.write(staged.csv_text)
        if staged.clean:
            cur.execute(CLEAN_CHECK, {"latest": latest})
        else:
            cur.execute(CHECK, {"comma": staged.delimiter == ";", "latest": latest})
        _check_partitions(cur, partitions)
        cur.execute(EVENTS, {"file": file_id})
        loaded = cur.rowcount
        if loaded:
            cur.execute(DAILY_SUMS)
            cur.execute(MONTHLY_SUMS)
        return loaded


def apply_totals(
    session: Session, file_id: int, staged: Staged, loaded: int, store_rejections: int
) -> Applied | None:
    """The second part, once the previous chunk is committed: the file's resume point moves
    (None when another load moved it first: the caller rolls back, events included), then the
    chunk's daily totals and monthly rollup, its rejected rows (at most ``store_rejections``
    stored, all
    counted) and the file's counts."""
    if not move_resume_point(session, file_id, staged.start, staged.end):
        return None
    with _driver(session).cursor() as cur:
        if loaded:
            cur.execute(DAILY)
            cur.execute(MONTHLY_FROM_STAGE)
        cur.execute(REJECTED)
        found = cur.fetchall()
    rejections = staged.rejections
    if found:
        rejections = rejections + [
            Rejection(row, reason, detail, staged.raw(row)) for row, reason, detail in found
        ]
        rejections.sort(key=lambda r: r.row)
    _insert_rejections(session, file_id, rejections[: max(0, store_rejections)])
    record_counts(session, file_id, loaded, len(rejections))
    return Applied(loaded, len(rejections))


def _check_partitions(cur, known: set[date]) -> None:
    """PartitionsMissing unless every month of the checked events has a partition."""
    cur.execute(SPAN)
    first, last = cur.fetchone()
    if first is None:
        return
    if _months(first, last) <= known:
        return
    cur.execute(MONTHS)
    months = {row[0] for row in cur.fetchall()}
    missing = set()
    for month in months - known:
        cur.execute("SELECT to_regclass(%s)", (partition_name(month),))
        if cur.fetchone()[0] is None:
            missing.add(month)
        else:
            known.add(month)
    if missing:
        raise PartitionsMissing(missing)


def _months(first: date, last: date) -> set[date]:
    """The first days of the months from ``first`` to ``last`` (both first days of a month)."""
    months, month = set(), first
    while month <= last:
        months.add(month)
        month = _next_month(month)
    return months
