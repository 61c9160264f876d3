"""CPU time, the figure a busy shared machine does not distort.

Wall time on a 2-core machine that other people load as well says as much about them as about
the code. CPU time does not: the time the request's own processes spent on a core. A
``CpuMeter`` adds up, between two samples, the CPU of this process (optional), of given
processes and their children (gunicorn master and workers), and of the PostgreSQL backends
that serve the bench (found by the ``application_name`` the bench puts in its URL), read from
``/proc``. On a machine without ``/proc`` or with a remote database the part it cannot see
counts as zero and ``db_visible`` says so.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import create_engine, text

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
APPLICATION_NAME = "asystent-bench"


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process; 0 when it is gone or not visible."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


class CpuMeter:
    def __init__(
        self,
        db_url: str | None = None,
        *,
        own: bool = True,
        pids=(),
        application_name: str = APPLICATION_NAME,
    ) -> None:
        """``db_url``: the PostgreSQL server to find backends on (None: SQLite, in-process);
        the backends are those connected with ``application_name``."""
        self.own = own
        self.pids = list(pids)
        self.application_name = application_name
        self.engine = None
        self.db_visible = db_url is None
        if db_url is not None:
            host = (db_url.split("@", 1)[-1].split("/", 1)[0].split(":")[0] or "").lower()
            self.db_visible = host in ("127.0.0.1", "localhost", "")
            self.engine = create_engine(db_url.split("?")[0], pool_size=1)
        self.seen: dict[int, float] = {}

    def _backends(self) -> list[int]:
        if self.engine is None or not self.db_visible:
            return []
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": self.application_name},
                ).scalars()
            )

    def _sample(self) -> dict[int, float]:
        pids = set(self.pids)
        for pid in self.pids:
            pids.update(children(pid))
        pids.update(self._backends())
        return {pid: process_cpu(pid) for pid in pids}

    def start(self) -> None:
        self.own_start = time.process_time()
        self.seen = self._sample()

    def stop(self) -> float:
        """CPU seconds used since ``start``."""
        now = self._sample()
        used = sum(cpu - self.seen.get(pid, 0.0) for pid, cpu in now.items())
        if self.own:
            used += time.process_time() - self.own_start
        return used

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
