"""Provisioning: every network-facing change is a request carried out by a worker.

- ``request_change`` records the request (acknowledged) and, after the commit, enqueues the
  line's job. The line's confirmed state does not change here.
- ``process_next`` (called by the job) takes the line's oldest open request that is due, claims
  it, asks the network, and on confirmation applies it to the line. Requests of one line are
  carried out one at a time in the order they were made, so conflicting changes serialise.
- A transient network failure is retried with back-off; after ``MAX_ATTEMPTS`` the request
  fails with the reason, visible to the user. ``due_lines`` lets the periodic sweep find lines
  whose job was lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core import aftercommit
from core.i18n import _l
from integrations.network import NetworkError, NetworkGateway, NetworkRejected
from models import Line, LineStatus, ProvisioningRequest, RequestStatus, Service
from models.base import utcnow
from services import ServiceError, audit
from services.audit import Actor
from workers import queues

MAX_ATTEMPTS = 5
BACKOFF = [5, 15, 60, 300]  # seconds before attempts 2, 3, 4, 5
CLAIM = timedelta(minutes=2)
OPEN = (RequestStatus.acknowledged, RequestStatus.inProgress)


LINES_PER_JOB = 200


def enqueue_line(session: Session, line_id: int) -> None:
    enqueue_lines(session, [line_id])


def enqueue_lines(session: Session, line_ids: list[int]) -> None:
    """After the commit, one job per ``LINES_PER_JOB`` lines (not one job per line)."""
    ids = sorted(set(line_ids))
    for i in range(0, len(ids), LINES_PER_JOB):
        aftercommit.enqueue(
            session,
            queues.PROVISIONING,
            "workers.provisioning_jobs.process_lines",
            ids[i : i + LINES_PER_JOB],
            job_timeout=1800,
        )


def request_change(
    session: Session,
    actor: Actor,
    line: Line,
    action: str,
    params: dict | None = None,
    *,
    not_before: datetime | None = None,
    enqueue: bool = True,
) -> ProvisioningRequest:
    req = ProvisioningRequest(
        customer_id=line.customer_id,
        line_id=line.id,
        action=action,
        params=params or {},
        status=RequestStatus.acknowledged,
        requested_by=actor.label,
        not_before=not_before,
    )
    session.add(req)
    session.flush()
    audit.record(
        session,
        actor,
        f"provisioning.{action}",
        customer_id=line.customer_id,
        obj=line,
        after={"request": req.id, **(params or {})},
    )
    if enqueue and (not_before is None or not_before <= utcnow()):
        enqueue_line(session, line.id)
    return req


def open_requests(session: Session, line_ids: list[int]) -> dict[int, list[ProvisioningRequest]]:
    if not line_ids:
        return {}
    rows = session.scalars(
        select(ProvisioningRequest)
        .where(ProvisioningRequest.line_id.in_(line_ids), ProvisioningRequest.status.in_(OPEN))
        .order_by(ProvisioningRequest.id)
    )
    result: dict[int, list[ProvisioningRequest]] = {}
    for r in rows:
        result.setdefault(r.line_id, []).append(r)
    return result


def _apply_to_line(line: Line, req: ProvisioningRequest) -> None:
    p = req.params
    if req.action == "set_service":
        setattr(line, f"svc_{Service(p['service']).value}", bool(p["on"]))
    elif req.action == "change_tariff":
        line.tariff_id = int(p["tariff_id"])
    elif req.action == "suspend":
        line.status = LineStatus.suspended
    elif req.action == "resume":
        line.status = LineStatus.active
    elif req.action == "activate":
        line.status = LineStatus.active
        line.activated_at = utcnow()
    elif req.action == "terminate":
        line.status = LineStatus.terminated
        line.terminated_at = utcnow()


def claim_next(session: Session, line_id: int) -> ProvisioningRequest | None:
    """Claim the line's oldest open request if it is due and nobody holds the line."""
    now = utcnow()
    head = session.scalar(
        select(ProvisioningRequest)
        .where(ProvisioningRequest.line_id == line_id, ProvisioningRequest.status.in_(OPEN))
        .order_by(ProvisioningRequest.id)
        .limit(1)
    )
    if head is None or (head.not_before and head.not_before > now):
        return None
    claimed = session.execute(
        update(ProvisioningRequest)
        .where(
            ProvisioningRequest.id == head.id,
            ProvisioningRequest.status.in_(OPEN),
            or_(
                ProvisioningRequest.claimed_until.is_(None), ProvisioningRequest.claimed_until < now
            ),
        )
        .values(
            claimed_until=now + CLAIM,
            status=RequestStatus.inProgress,
            attempts=ProvisioningRequest.attempts + 1,
        )
    ).rowcount
    if claimed != 1:
        return None
    session.refresh(head)
    return head


def carry_out(session: Session, req: ProvisioningRequest, gateway: NetworkGateway) -> str:
    """Ask the network; record the outcome. Returns completed / retry / failed."""
    line = session.get(Line, req.line_id)
    try:
        ref = gateway.apply(f"req-{req.id}", line.imsi, req.action, req.params)
    except NetworkRejected as exc:
        return _fail(session, req, line, f"refused by the network: {exc}")
    except NetworkError as exc:
        if req.attempts >= MAX_ATTEMPTS:
            return _fail(
                session, req, line, f"network unavailable after {req.attempts} attempts: {exc}"
            )
        req.status = RequestStatus.acknowledged
        req.claimed_until = None
        req.last_error = str(exc)[:500]
        req.not_before = utcnow() + timedelta(seconds=BACKOFF[min(req.attempts, len(BACKOFF)) - 1])
        session.flush()
        return "retry"
    before = _snapshot(line)
    _apply_to_line(line, req)
    req.status = RequestStatus.completed
    req.network_ref = ref
    req.completed_at = utcnow()
    req.claimed_until = None
    req.last_error = None
    if req.action == "activate" and req.params.get("order_line_id"):
        from services import orders  # orders build on provisioning, not the other way round

        orders.activation_confirmed(session, int(req.params["order_line_id"]))
    audit.record(
        session,
        Actor.system("network"),
        f"provisioning.{req.action}.confirmed",
        customer_id=line.customer_id,
        obj=line,
        before=before,
        after=_snapshot(line),
    )
    session.flush()
    return "completed"


def _fail(session: Session, req: ProvisioningRequest, line: Line, reason: str) -> str:
    req.status = RequestStatus.failed
    req.last_error = reason[:500]
    req.claimed_until = None
    req.completed_at = utcnow()
    if req.action == "activate" and req.params.get("order_line_id"):
        from services import orders  # orders build on provisioning, not the other way round

        orders.activation_failed(session, int(req.params["order_line_id"]), reason)
    audit.record(
        session,
        Actor.system("network"),
        f"provisioning.{req.action}.failed",
        customer_id=line.customer_id,
        obj=line,
        after={"request": req.id, "reason": reason},
    )
    session.flush()
    return "failed"


def _snapshot(line: Line) -> dict:
    return {
        "status": line.status.value,
        "tariff_id": line.tariff_id,
        **{f"svc_{s.value}": line.service_on(s) for s in Service},
    }


def next_due(session: Session, line_id: int) -> datetime | None:
    """When the line's next open request becomes due (None: nothing open)."""
    head = session.scalar(
        select(ProvisioningRequest)
        .where(ProvisioningRequest.line_id == line_id, ProvisioningRequest.status.in_(OPEN))
        .order_by(ProvisioningRequest.id)
        .limit(1)
    )
    if head is None:
        return None
    return head.not_before or utcnow()


def due_lines(session: Session, limit: int = 1000) -> list[int]:
    """Lines with an open request that is due and not held: for the periodic sweep."""
    now = utcnow()
    return list(
        session.scalars(
            select(ProvisioningRequest.line_id)
            .where(
                ProvisioningRequest.status.in_(OPEN),
                or_(
                    ProvisioningRequest.not_before.is_(None), ProvisioningRequest.not_before <= now
                ),
                or_(
                    ProvisioningRequest.claimed_until.is_(None),
                    ProvisioningRequest.claimed_until < now,
                ),
            )
            .distinct()
            .limit(limit)
        )
    )


def retry_failed(session: Session, actor: Actor, req: ProvisioningRequest) -> None:
    """Send a failed request to the network again: it becomes acknowledged with a fresh count of
    attempts and the line's job is enqueued after the commit. It keeps its place in the line's
    order (its id), so it is carried out before any change requested after it that is still
    open.

    Refused when the request is not failed (someone retried it already), or when a later request
    for the same change of the same line was made since (retrying would undo the newer one).
    """
    if req.status != RequestStatus.failed:
        raise ServiceError(_l("Only a failed request can be sent again."))
    newer = session.scalars(
        select(ProvisioningRequest.params).where(
            ProvisioningRequest.line_id == req.line_id,
            ProvisioningRequest.id > req.id,
            ProvisioningRequest.action == req.action,
            ProvisioningRequest.status.not_in((RequestStatus.failed, RequestStatus.cancelled)),
        )
    ).all()
    if any(_same_change(req, params) for params in newer):
        raise ServiceError(
            _l("The same change of this line was requested again later; that request counts.")
        )
    reason = req.last_error
    changed = session.execute(
        update(ProvisioningRequest)
        .where(ProvisioningRequest.id == req.id, ProvisioningRequest.status == RequestStatus.failed)
        .values(
            status=RequestStatus.acknowledged,
            attempts=0,
            last_error=None,
            not_before=None,
            claimed_until=None,
            completed_at=None,
        )
    ).rowcount
    if changed != 1:
        raise ServiceError(_l("Only a failed request can be sent again."))
    session.refresh(req)
    audit.record(
        session,
        actor,
        f"provisioning.{req.action}.retried",
        customer_id=req.customer_id,
        object_type="line",
        object_id=req.line_id,
        before={"request": req.id, "reason": reason},
        after={"request": req.id},
    )
    session.flush()
    enqueue_line(session, req.line_id)


def _same_change(req: ProvisioningRequest, later_params: dict) -> bool:
    """A later request changes the same thing (for a service: the same service)."""
    if req.action != "set_service":
        return True
    return (later_params or {}).get("service") == req.params.get("service")
