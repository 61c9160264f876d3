"""Loading usage files: good rows in, bad rows in the rejection report, the same file twice
changes nothing, daily totals equal the events and the monthly rollup equals the daily totals,
Warsaw days across DST changes and Warsaw months at month ends."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from models import FileState, UsageDaily, UsageEvent, UsageFile, UsageMonthly, UsageRejection
from services import ServiceError, usage_files, usage_ingest
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_line, make_tariff
from tests.usage_factories import load, rollup_differences, submit, write_usage


@pytest.fixture
def lines(db):
    c = make_customer(db)
    root = make_unit(db, c, "Firma")
    tariff = make_tariff(db)
    return [make_line(db, c, root, tariff, msisdn=f"+4850010000{i}") for i in range(3)]


def _event_count(db, file_id):
    return db.scalar(
        select(func.count()).select_from(UsageEvent).where(UsageEvent.file_id == file_id)
    )


def _daily(db, line_id):
    return {
        (r.day, str(r.kind), str(r.zone), str(r.direction)): (r.quantity, r.events, r.charge)
        for r in db.scalars(select(UsageDaily).where(UsageDaily.line_id == line_id))
    }


def _monthly(db, line_id):
    return {
        (r.month, str(r.kind), str(r.zone), str(r.direction)): (r.quantity, r.events, r.charge)
        for r in db.scalars(select(UsageMonthly).where(UsageMonthly.line_id == line_id))
    }


def test_good_rows_load_and_bad_rows_go_to_the_report(app, db, rt, lines, tmp_path):
    a, b, _c = (line.msisdn for line in lines)
    rows = [
        f"{a},2026-09-01T08:00:00Z,voice,out,domestic,125,0.50",  # 2
        f"{a},2026-09-01T09:00:00+02:00,sms,out,eu,1,0.20",  # 3
        f"{b},2026-09-02T10:00:00Z,data,,world,5000000,12.34",  # 4
        f"{a},2026-13-01T08:00:00Z,voice,out,domestic,10,0.10",  # 5 bad date
        "+48999999999,2026-09-01T08:00:00Z,voice,out,domestic,10,0.10",  # 6 unknown number
        f"{a},2026-09-01T08:00:00Z,voice,out,domestic,-5,0.10",  # 7 negative quantity
        f"{a},2026-09-01T08:00:00Z,fax,out,domestic,5,0.10",  # 8 unknown kind
        "",  # 9 blank: skipped
        f"{a},2026-09-01T08:00:00Z,voice,out",  # 10 too few fields
        f"{a},2026-09-01T08:00:00,voice,out,domestic,5,0.10",  # 11 no time zone
        f"{a},2026-09-01T08:00:00Z,mms,in,mars,1,0.10",  # 12 unknown zone
        f"{a},2026-09-01T08:00:00Z,voice,out,domestic,5,0.105",  # 13 three decimals
        f"{a},2026-09-03T08:00:00Z,voice,in,domestic,60,0.00",  # 14
    ]
    file, created = submit(db, rt, write_usage(tmp_path, rows))
    assert created and file.state == FileState.received
    assert load(app, file.id) == "loaded"
    db.expire_all()
    file = db.get(UsageFile, file.id)
    assert file.state == FileState.loaded
    assert (file.rows_loaded, file.rows_rejected) == (4, 8)
    assert _event_count(db, file.id) == 4
    rejected = {
        r.row_number: (r.reason, r.detail)
        for r in db.scalars(select(UsageRejection).where(UsageRejection.file_id == file.id))
    }
    assert rejected == {
        5: ("date", "2026-13-01T08:00:00Z"),
        6: ("unknown_number", "+48999999999"),
        7: ("negative_quantity", "-5"),
        8: ("kind", "fax"),
        10: ("columns", "4"),
        11: ("date", "2026-09-01T08:00:00"),
        12: ("zone", "mars"),
        13: ("charge", "0.105"),
    }
    with app.test_request_context("/"):
        from flask_babel import force_locale

        with force_locale("pl"):
            report = "".join(usage_files.rejection_report(db, file))
    assert report.startswith("\ufeffWiersz;") or report.startswith("\ufeffRow;")
    assert "7;" in report and f"{a},2026-09-01T08:00:00Z,voice,out,domestic,-5,0.10" in report
    assert len(report.strip().splitlines()) == 1 + 8
    # Daily totals: Warsaw days, sums of the events.
    assert _daily(db, lines[0].id) == {
        (date(2026, 9, 1), "voice", "domestic", "out"): (125, 1, Decimal("0.50")),
        (date(2026, 9, 1), "sms", "eu", "out"): (1, 1, Decimal("0.20")),
        (date(2026, 9, 3), "voice", "domestic", "in"): (60, 1, Decimal("0.00")),
    }
    assert _daily(db, lines[1].id) == {
        (date(2026, 9, 2), "data", "world", "out"): (5000000, 1, Decimal("12.34")),
    }
    # The monthly rollup: the same sums per Warsaw month.
    assert _monthly(db, lines[0].id) == {
        (date(2026, 9, 1), "voice", "domestic", "out"): (125, 1, Decimal("0.50")),
        (date(2026, 9, 1), "sms", "eu", "out"): (1, 1, Decimal("0.20")),
        (date(2026, 9, 1), "voice", "domestic", "in"): (60, 1, Decimal("0.00")),
    }
    assert rollup_differences(db) == {}


def test_the_same_file_twice_changes_nothing(app, db, rt, lines, tmp_path):
    a = lines[0].msisdn
    rows = [f"{a},2026-09-0{d}T08:00:00Z,voice,out,domestic,60,0.30" for d in range(1, 8)]
    path = write_usage(tmp_path, rows)
    file, _ = submit(db, rt, path)
    load(app, file.id)
    copy = tmp_path / "another-name.csv"
    copy.write_bytes(path.read_bytes())
    again, created = submit(db, rt, copy)
    assert not created and again.id == file.id
    assert load(app, file.id) == "skipped"  # a repeated job finds the file loaded
    db.expire_all()
    assert _event_count(db, file.id) == 7
    assert db.scalar(select(func.count()).select_from(UsageFile)) == 1
    total = db.scalar(
        select(func.sum(UsageDaily.quantity)).where(UsageDaily.line_id == lines[0].id)
    )
    assert total == 7 * 60
    monthly = db.scalar(
        select(func.sum(UsageMonthly.quantity)).where(UsageMonthly.line_id == lines[0].id)
    )
    assert monthly == 7 * 60
    assert rollup_differences(db) == {}


def test_a_chunk_is_applied_once_even_when_two_loads_race(app, db, rt, lines, tmp_path):
    a = lines[0].msisdn
    rows = [f"{a},2026-09-01T08:0{i}:00Z,sms,out,domestic,1,0.10" for i in range(6)]
    path = write_usage(tmp_path, rows)
    file, _ = submit(db, rt, path)
    usage_files.claim(db, file.id)
    chunks = list(usage_ingest.read_chunks(rt.files.path(file.stored_path), 0, 4))
    assert [(c.start, c.end) for c in chunks] == [(0, 4), (4, 6)]
    first = usage_ingest.parse_chunk(chunks[0])
    directory = usage_ingest.LineDirectory()
    usage_ingest.ensure_partitions(db, first.months, set())
    assert usage_ingest.apply_chunk(db, file.id, first, directory).loaded == 4
    assert usage_ingest.apply_chunk(db, file.id, first, directory) is None  # the other copy
    # Resuming reads from the committed point only.
    resumed = list(usage_ingest.read_chunks(rt.files.path(file.stored_path), 4, 4))
    assert [(c.start, c.end, len(c.rows)) for c in resumed] == [(4, 6, 2)]
    usage_ingest.apply_chunk(db, file.id, usage_ingest.parse_chunk(resumed[0]), directory)
    assert _event_count(db, file.id) == 6
    assert _monthly(db, lines[0].id) == {
        (date(2026, 9, 1), "sms", "domestic", "out"): (6, 6, Decimal("0.60"))
    }
    assert rollup_differences(db) == {}


@pytest.mark.parametrize(
    ("utc", "day"),
    [
        ("2026-10-24T21:59:59Z", date(2026, 10, 24)),  # 23:59:59 CEST
        ("2026-10-24T22:00:00Z", date(2026, 10, 25)),  # 00:00 CEST, the night clocks go back
        ("2026-10-25T22:59:59Z", date(2026, 10, 25)),  # 23:59:59 CET
        ("2026-10-25T23:00:00Z", date(2026, 10, 26)),
        ("2026-03-28T22:59:59Z", date(2026, 3, 28)),  # 23:59:59 CET
        ("2026-03-28T23:00:00Z", date(2026, 3, 29)),  # 00:00 CET, the night clocks go forward
        ("2026-03-29T21:59:59Z", date(2026, 3, 29)),  # 23:59:59 CEST
        ("2026-03-29T22:00:00Z", date(2026, 3, 30)),
    ],
)
def test_days_are_warsaw_days_across_dst(app, db, rt, lines, tmp_path, utc, day):
    path = write_usage(tmp_path, [f"{lines[0].msisdn},{utc},voice,out,domestic,30,0.10"])
    file, _ = submit(db, rt, path)
    load(app, file.id)
    assert [k[0] for k in _daily(db, lines[0].id)] == [day]


@pytest.mark.parametrize(
    ("utc", "month"),
    [
        ("2026-09-30T21:59:59Z", date(2026, 9, 1)),  # 23:59:59 CEST on 30 September
        ("2026-09-30T22:00:00Z", date(2026, 10, 1)),  # 00:00 CEST on 1 October
        ("2026-10-31T22:59:59Z", date(2026, 10, 1)),  # 23:59:59 CET on 31 October
        ("2026-10-31T23:00:00Z", date(2026, 11, 1)),
        ("2025-12-31T23:30:00Z", date(2026, 1, 1)),  # the new year in Warsaw, not yet in UTC
    ],
)
def test_months_are_warsaw_months(app, db, rt, lines, tmp_path, utc, month):
    path = write_usage(tmp_path, [f"{lines[0].msisdn},{utc},voice,out,domestic,30,0.10"])
    file, _ = submit(db, rt, path)
    load(app, file.id)
    db.expire_all()
    assert [k[0] for k in _monthly(db, lines[0].id)] == [month]
    assert rollup_differences(db) == {}


def test_daily_totals_equal_the_sum_of_the_events(app, db, rt, lines, tmp_path, monkeypatch):
    import random

    rng = random.Random(7)
    rows = []
    for _ in range(3000):
        line = rng.choice(lines)
        kind = rng.choice(["voice", "sms", "mms", "data"])
        rows.append(
            f"{line.msisdn},2026-{rng.randint(8, 9):02d}-{rng.randint(1, 30):02d}T"
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z,{kind},"
            f"{rng.choice(['in', 'out'])},{rng.choice(['domestic', 'eu', 'europe', 'world'])},"
            f"{rng.randint(0, 5000) if kind in ('voice', 'data') else rng.randint(1, 3)},"
            f"{rng.randint(0, 999) / 100:.2f}"
        )
    file, _ = submit(db, rt, write_usage(tmp_path, rows))
    monkeypatch.setenv("USAGE_CHUNK_ROWS", "500")
    load(app, file.id)
    db.expire_all()
    assert db.get(UsageFile, file.id).rows_loaded == 3000
    events = db.execute(
        select(
            UsageEvent.line_id,
            func.sum(UsageEvent.quantity),
            func.count(),
            func.sum(UsageEvent.charge),
        )
        .where(UsageEvent.file_id == file.id)
        .group_by(UsageEvent.line_id)
        .order_by(UsageEvent.line_id)
    ).all()
    daily = db.execute(
        select(
            UsageDaily.line_id,
            func.sum(UsageDaily.quantity),
            func.sum(UsageDaily.events),
            func.sum(UsageDaily.charge),
        )
        .group_by(UsageDaily.line_id)
        .order_by(UsageDaily.line_id)
    ).all()
    expected = sum(Decimal(r.rsplit(",", 1)[1]) for r in rows)
    assert [(r[0], r[1], r[2]) for r in events] == [(r[0], r[1], r[2]) for r in daily]
    assert sum(Decimal(str(r[3])).quantize(Decimal("0.01")) for r in daily) == expected
    # Six chunks added to the same line-months: the rollup still equals the daily totals.
    assert rollup_differences(db) == {}


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty"),
        (b"a,b,c\n1,2,3\n", "header"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "not_csv"),
        (b"msisdn,started_at,kind,direction,zone,quantity,charge\n", "no_rows"),
    ],
)
def test_files_that_are_not_usage_files_are_refused(db, rt, tmp_path, content, code):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ServiceError) as err:
        submit(db, rt, path)
    assert err.value.details["code"] == code
    assert db.scalar(select(func.count()).select_from(UsageFile)) == 0


def test_postgres_partitions_are_created_for_the_months_of_a_file(app, db, rt, lines, tmp_path):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("monthly partitions exist on PostgreSQL only")
    a = lines[0].msisdn
    rows = [
        # 1 February in Warsaw, but January's partition (partitions follow UTC months)
        f"{a},2025-01-31T23:30:00Z,voice,out,domestic,60,0.30",
        f"{a},2025-03-01T00:00:00Z,voice,out,domestic,60,0.30",
    ]
    file, _ = submit(db, rt, write_usage(tmp_path, rows))
    load(app, file.id)
    names = set(
        db.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'usage_event'::regclass"
            )
        )
    )
    assert {"usage_event_p2025_01", "usage_event_p2025_03"} <= names
    assert "usage_event_p2025_02" not in names
    assert db.scalar(text("SELECT count(*) FROM usage_event_p2025_01")) == 1
