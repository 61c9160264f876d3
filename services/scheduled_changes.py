"""Network changes to request later (the start and the end of a roaming period).

A ``ScheduledChange`` row is the schedule: it lives in the database, so it survives worker and
Redis restarts. ``fire_due`` (the periodic sweep, which may be told what time it is) turns due
rows into provisioning requests; each row is claimed with a conditional update first, so two
sweeps at once request a change once. A scheduled change does not hold up the line's other
requests: it becomes a provisioning request only when due.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import (
    Line,
    LineStatus,
    ScheduledChange,
    ScheduleState,
    SelfServiceRequest,
)
from models.base import utcnow
from services import provisioning
from services.audit import Actor

FIRE_BATCH = 500


def schedule(
    session: Session,
    actor: Actor,
    line: Line,
    action: str,
    params: dict,
    due_at: datetime,
    req: SelfServiceRequest | None = None,
) -> ScheduledChange:
    change = ScheduledChange(
        customer_id=line.customer_id,
        line_id=line.id,
        selfservice_request_id=req.id if req else None,
        action=action,
        params=params,
        due_at=due_at,
        state=ScheduleState.scheduled,
        requested_by=actor.label,
    )
    session.add(change)
    session.flush()
    return change


def fire_due(session: Session, now: datetime | None = None) -> int:
    """Turn scheduled changes that are due into provisioning requests. Each row is claimed with
    a conditional update first, so two sweeps at once request a change once."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(ScheduledChange)
            .where(ScheduledChange.state == ScheduleState.scheduled, ScheduledChange.due_at <= now)
            .order_by(ScheduledChange.due_at, ScheduledChange.id)
            .limit(FIRE_BATCH)
        )
    )
    fired = 0
    for change in due:
        claimed = session.execute(
            update(ScheduledChange)
            .where(
                ScheduledChange.id == change.id, ScheduledChange.state == ScheduleState.scheduled
            )
            .values(state=ScheduleState.fired, fired_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            continue
        change.state, change.fired_at = ScheduleState.fired, now
        line = session.get(Line, change.line_id)
        if line.status not in (LineStatus.active, LineStatus.suspended):
            continue  # terminated meanwhile: nothing to switch
        req = provisioning.request_change(
            session, Actor.system("schedule"), line, change.action, change.params
        )
        change.provisioning_request_id = req.id
        fired += 1
    session.flush()
    return fired


def cancel_for(session: Session, req: SelfServiceRequest) -> None:
    session.execute(
        update(ScheduledChange)
        .where(
            ScheduledChange.selfservice_request_id == req.id,
            ScheduledChange.state == ScheduleState.scheduled,
        )
        .values(state=ScheduleState.cancelled)
        .execution_options(synchronize_session=False)
    )


def schedule_of_line(session: Session, line_id: int) -> list[ScheduledChange]:
    return list(
        session.scalars(
            select(ScheduledChange)
            .where(
                ScheduledChange.line_id == line_id,
                ScheduledChange.state == ScheduleState.scheduled,
            )
            .order_by(ScheduledChange.due_at)
        )
    )
