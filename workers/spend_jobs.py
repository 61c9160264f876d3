"""Spend alerts: the evaluation, periodically and after each usage file is loaded."""

from __future__ import annotations

from datetime import datetime

from services import spend_alerts
from workers.context import unit_of_work


def evaluate_spend(now: str | None = None) -> dict:
    """Record and tell the spend thresholds crossed (idempotent). ``now`` (ISO 8601 with offset)
    lets a caller say what time it is; by default the clock's."""
    moment = datetime.fromisoformat(now) if now else None
    with unit_of_work() as s:
        outcome = spend_alerts.evaluate(s, moment)
    return {"alerts": outcome.alerts, "mails": outcome.mails, "roaming_off": outcome.roaming_off}
