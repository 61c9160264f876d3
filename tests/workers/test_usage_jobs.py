"""A usage file loaded by a real RQ worker that is killed (SIGKILL) mid-file, then resumed by
the sweep: every good row is loaded exactly once, every bad row reported exactly once, and the
monthly rollup equals the daily totals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from models import FileState, UsageDaily, UsageEvent, UsageFile, UsageRejection
from models.base import utcnow
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_line, make_tariff
from tests.usage_factories import rollup_differences, submit, write_usage
from workers import queues

pytestmark = pytest.mark.worker
ROWS = 20_000


def _read(rt, query):
    with rt.db.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return conn.execute(query).one()


def _file_state(rt, file_id):
    return _read(
        rt,
        select(UsageFile.state, UsageFile.rows_done, UsageFile.rows_loaded).where(
            UsageFile.id == file_id
        ),
    )


def test_worker_killed_mid_file_then_resumed_loses_and_doubles_nothing(rt, committed, tmp_path):
    c = make_customer(committed)
    unit = make_unit(committed, c, "Firma")
    tariff = make_tariff(committed)
    lines = [make_line(committed, c, unit, tariff, msisdn=f"+4850020000{i}") for i in range(5)]
    committed.commit()
    rows, seconds, charge, bad = [], 0, Decimal("0"), 0
    for i in range(ROWS):
        line = lines[i % 5]
        if i % 997 == 0:
            rows.append(f"{line.msisdn},2026-09-01T08:00:00Z,voice,out,domestic,-1,0.10")
            bad += 1
            continue
        when = f"2026-09-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
        rows.append(f"{line.msisdn},{when},voice,out,domestic,{i % 300},{i % 7}.{i % 100:02d}")
        seconds += i % 300
        charge += Decimal(f"{i % 7}.{i % 100:02d}")
    file, _created = submit(committed, rt, write_usage(tmp_path, rows))
    file_id = file.id
    committed.commit()
    rt.queue(queues.USAGE).enqueue(
        "workers.usage_jobs.load_usage_file", file_id, job_id=f"usage-file-{file_id}"
    )
    env = {**os.environ, "USAGE_CHUNK_ROWS": "100"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "worker", "--simple", "--queues", queues.USAGE],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while _file_state(rt, file_id).rows_done < 3000:
            assert time.monotonic() < deadline, "the worker made no progress"
            assert worker.poll() is None, "the worker stopped"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    state, done, loaded = _file_state(rt, file_id)
    assert state == FileState.loading and 3000 <= done < ROWS
    # What is committed is consistent: the events are exactly the rows counted as loaded.
    events = _read(
        rt, select(func.count()).select_from(UsageEvent).where(UsageEvent.file_id == file_id)
    )
    assert events[0] == loaded

    # The sweep finds the load stuck and queues it again; a new worker finishes it.
    with rt.db.engine.begin() as conn:
        conn.execute(
            update(UsageFile)
            .where(UsageFile.id == file_id)
            .values(updated_at=utcnow() - timedelta(minutes=10))
        )
    rt.queue(queues.USAGE).enqueue("workers.usage_jobs.sweep_usage_files")
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "worker", "--burst", "--queues", queues.USAGE],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    committed.expire_all()
    file = committed.get(UsageFile, file_id)
    assert file.state == FileState.loaded, proc.stderr[-3000:]
    assert (file.rows_loaded, file.rows_rejected, file.attempts) == (ROWS - bad, bad, 2)
    count, total_seconds = committed.execute(
        select(func.count(), func.sum(UsageEvent.quantity)).where(UsageEvent.file_id == file_id)
    ).one()
    assert (count, total_seconds) == (ROWS - bad, seconds)
    daily = committed.execute(
        select(
            func.sum(UsageDaily.events), func.sum(UsageDaily.quantity), func.sum(UsageDaily.charge)
        )
    ).one()
    assert (daily[0], daily[1]) == (ROWS - bad, seconds)
    assert Decimal(str(daily[2])).quantize(Decimal("0.01")) == charge
    assert rollup_differences(committed) == {}
    rejected = committed.scalar(
        select(func.count()).select_from(UsageRejection).where(UsageRejection.file_id == file_id)
    )
    assert rejected == bad
    committed.commit()


def test_cli_submits_a_file_once(rt, committed, tmp_path):
    c = make_customer(committed)
    line = make_line(committed, c, make_unit(committed, c, "Firma"), make_tariff(committed))
    committed.commit()
    path = write_usage(
        tmp_path,
        [
            f"{line.msisdn},2026-09-01T08:00:00Z,voice,out,domestic,60,0.25",
            f"{line.msisdn},2026-09-01T09:00:00Z,fax,out,domestic,60,0.25",
        ],
    )

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "core.cli", "usage", "load", *args],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    first = cli("--now", str(path))
    assert first.returncode == 0, first.stderr[-2000:]
    assert "loaded: 1 events loaded, 1 rows rejected" in first.stdout
    again = cli(str(path))
    assert again.returncode == 0 and "delivered before" in again.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("a;b\n1;2\n")
    refused = cli(str(bad))
    assert refused.returncode != 0 and "msisdn, started_at" in refused.stderr  # either language
    committed.expire_all()
    assert committed.scalar(select(func.count()).select_from(UsageFile)) == 1
    committed.commit()
