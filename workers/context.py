"""The unit of work of a job: one session, one commit, after-commit work after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.orm import Session

from core.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["asystent.runtime"]


@contextmanager
def unit_of_work() -> Iterator[Session]:
    with runtime().db.session_scope() as session:
        yield session
