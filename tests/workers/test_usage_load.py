"""A usage file loaded in many small chunks with real commits: on PostgreSQL two chunks are in
flight at once, each on its own connection, and they still commit in file order; two loads of
the same file at once apply every chunk once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from models import FileState, UsageDaily, UsageEvent, UsageFile, UsageRejection
from services import usage_ingest
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_line, make_tariff
from tests.usage_factories import load, submit, write_usage

ROWS = 1_500


def _file(committed, rt, tmp_path):
    """Rows over three months of 2011 (months no other test uses: their partitions are new);
    every 97th row has a negative quantity. Returns the file, the bad rows' numbers and the
    expected sums (events, seconds, charge)."""
    c = make_customer(committed)
    unit = make_unit(committed, c, "Firma")
    tariff = make_tariff(committed)
    lines = [make_line(committed, c, unit, tariff, msisdn=f"+4850040000{i}") for i in range(4)]
    committed.commit()
    rows, bad, seconds, charge = [], [], 0, Decimal("0")
    first = date(2011, 3, 1)
    for i in range(ROWS):
        number = lines[i % 4].msisdn
        day = first + timedelta(days=i * 90 // ROWS)
        if i % 97 == 0:
            rows.append(f"{number},{day}T08:00:00Z,voice,out,domestic,-1,0.10")
            bad.append(i + 2)  # the header is row 1
            continue
        rows.append(
            f"{number},{day}T{i % 24:02d}:{i % 60:02d}:00Z,voice,out,eu,{i},0.{i % 100:02d}"
        )
        seconds += i
        charge += Decimal(f"0.{i % 100:02d}")
    file, _created = submit(committed, rt, write_usage(tmp_path, rows))
    committed.commit()
    return file.id, bad, (ROWS - len(bad), seconds, charge)


def _totals(session, file_id):
    events = session.execute(
        select(func.count(), func.sum(UsageEvent.quantity), func.sum(UsageEvent.charge)).where(
            UsageEvent.file_id == file_id
        )
    ).one()
    daily = session.execute(
        select(
            func.sum(UsageDaily.events), func.sum(UsageDaily.quantity), func.sum(UsageDaily.charge)
        )
    ).one()
    return events, daily


def test_chunks_commit_in_file_order(app, rt, committed, tmp_path, monkeypatch):
    file_id, bad, (count, seconds, charge) = _file(committed, rt, tmp_path)
    monkeypatch.setenv("USAGE_CHUNK_ROWS", "100")
    monkeypatch.setattr(usage_ingest, "MAX_STORED_REJECTIONS", 5)
    assert load(app, file_id) == "loaded"
    committed.expire_all()
    file = committed.get(UsageFile, file_id)
    assert (file.state, file.rows_done, file.rows_loaded, file.rows_rejected) == (
        FileState.loaded,
        ROWS,
        count,
        len(bad),
    )
    events, daily = _totals(committed, file_id)
    assert tuple(events) == (count, seconds, charge)
    assert tuple(daily) == (count, seconds, charge)
    # The first rejected rows of the file are the ones stored, whichever chunk came first.
    stored = committed.scalars(
        select(UsageRejection.row_number)
        .where(UsageRejection.file_id == file_id)
        .order_by(UsageRejection.row_number)
    ).all()
    assert stored == bad[:5]
    committed.commit()


def test_two_loads_of_a_file_at_once_apply_each_chunk_once(
    app, rt, committed, tmp_path, monkeypatch
):
    file_id, bad, (count, seconds, charge) = _file(committed, rt, tmp_path)
    monkeypatch.setenv("USAGE_CHUNK_ROWS", "50")
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: load(app, file_id), range(2)))
    assert "loaded" in outcomes and set(outcomes) <= {"loaded", "overtaken", "skipped"}
    committed.expire_all()
    file = committed.get(UsageFile, file_id)
    assert (file.state, file.rows_loaded, file.rows_rejected) == (
        FileState.loaded,
        count,
        len(bad),
    )
    events, daily = _totals(committed, file_id)
    assert tuple(events) == (count, seconds, charge)
    assert tuple(daily) == (count, seconds, charge)
    rejected = committed.scalar(
        select(func.count()).select_from(UsageRejection).where(UsageRejection.file_id == file_id)
    )
    assert rejected == len(bad)
    committed.commit()
