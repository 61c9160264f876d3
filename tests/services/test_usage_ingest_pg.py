"""PostgreSQL checks and applies a usage file in SQL: every row gets the verdict the format's
Python reader (``parse_row``) gives it — the same event, or the same reason and offending value."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from models import UsageEvent, UsageFile, UsageRejection
from services import usage_staging
from services.usage_format import Event, iter_rows, latest_allowed, open_rows, parse_row
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_line, make_tariff
from tests.usage_factories import HEADER, load, submit, write_usage

A = "+48500300001"
ROWS = [
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,125,0.50",
    f" {A} ,2026-09-01T08:00:00+02:00,SMS, OUT ,EU,1,0.2",
    f"{A},2026-09-01 08:00:00Z,voice,in,world,5,1",
    f"{A}, 2026-09-01T08:00:00Z ,voice,in,world,5,1",
    f"{A},2026-09-01T08:00Z,voice,in,world,5,1",
    f"{A},2026-09-01T08:00:00.123456+05:30,data,,europe,100,0.01",
    f"{A},2026-09-01T08:00:00-03:00,data,out,europe,100,.5",
    f"{A},2026-09-01T08:00:00+0130,mms,in,eu,2,5.",
    f"{A},2024-02-29T08:00:00Z,voice,out,domestic,1,0.100",
    f"{A},2026-02-29T08:00:00Z,voice,out,domestic,1,0",
    f"{A},2026-04-31T08:00:00Z,voice,out,domestic,1,0",
    f"{A},2026-13-01T08:00:00Z,voice,out,domestic,1,0",
    f"{A},2026-09-01T24:00:00Z,voice,out,domestic,1,0",
    f"{A},2026-09-01T08:00:60Z,voice,out,domestic,1,0",
    f"{A},2026-09-01T08:00:00,voice,out,domestic,1,0",
    f"{A},0000-01-01T08:00:00Z,voice,out,domestic,1,0",
    f"{A},1999-12-31T23:59:59Z,voice,out,domestic,1,0",
    f"{A},2999-01-01T00:00:00Z,voice,out,domestic,1,0",
    f"{A},now,voice,out,domestic,1,0",
    f"{A},2026-09-0a T08:00:00Z,voice,out,domestic,1,0",
    "48500300001,2026-09-01T08:00:00Z,voice,out,domestic,1,0",
    "+48999999999,2026-09-01T08:00:00Z,voice,out,domestic,1,0",
    f"{A},2026-09-01T08:00:00Z,fax,out,domestic,1,0",
    f"{A},2026-09-01T08:00:00Z,voice,sideways,domestic,1,0",
    f"{A},2026-09-01T08:00:00Z,voice,,domestic,1,0",
    f"{A},2026-09-01T08:00:00Z,voice,out,mars,1,0",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,-5,0",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,5.0,0",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,,0",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,\uff11\uff12,0",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,172801,0",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,172800,0",
    f"{A},2026-09-01T08:00:00Z,sms,out,domestic,1001,0",
    f"{A},2026-09-01T08:00:00Z,data,out,domestic,1000000000001,0",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic, 7 ,0",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,1,0.105",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,1,-0.10",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,1,1e2",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,1,NaN",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,1,1000000",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,1, 0.35 ",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,1,+0.35",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,1,",
    f'{A},2026-09-01T08:00:00Z,voice,out,domestic,1,"1,5"',
    f"{A},2026-09-01T08:00:00Z,voice,out",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,1,0,extra",
]


@pytest.fixture
def line(db):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("rows are checked in SQL on PostgreSQL only")
    c = make_customer(db)
    return make_line(db, c, make_unit(db, c, "Firma"), make_tariff(db), msisdn=A)


def _expected(path):
    """What the Python reader makes of each row: events and (row, reason, detail)."""
    latest = latest_allowed()
    events, rejections = {}, set()
    with open_rows(path) as text_io:
        header, rows = iter_rows(text_io)
        for number, fields in rows:
            item = parse_row(header, number, fields, latest)
            if type(item) is not Event:
                rejections.add((item.row, item.reason, item.detail))
            elif item.msisdn != A:
                rejections.add((item.row, "unknown_number", item.msisdn))
            else:
                events[item.row] = (
                    item.started_at,
                    item.kind,
                    item.direction,
                    item.zone,
                    item.quantity,
                    item.charge,
                )
    return events, rejections


@pytest.mark.parametrize("separator", [",", ";"])
def test_sql_checks_give_the_verdicts_of_the_python_reader(app, db, rt, line, tmp_path, separator):
    rows = ROWS
    header = "msisdn,started_at,kind,direction,zone,quantity,charge"
    if separator == ";":
        rows = [r.replace('"1,5"', "1,5").replace(",", ";") for r in ROWS]
        header = header.replace(",", ";")
    path = write_usage(tmp_path, rows, header=header)
    events, rejections = _expected(path)
    assert len(events) > 10 and len(rejections) > 25  # the file has both kinds of rows
    file, _ = submit(db, rt, path)
    assert load(app, file.id) == "loaded"
    db.expire_all()
    loaded = {
        e.file_row: (e.started_at, str(e.kind), str(e.direction), str(e.zone), e.quantity, e.charge)
        for e in db.scalars(select(UsageEvent).where(UsageEvent.file_id == file.id))
    }
    assert loaded == events
    found = {
        (r.row_number, r.reason, r.detail)
        for r in db.scalars(select(UsageRejection).where(UsageRejection.file_id == file.id))
    }
    assert found == rejections
    raw = db.scalar(
        select(UsageRejection.raw).where(
            UsageRejection.file_id == file.id, UsageRejection.reason == "unknown_number"
        )
    )
    assert raw == rows[21]
    file = db.get(UsageFile, file.id)
    assert (file.rows_loaded, file.rows_rejected) == (len(events), len(rejections))


# Rows of the clean shape (one block copied as it is, with the lighter checks in SQL): the
# verdicts are still those of the Python reader.
CLEAN_ROWS = [
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,125,0.50",
    f"{A},2026-09-01 08:00:00Z,sms,in,eu,1,0",
    f"{A},2026-09-01T08:00:00.5+02:00,data,out,world,1000000000000,999999.99",
    f"{A},2026-09-01T08:00:00.123456-15:59,mms,in,europe,0,0.1",
    f"{A},2024-02-29T23:30:00-01:00,voice,out,domestic,1,0",
    f"{A},2026-02-29T08:00:00Z,voice,out,domestic,1,0",
    f"{A},2026-04-31T08:00:00Z,voice,out,domestic,1,0",
    f"{A},2026-11-31T23:59:59+01:00,voice,out,domestic,1,0",
    f"{A},1999-12-31T23:59:59Z,voice,out,domestic,1,0",
    f"{A},2000-01-01T00:30:00+01:00,voice,out,domestic,1,0",
    f"{A},2999-01-01T00:00:00Z,voice,out,domestic,1,0",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,172801,0",
    f"{A},2026-09-01T08:00:00Z,voice,out,domestic,172800,0",
    f"{A},2026-09-01T08:00:00Z,sms,out,domestic,1001,0",
    f"{A},2026-09-01T08:00:00Z,data,out,domestic,1000000000001,0",
    "+48999999999,2026-09-01T08:00:00Z,voice,out,domestic,1,0",
    "+48999999999,1999-01-01T00:00:00Z,voice,out,domestic,1,0",
    "+48999999999,2026-09-01T08:00:00Z,voice,out,domestic,172801,0",
]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_clean_rows_give_the_verdicts_of_the_python_reader(app, db, rt, line, tmp_path, newline):
    path = tmp_path / "clean.csv"
    # No line break after the last row.
    path.write_bytes(newline.join([HEADER, *CLEAN_ROWS]).encode())
    blocks = list(usage_staging.read_blocks(path, 0, 1000))
    assert [usage_staging.stage(b).clean for b in blocks] == [True]
    events, rejections = _expected(path)
    assert len(events) == 6 and len(rejections) == 12
    file, _ = submit(db, rt, path)
    assert load(app, file.id) == "loaded"
    db.expire_all()
    loaded = {
        e.file_row: (e.started_at, str(e.kind), str(e.direction), str(e.zone), e.quantity, e.charge)
        for e in db.scalars(select(UsageEvent).where(UsageEvent.file_id == file.id))
    }
    assert loaded == events
    stored = db.scalars(select(UsageRejection).where(UsageRejection.file_id == file.id)).all()
    assert {(r.row_number, r.reason, r.detail) for r in stored} == rejections
    assert {r.row_number: r.raw for r in stored}[17] == CLEAN_ROWS[15]


def _rows(part):
    """(row number, fields) of a block or chunk of ``read_blocks``."""
    if isinstance(part, usage_staging.Block):
        numbered = enumerate(csv.reader(part.lines), part.first)
        return [(n, fields) for n, fields in numbered if fields]
    return part.rows


def test_blocks_number_rows_as_the_reader_and_resume_anywhere(tmp_path):
    rows = [f"{A},2026-09-01T08:00:{s:02d}Z,voice,out,domestic,{s},0.10" for s in range(12)]
    rows[3] = ""  # a blank row keeps its number
    rows[5] = "   "
    rows[7] = f'{A},"2026-09-01T08:00:07Z",voice,out,"dom\nestic",7,0.10'  # a quoted line break
    path = tmp_path / "mixed.csv"
    path.write_text("\ufeff" + HEADER + "\r\n" + "\r\n".join(rows) + "\r\n", encoding="utf-8")
    with open_rows(path) as text_io:
        _header, expected = iter_rows(text_io)
        expected = list(expected)
    last = expected[-1][0] - 1
    for size in (1, 2, 3, 5, 50):
        for start in range(last + 1):
            parts = list(usage_staging.read_blocks(path, start, size))
            assert [r for part in parts for r in _rows(part)] == [
                r for r in expected if r[0] - 1 > start
            ]
            # Each part starts where the one before ended; the last ends at the file's end.
            if start < last:
                assert [p.start for p in parts] == [start, *(p.end for p in parts[:-1])]
                assert parts[-1].end == last
