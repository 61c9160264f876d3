"""The per-process runtime: settings, database, Redis and queues.

Created by the app factories, the worker and the CLI (never at import). Sessions carry a
reference to it in ``session.info["runtime"]`` so after-commit work can reach Redis without
services importing it.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import redis
from rq import Queue

from core import crypto
from core.db import Database
from core.embedded_redis import EmbeddedRedis
from core.files import FileStore
from core.settings import Settings


class Runtime:
    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.settings = settings
        crypto.configure(settings.data_key)
        self.db = database or Database(settings.database_url)
        self.db.session_info["runtime"] = self

    @cached_property
    def redis_url(self) -> str:
        if self.settings.redis_url:
            return self.settings.redis_url
        return EmbeddedRedis(self.settings.instance_path).ensure_running()

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, health_check_interval=30)

    @cached_property
    def files(self) -> FileStore:
        return FileStore(self.settings.files_path)

    def queue(self, name: str) -> Queue:
        return Queue(name, connection=self.redis)

    def enqueue_now(self, queue: str, func: str, *args: Any, **options: Any):
        return self.queue(queue).enqueue(func, *args, **options)
