"""Database engine and sessions, shared by both web apps, the workers and the CLI.

One ``Database`` per process holds the engine and the session factory. Web requests get a
session from ``session()`` (kept on ``flask.g`` and closed at teardown); jobs and commands use
``Database.session_scope()``. Nothing commits inside services: the edge commits once.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from core import aftercommit


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys, WAL, a busy timeout, and BEGIN IMMEDIATE.

    pysqlite's own transaction handling is switched off so that SQLAlchemy's begin event
    decides: every transaction takes the write lock up front, so two writers queue on the busy
    timeout instead of failing half-way (SQLite has no SELECT ... FOR UPDATE).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        engine = create_engine(url, **kwargs)
    return engine


class Database:
    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.session_info: dict = {}
        aftercommit.install(self.session_factory)
        # A forked RQ work horse must not reuse the parent's pooled connections.
        ref = weakref.ref(self.engine)
        os.register_at_fork(after_in_child=lambda: (e := ref()) and e.dispose(close=False))

    def bind_to(self, connection) -> None:
        """Tests: every session joins ``connection``'s transaction through a savepoint."""
        self.session_factory.configure(bind=connection, join_transaction_mode="create_savepoint")

    @property
    def parallel_sessions(self) -> bool:
        """Whether sessions may work at the same time, each on its own connection: not while
        they all join one connection (``bind_to``)."""
        return self.session_factory.kw.get("bind") is self.engine

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def new_session(self, read_only: bool = False) -> Session:
        """A session; ``read_only`` (page views) does not take SQLite's write lock up front."""
        if read_only and self.is_sqlite and self.session_factory.kw.get("bind") is self.engine:
            s = self.session_factory(bind=self.engine.execution_options(sqlite_begin="DEFERRED"))
        else:
            s = self.session_factory()
        s.info.update(self.session_info)
        return s

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """One unit of work: commit at the end, roll back on error, run after-commit work."""
        s = self.new_session()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()
