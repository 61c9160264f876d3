"""Where the bench data lives and how a process of the bench reaches it.

A ``Target`` is one database (SQLite file under ``bench/data/`` or the ``bench`` schema of a
PostgreSQL database) plus the environment an Asystent process needs to run on it: a fixed
SECRET_KEY and DATA_KEY (the generated PIN/PUK tokens are encrypted with that key, so the data
stays readable from one run to the next), outbox mail, an instance folder under ``bench/data/``
and Redis (``BENCH_REDIS_URL``, or the embedded server of that instance folder).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.cpu import APPLICATION_NAME, CpuMeter
from core.embedded_redis import EmbeddedRedis
from core.settings import Settings, load_settings

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
INSTANCE_DIR = DATA_DIR / "instance"

# Bench data only: fixed keys keep the generated data usable across runs and processes.
SECRET_KEY = "asystent-bench-secret-key-not-for-production-use-0001"  # noqa: S105
DATA_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"asystent bench data key").digest()).decode()
PASSWORD = "Bench-Fleet-2026!"  # noqa: S105 - the password of the generated portal users

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_SCHEMA = "bench"


@dataclass(frozen=True)
class Target:
    name: str  # sqlite | postgres
    database_url: str  # as DATABASE_URL would be given
    schema: str | None = None  # PostgreSQL: the schema that holds the bench tables

    def env(self) -> dict[str, str]:
        """The environment of an Asystent process (web, gunicorn) on this target."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "REDIS_URL", "FILES_PATH", "SMTP_HOST")
        }
        env.update(
            ASYSTENT_INSTANCE=str(INSTANCE_DIR),
            DATABASE_URL=self.database_url,
            SECRET_KEY=SECRET_KEY,
            DATA_KEY=DATA_KEY,
            MAIL_BACKEND="outbox",
            SECURE_COOKIES="false",
            DEFAULT_LOCALE="pl",
        )
        if os.environ.get("BENCH_REDIS_URL"):
            env["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
        return env

    def settings(self) -> Settings:
        return load_settings(self.env())

    @property
    def url(self) -> str:
        """The SQLAlchemy URL (psycopg driver on PostgreSQL)."""
        return self.settings().database_url

    def cpu_meter(self, *, own: bool = True, pids=()) -> CpuMeter:
        """CPU of this process (``own``), of ``pids`` and their children, and of the
        PostgreSQL backends serving the bench."""
        return CpuMeter(self.url if self.name == "postgres" else None, own=own, pids=pids)

    @property
    def marker(self) -> Path:
        return DATA_DIR / f"{self.name}.json"


def target(name: str) -> Target:
    if name == "sqlite":
        return Target("sqlite", f"sqlite:///{DATA_DIR / 'bench.sqlite3'}")
    if name == "postgres":
        base = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
        url = make_url(base).update_query_dict(
            {"options": f"-csearch_path={POSTGRES_SCHEMA}", "application_name": APPLICATION_NAME}
        )
        return Target("postgres", url.render_as_string(hide_password=False), POSTGRES_SCHEMA)
    raise ValueError(f"unknown database {name!r}")


def own_target(
    name: str, sqlite_file: str, schema: str, application_name: str = APPLICATION_NAME
) -> Target:
    """The database of a bench that keeps its data apart from the others: ``sqlite_file``
    under ``bench/data/``, or ``schema`` of the PostgreSQL database, its connections named
    ``application_name`` in pg_stat_activity (what ``CpuMeter`` counts)."""
    if name == "sqlite":
        return Target("sqlite", f"sqlite:///{DATA_DIR / sqlite_file}")
    url = make_url(target(name).database_url)
    url = url.update_query_dict(
        {**url.query, "options": f"-csearch_path={schema}", "application_name": application_name}
    )
    return Target("postgres", url.render_as_string(hide_password=False), schema)


def postgres_reachable(tgt: Target) -> str | None:
    """None when the server answers, else the reason in one line."""
    try:
        engine = create_engine(tgt.url.split("?")[0], connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # report any connection failure as a reason to skip
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


def reset_postgres_schema(tgt: Target) -> None:
    """Drop and recreate the bench schema only; other schemas are never touched."""
    engine = create_engine(tgt.url.split("?")[0])
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{tgt.schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{tgt.schema}"'))
    engine.dispose()


def reset(tgt: Target) -> None:
    """An empty database: the target's SQLite files removed, or its schema made anew."""
    if tgt.name == "sqlite":
        remove_sqlite_files(tgt)
    else:
        reset_postgres_schema(tgt)


def remove_sqlite_files(tgt: Target) -> None:
    path = Path(make_url(tgt.url).database)
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()


def settle(tgt: Target) -> None:
    """PostgreSQL: bring the tables the bench rewrites back to the state of a fresh load.

    A bulk move and its undoing leave 20,000 dead row versions; run after run the line table
    would grow (it doubled after a few runs) and every later sequential scan would be slower
    for reasons of the bench, not of the app. So: VACUUM FULL (compact), then VACUUM ANALYZE
    (statistics and the visibility map that index-only scans need, which VACUUM FULL does not
    set). Only the bench schema's tables are named; SQLite needs nothing."""
    if tgt.name != "postgres":
        return
    engine = create_engine(tgt.url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM FULL line, employee, audit_event, background_task"))
        conn.execute(text("VACUUM ANALYZE line, employee, audit_event, background_task"))
        # Write the rewritten tables out now rather than while the next part is measured.
        with contextlib.suppress(Exception):  # CHECKPOINT needs a privileged role
            conn.execute(text("CHECKPOINT"))
    engine.dispose()


class EmbeddedRedisGuard:
    """Stops the embedded Redis at the end if the bench was the one that started it."""

    def __init__(self) -> None:
        self.embedded = None if os.environ.get("BENCH_REDIS_URL") else EmbeddedRedis(INSTANCE_DIR)
        self.was_running = self.embedded.ping() if self.embedded else True

    def close(self) -> None:
        if self.embedded is not None and not self.was_running:
            self.embedded.shutdown()


# --- measuring -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *_exc) -> None:
        self.seconds = time.perf_counter() - self.start


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)
