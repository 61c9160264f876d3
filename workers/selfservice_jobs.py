"""Scheduled self-service changes (the end of a roaming period) reaching the network."""

from __future__ import annotations

from datetime import datetime

from services import scheduled_changes
from workers.context import unit_of_work


def fire_scheduled(now: str | None = None) -> int:
    """Periodic: turn due scheduled changes into provisioning requests (idempotent). ``now``
    (ISO 8601 with offset) lets a caller say what time it is; by default the clock's."""
    moment = datetime.fromisoformat(now) if now else None
    with unit_of_work() as s:
        return scheduled_changes.fire_due(s, moment)
