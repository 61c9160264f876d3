"""Work that may leave the process only after the database commit succeeded.

Services call ``add(session, fn, ...)`` (or ``enqueue``/``send_mail`` built on it) instead of
talking to Redis or SMTP. The callbacks run right after the session's outermost transaction
commits; a rollback, an exception or a session closed without commit drops them. So a
rolled-back request enqueues nothing, and a job never starts before its rows exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

log = logging.getLogger(__name__)
_KEY = "asystent.after_commit"


def install(factory: sessionmaker) -> None:
    event.listen(factory, "after_commit", _run)
    event.listen(factory, "after_transaction_end", _discard)


def add(session: Session, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    session.info.setdefault(_KEY, []).append((fn, args, kwargs))


def discard(session: Session) -> None:
    """Drop the work registered so far (it will not run at the next commit)."""
    session.info.pop(_KEY, None)


def pending(session: Session) -> list:
    return list(session.info.get(_KEY, ()))


def enqueue(session: Session, queue: str, func: str, *args: Any, **options: Any) -> None:
    """Enqueue ``func`` (a dotted path) on ``queue`` once the session commits.

    ``options`` go to RQ's ``Queue.enqueue`` (``job_id``, ``job_timeout``, ``retry`` …).
    """
    runtime = session.info["runtime"]
    add(session, runtime.enqueue_now, queue, func, *args, **options)


def _run(session: Session) -> None:
    work = session.info.pop(_KEY, None)
    for fn, args, kwargs in work or ():
        try:
            fn(*args, **kwargs)
        except Exception:
            # The database already holds the truth; periodic sweeps pick up what failed here.
            log.exception("after-commit work %r failed", fn)


def _discard(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_KEY, None)
