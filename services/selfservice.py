"""What an employee changes on their own line, within the policy of its unit.

Each ask is checked against the effective policy (``services.policies``): within it, the change
goes to the network at once (``services.provisioning.request_change``) or is scheduled; where
the rule says approval, it waits for a fleet admin (``services.approvals``); where it says no,
it is refused with the rule, the unit that set it and the admin to ask. Every ask is kept as a
``SelfServiceRequest`` (refusals too), so the admin sees what employees did.

A roaming period is two changes: roaming on at the start (now, or at 00:00 Warsaw time of the
first day) and off at 00:00 after the last day. Changes for later are ``ScheduledChange`` rows
(``services.scheduled_changes``), which the periodic sweep turns into provisioning requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import (
    Line,
    LineStatus,
    PortalRole,
    PortalUser,
    RequestKind,
    ScheduledChange,
    ScheduleState,
    SelfServiceRequest,
    SelfServiceState,
    Service,
)
from models.base import utcnow
from services import ServiceError, audit, policies, provisioning, scheduled_changes
from services.audit import Actor
from services.contract_versions import BUSINESS_TZ

MAX_AHEAD = timedelta(days=366)  # a roaming period starts within a year

# The direction of a switch that costs or exposes something: the policy governs it. The other
# direction (roaming off, premium-rate barring on…) an employee may always take.
RISKY_DIRECTION = {
    Service.roaming: True,
    Service.data: True,
    Service.intl_calls: True,
    Service.location: True,
    Service.premium_barring: False,
}


def warsaw_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(BUSINESS_TZ).date()


def day_start(day: date) -> datetime:
    """00:00 of a Warsaw calendar day, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=BUSINESS_TZ)


@dataclass(frozen=True)
class Contact:
    name: str
    email: str


def admins_for(session: Session, customer_id: int, unit_path: str) -> list[PortalUser]:
    """The active fleet admins whose scope covers the unit, nearest scope first."""
    users = session.scalars(
        select(PortalUser).where(
            PortalUser.customer_id == customer_id,
            PortalUser.role == PortalRole.fleet_admin,
            PortalUser.is_active.is_(True),
        )
    )
    covering = [u for u in users if u.scope_unit is None or unit_path.startswith(u.scope_unit.path)]
    return sorted(
        covering, key=lambda u: (-(len(u.scope_unit.path) if u.scope_unit else 0), u.full_name)
    )


def nearest_admin(session: Session, line: Line) -> Contact | None:
    admins = admins_for(session, line.customer_id, line.unit_path)
    return Contact(admins[0].full_name, admins[0].email) if admins else None


class Refused(ServiceError):
    """Outside the policy: which rule, set where, and whom to ask."""


# Why something is refused, by code (stored with the request, so it reads in the language of
# whoever looks at it later).
REFUSALS = {
    "service": lambda a: _l("You cannot change this service yourself."),
    "roaming": lambda a: _l("You cannot switch roaming on yourself."),
    "zone": lambda a: _l("Roaming in this zone is not allowed for your line."),
    "exchange_months": lambda a: _l(
        "It is too soon for a new handset. Months since the last one: %(n)d; the policy "
        "asks for: %(m)d.",
        n=a.get("n", 0),
        m=a.get("m", 0),
    ),
}


def refusal(session: Session, line: Line, eff: policies.Effective, code: str, **args) -> dict:
    """What a refusal says: the reason (a code of ``REFUSALS``), the rule, the unit that set it,
    and the nearest fleet admin to ask."""
    contact = nearest_admin(session, line)
    return {
        "code": code,
        "args": args,
        "rule": eff.key,
        "unit_id": eff.unit.id if eff.unit else None,
        "unit": eff.unit.name if eff.unit else None,
        "admin": contact.name if contact else None,
        "admin_email": contact.email if contact else None,
    }


def refusal_text(refusal: dict):
    """The sentence an employee reads: the reason, the rule, where it comes from, whom to ask."""
    rule = policies.RULES[refusal["rule"]].label
    if refusal.get("unit"):
        source = _l("set for %(unit)s", unit=refusal["unit"])
    else:
        source = _l("the default policy")
    if refusal.get("admin"):
        ask = _l(
            "Ask your fleet administrator, %(name)s (%(email)s).",
            name=refusal["admin"],
            email=refusal["admin_email"],
        )
    else:
        ask = _l("Ask your company's fleet administrator.")
    return _l(
        "%(what)s Rule: %(rule)s (%(source)s). %(ask)s",
        what=REFUSALS[refusal["code"]](refusal.get("args") or {}),
        rule=rule,
        source=source,
        ask=ask,
    )


def new_request(
    session: Session,
    user: PortalUser,
    line: Line,
    kind: RequestKind,
    params: dict,
    **extra,
) -> SelfServiceRequest:
    req = SelfServiceRequest(
        customer_id=line.customer_id,
        line_id=line.id,
        unit_path=line.unit_path,
        requested_by_id=user.id,
        kind=kind,
        params=params,
        state=SelfServiceState.pending,
        **extra,
    )
    session.add(req)
    session.flush()
    return req


def refuse(
    session: Session, actor: Actor, req: SelfServiceRequest, refusal: dict
) -> SelfServiceRequest:
    req.state = SelfServiceState.refused
    req.params = {**req.params, "refusal": refusal}
    req.reason = None  # the refusal is in params, told in the reader's language
    audit.record(
        session,
        actor,
        "selfservice.refused",
        customer_id=req.customer_id,
        object_type="line",
        object_id=req.line_id,
        after={"request": req.id, "rule": refusal["rule"], "unit_id": refusal["unit_id"]},
    )
    session.flush()
    return req


def check_live(line: Line) -> None:
    if line.status != LineStatus.active:
        raise ServiceError(_l("Only an active line can be changed."))


def expected_service(session: Session, line: Line, service: Service) -> bool:
    """The service's state once the line's open requests are carried out."""
    state = line.service_on(service)
    for reqs in provisioning.open_requests(session, [line.id]).values():
        for r in reqs:
            if r.action == "set_service" and r.params.get("service") == service.value:
                state = bool(r.params.get("on"))
    return state


def ask_service(
    session: Session, actor: Actor, user: PortalUser, line: Line, service: Service, on: bool
) -> SelfServiceRequest:
    """An employee switches a service on or off. Returns the request: ``done`` (sent to the
    network), ``pending`` (waits for approval) or ``refused`` (with ``params['refusal']``)."""
    check_live(line)
    if service == Service.roaming and on:
        raise ServiceError(_l("Choose the dates and the zone to switch roaming on."))
    if expected_service(session, line, service) == on:
        raise ServiceError(_l("The service is already in this state (or about to be)."))
    req = new_request(
        session, user, line, RequestKind.service, {"service": service.value, "on": on}
    )
    if on != RISKY_DIRECTION[service]:
        return carry_out(session, actor, req, line)
    eff = policies.effective_for_line(session, line)[policies.service_rule(service)]
    if eff.value == policies.NEVER:
        return refuse(session, actor, req, refusal(session, line, eff, "service"))
    if eff.value == policies.APPROVAL:
        return await_approval(session, actor, req, line)
    return carry_out(session, actor, req, line)


def parse_period(start: date | None, end: date | None, now: datetime | None = None) -> None:
    today = warsaw_today(now)
    if start is None or end is None:
        raise ServiceError(_l("Enter the first and the last day of the trip."), field="start")
    if end < start:
        raise ServiceError(_l("The last day cannot be before the first."), field="end")
    if start < today:
        raise ServiceError(_l("The trip cannot start in the past."), field="start")
    if day_start(start) - day_start(today) > MAX_AHEAD:
        raise ServiceError(_l("The trip must start within a year."), field="start")
    if (end - start).days + 1 > 366:
        raise ServiceError(_l("A roaming period lasts at most a year."), field="end")


def _overlapping(session: Session, line: Line, start: date, end: date) -> bool:
    return (
        session.scalar(
            select(SelfServiceRequest.id)
            .where(
                SelfServiceRequest.line_id == line.id,
                SelfServiceRequest.kind == RequestKind.roaming,
                SelfServiceRequest.state.in_(
                    (SelfServiceState.pending, SelfServiceState.done, SelfServiceState.approved)
                ),
                SelfServiceRequest.start_date <= end,
                SelfServiceRequest.end_date >= start,
            )
            .limit(1)
        )
        is not None
    )


def ask_roaming(
    session: Session,
    actor: Actor,
    user: PortalUser,
    line: Line,
    zone: str,
    start: date | None,
    end: date | None,
    now: datetime | None = None,
) -> SelfServiceRequest:
    """Roaming on from ``start`` to ``end`` (Warsaw days, inclusive) in ``zone``."""
    check_live(line)
    if zone not in policies.ZONES:
        raise ServiceError(_l("Choose a roaming zone."), field="zone")
    parse_period(start, end, now)
    if _overlapping(session, line, start, end):
        raise ServiceError(
            _l("A roaming period for these days has already been asked for on this line."),
            field="start",
        )
    req = new_request(
        session,
        user,
        line,
        RequestKind.roaming,
        {"zone": zone},
        start_date=start,
        end_date=end,
    )
    policy = policies.effective_for_line(session, line)
    mode = policy[policies.service_rule(Service.roaming)]
    if mode.value == policies.NEVER:
        return refuse(session, actor, req, refusal(session, line, mode, "roaming"))
    allowed = policy["roaming.zone"]
    if not policies.zone_allows(allowed.value, zone):
        return refuse(session, actor, req, refusal(session, line, allowed, "zone"))
    days = (end - start).days + 1
    if mode.value == policies.APPROVAL or days > policy.value("roaming.max_days"):
        return await_approval(session, actor, req, line)
    return carry_out(session, actor, req, line, now=now)


def await_approval(
    session: Session, actor: Actor, req: SelfServiceRequest, line: Line
) -> SelfServiceRequest:
    from services import approvals  # approvals carry requests out through this module

    req.state = SelfServiceState.pending
    audit.record(
        session,
        actor,
        "selfservice.asked",
        customer_id=req.customer_id,
        object_type="line",
        object_id=req.line_id,
        after={"request": req.id, "kind": req.kind.value, **_describe(req)},
    )
    session.flush()
    approvals.notify_admins(session, req, line)
    return req


def _describe(req: SelfServiceRequest) -> dict:
    out = {k: v for k, v in req.params.items() if k != "refusal"}
    if req.start_date:
        out.update(start=req.start_date.isoformat(), end=req.end_date.isoformat())
    return out


def carry_out(
    session: Session,
    actor: Actor,
    req: SelfServiceRequest,
    line: Line,
    *,
    now: datetime | None = None,
    state: SelfServiceState = SelfServiceState.done,
) -> SelfServiceRequest:
    """Send the change to the network (or schedule it). The line's state changes only when
    the network confirms."""
    now = now or utcnow()
    if req.kind == RequestKind.service:
        provisioning.request_change(
            session,
            actor,
            line,
            "set_service",
            {"service": req.params["service"], "on": bool(req.params["on"])},
        )
    elif req.kind == RequestKind.roaming:
        zone = req.params["zone"]
        start_at = day_start(req.start_date)
        end_at = day_start(req.end_date + timedelta(days=1))
        if end_at <= now:
            raise ServiceError(_l("This roaming period is already over."))
        on = {"service": Service.roaming.value, "on": True, "zone": zone}
        if start_at <= now:
            provisioning.request_change(session, actor, line, "set_service", on)
        else:
            scheduled_changes.schedule(session, actor, line, "set_service", on, start_at, req)
        off = {"service": Service.roaming.value, "on": False}
        scheduled_changes.schedule(session, actor, line, "set_service", off, end_at, req)
    req.state = state
    audit.record(
        session,
        actor,
        "selfservice.done" if state == SelfServiceState.done else "selfservice.approved",
        customer_id=req.customer_id,
        object_type="line",
        object_id=req.line_id,
        after={"request": req.id, "kind": req.kind.value, **_describe(req)},
    )
    session.flush()
    return req


def can_cancel(req: SelfServiceRequest, now: datetime | None = None) -> bool:
    """A request still waiting, or a roaming period not yet over."""
    if req.state == SelfServiceState.pending:
        return True
    return (
        req.kind == RequestKind.roaming
        and req.state in (SelfServiceState.done, SelfServiceState.approved)
        and day_start(req.end_date + timedelta(days=1)) > (now or utcnow())
    )


def cancel(
    session: Session, actor: Actor, req: SelfServiceRequest, now: datetime | None = None
) -> SelfServiceRequest:
    """The employee withdraws a request, or ends a roaming period early: what is scheduled is
    cancelled and, if roaming was already switched on for it, it is switched off now."""
    if not can_cancel(req, now):
        raise ServiceError(_l("This request can no longer be cancelled."))
    was = req.state
    req.state = SelfServiceState.cancelled
    if was != SelfServiceState.pending:
        waiting = session.scalars(
            select(ScheduledChange).where(
                ScheduledChange.selfservice_request_id == req.id,
                ScheduledChange.state == ScheduleState.scheduled,
            )
        )
        started = not any(change.params.get("on") for change in waiting)
        scheduled_changes.cancel_for(session, req)
        line = session.get(Line, req.line_id)
        if started and expected_service(session, line, Service.roaming):
            provisioning.request_change(
                session, actor, line, "set_service", {"service": "roaming", "on": False}
            )
    audit.record(
        session,
        actor,
        "selfservice.cancelled",
        customer_id=req.customer_id,
        object_type="line",
        object_id=req.line_id,
        after={"request": req.id},
    )
    session.flush()
    return req


# --- reading --------------------------------------------------------------------------------


def requests_of_line(session: Session, line_id: int, limit: int = 20) -> list[SelfServiceRequest]:
    return list(
        session.scalars(
            select(SelfServiceRequest)
            .where(SelfServiceRequest.line_id == line_id)
            .order_by(SelfServiceRequest.id.desc())
            .limit(limit)
        )
    )
