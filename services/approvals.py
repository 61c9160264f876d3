"""Approving what employees asked for beyond their self-service rights.

A fleet admin whose scope covers the line accepts or rejects a pending request (a reason is
required to reject). Accepted, the request is carried on as if it had been within the policy:
a provisioning request, a scheduled roaming period, or a handset exchange order. Both sides
are told by e-mail (queued now, sent after the commit).

Mail texts are lazy translations made text when queued: the caller chooses the language (the
web layer wraps the call in Flask-Babel's ``force_locale``).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.i18n import _l
from models import (
    Line,
    PortalRole,
    PortalUser,
    RequestKind,
    SelfServiceRequest,
    SelfServiceState,
)
from models.base import utcnow
from services import ServiceError, audit, mail, selfservice
from services.audit import Actor
from services.fleet import FleetScope, format_msisdn

MAX_REASON = 500


def summary(req: SelfServiceRequest):
    """One line saying what was asked (for mails and lists)."""
    from services import policies

    p = req.params
    if req.kind == RequestKind.service:
        name = policies.RULES[policies.service_rule(p["service"])].label
        if p.get("on"):
            return _l("switch on: %(service)s", service=name)
        return _l("switch off: %(service)s", service=name)
    if req.kind == RequestKind.roaming:
        return _l(
            "roaming in zone %(zone)s from %(start)s to %(end)s",
            zone=ZONE_NAMES[p["zone"]],
            start=req.start_date.strftime("%d.%m.%Y"),
            end=req.end_date.strftime("%d.%m.%Y"),
        )
    return _l("a handset exchange: %(product)s", product=p.get("product_name", ""))


ZONE_NAMES = {"eu": _l("EU"), "europe": _l("Europe"), "world": _l("world")}


def notify_admins(session: Session, req: SelfServiceRequest, line: Line) -> None:
    user = session.get(PortalUser, req.requested_by_id) if req.requested_by_id else None
    who = user.full_name if user else "—"
    for admin in selfservice.admins_for(session, line.customer_id, line.unit_path):
        body = _l(
            "Hello %(name)s,\n\n%(who)s asks for %(what)s on line %(number)s.\n"
            "Their policy needs your approval. Accept or reject the request in Asystent, "
            "under Self-service approvals.",
            name=admin.full_name,
            who=who,
            what=summary(req),
            number=format_msisdn(line.msisdn),
        )
        mail.queue_mail(
            session,
            admin.email,
            str(_l("A self-service request waits for your approval")),
            str(body),
            customer_id=line.customer_id,
        )


def scope_condition(scope: FleetScope):
    """Requests within a fleet admin's scope (the company, or one subtree)."""
    from models import OrgUnit

    cond = SelfServiceRequest.customer_id == scope.customer_id
    if scope.unit_path:
        cond = (
            cond
            & (SelfServiceRequest.unit_path >= scope.unit_path)
            & (SelfServiceRequest.unit_path < OrgUnit.upper_bound(scope.unit_path))
        )
    return cond


def pending(session: Session, scope: FleetScope, limit: int = 200) -> list[SelfServiceRequest]:
    return list(
        session.scalars(
            select(SelfServiceRequest)
            .where(scope_condition(scope), SelfServiceRequest.state == SelfServiceState.pending)
            .order_by(SelfServiceRequest.id)
            .limit(limit)
        )
    )


def recent(session: Session, scope: FleetScope, limit: int = 30) -> list[SelfServiceRequest]:
    return list(
        session.scalars(
            select(SelfServiceRequest)
            .where(scope_condition(scope), SelfServiceRequest.state != SelfServiceState.pending)
            .order_by(SelfServiceRequest.id.desc())
            .limit(limit)
        )
    )


def in_scope(req: SelfServiceRequest, scope: FleetScope) -> bool:
    return req.customer_id == scope.customer_id and (
        not scope.unit_path or req.unit_path.startswith(scope.unit_path)
    )


def _check(req: SelfServiceRequest, admin: PortalUser) -> None:
    if req.state != SelfServiceState.pending:
        raise ServiceError(_l("This request has already been decided."))
    if admin.role != PortalRole.fleet_admin or admin.customer_id != req.customer_id:
        raise ServiceError(_l("Only a fleet administrator can decide this request."))


def _claim(session: Session, req: SelfServiceRequest, state: SelfServiceState) -> None:
    """Take the decision with a conditional update: of two admins deciding at once, one wins
    and the other is told the request has been decided."""
    claimed = session.execute(
        update(SelfServiceRequest)
        .where(
            SelfServiceRequest.id == req.id,
            SelfServiceRequest.state == SelfServiceState.pending,
        )
        .values(state=state)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise ServiceError(_l("This request has already been decided."))
    req.state = state


def _tell_employee(session: Session, req: SelfServiceRequest, line: Line, body) -> None:
    user = session.get(PortalUser, req.requested_by_id) if req.requested_by_id else None
    if user is None:
        return
    mail.queue_mail(
        session,
        user.email,
        str(_l("Your self-service request on line %(number)s", number=format_msisdn(line.msisdn))),
        str(body),
        customer_id=req.customer_id,
    )


def approve(
    session: Session, actor: Actor, req: SelfServiceRequest, admin: PortalUser
) -> SelfServiceRequest:
    _check(req, admin)
    _claim(session, req, SelfServiceState.approved)
    line = session.get(Line, req.line_id)
    req.decided_by_id = admin.id
    req.decided_at = utcnow()
    if req.kind == RequestKind.exchange:
        from services import exchange  # the exchange places an order: orders build on fleet

        exchange.place(session, actor, req, line, approved_by=admin)
        req.state = SelfServiceState.approved
        audit.record(
            session,
            actor,
            "selfservice.approved",
            customer_id=req.customer_id,
            object_type="line",
            object_id=req.line_id,
            after={"request": req.id, "order": req.order_id},
        )
    else:
        selfservice.check_live(line)
        selfservice.carry_out(session, actor, req, line, state=SelfServiceState.approved)
    body = _l(
        "Hello,\n\n%(admin)s has approved your request for %(what)s on line %(number)s. "
        "The change is now on its way to the network; the portal shows it as active once "
        "the network confirms it.",
        admin=admin.full_name,
        what=summary(req),
        number=format_msisdn(line.msisdn),
    )
    _tell_employee(session, req, line, body)
    session.flush()
    return req


def reject(
    session: Session, actor: Actor, req: SelfServiceRequest, admin: PortalUser, reason: str
) -> SelfServiceRequest:
    _check(req, admin)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ServiceError(_l("Give the reason for rejecting the request."), field="reason")
    if len(reason) > MAX_REASON:
        raise ServiceError(_l("The reason is too long (at most 500 characters)."), field="reason")
    _claim(session, req, SelfServiceState.rejected)
    line = session.get(Line, req.line_id)
    req.reason = reason
    req.decided_by_id = admin.id
    req.decided_at = utcnow()
    audit.record(
        session,
        actor,
        "selfservice.rejected",
        customer_id=req.customer_id,
        object_type="line",
        object_id=req.line_id,
        after={"request": req.id, "reason": reason},
    )
    body = _l(
        "Hello,\n\n%(admin)s has rejected your request for %(what)s on line %(number)s.\n"
        "Reason: %(reason)s",
        admin=admin.full_name,
        what=summary(req),
        number=format_msisdn(line.msisdn),
        reason=reason,
    )
    _tell_employee(session, req, line, body)
    session.flush()
    return req
