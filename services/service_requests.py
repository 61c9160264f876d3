"""Service requests: opening one, moving it through its states, notes, and finding them.

When a request is opened its deadline is fixed: ``opened_at`` plus the service-level hours of
the customer's contract version in force that day (in Warsaw) — the repair time for a repair,
the response time for anything else. Without an active contract, or a contract that leaves
the term empty, the operator's standard terms apply (``STANDARD_HOURS``). The hours are clock
hours, 24/7: the deadline is an instant stored in UTC, so a change of summer time in Warsaw
neither adds nor removes an hour. A later amendment does not move the deadline of a request
already opened.

The state rules are ``SERVICE_REQUEST_TRANSITIONS`` next to the model. Every change is audited
with the customer's id (``service_request.*``), so it appears on the customer's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import (
    SERVICE_REQUEST_OPEN_STATES,
    SERVICE_REQUEST_TRANSITIONS,
    Customer,
    Line,
    PortalUser,
    ServiceRequest,
    ServiceRequestCategory,
    ServiceRequestNote,
    ServiceRequestState,
)
from models.base import utcnow
from services import ServiceError, audit
from services.audit import Actor
from services.contract_versions import BUSINESS_TZ, active_contract, version_in_force
from services.fleet import FleetScope, normalise_msisdn, scope_conditions

SUBJECT_MAX = 200
DESCRIPTION_MAX = 5000
NOTE_MAX = 5000
# The operator's standard terms, for customers whose contract says nothing (or who have none).
STANDARD_HOURS = {"repair": 72, "response": 48}


@dataclass(frozen=True)
class Deadline:
    hours: int
    source: str  # contract | standard
    term: str  # repair | response


def term_for(category: ServiceRequestCategory) -> str:
    return "repair" if category == ServiceRequestCategory.repair else "response"


def deadline_for(
    session: Session, customer_id: int, category: ServiceRequestCategory, opened_at: datetime
) -> Deadline:
    """The service-level hours that apply to a request of ``category`` opened at ``opened_at``."""
    term = term_for(category)
    contract = active_contract(session, customer_id)
    if contract is not None:
        version = version_in_force(session, contract, opened_at.astimezone(BUSINESS_TZ).date())
        if version is not None:
            hours = version.repair_time_hours if term == "repair" else version.response_time_hours
            if hours:
                return Deadline(hours, "contract", term)
    return Deadline(STANDARD_HOURS[term], "standard", term)


# --- checks ---------------------------------------------------------------------------------


def check_category(value) -> ServiceRequestCategory:
    try:
        return ServiceRequestCategory(value)
    except ValueError:
        raise ServiceError(_l("Choose what the request is about."), field="category") from None


def check_subject(value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(_l("Enter a subject."), field="subject")
    if len(value) > SUBJECT_MAX:
        raise ServiceError(
            _l("The subject may have at most %(max)d characters.", max=SUBJECT_MAX),
            field="subject",
        )
    return value


def check_text(value: str | None, field: str, maximum: int, empty_message) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(empty_message, field=field)
    if len(value) > maximum:
        raise ServiceError(
            _l("The text may have at most %(max)d characters.", max=maximum), field=field
        )
    return value


def find_line(session: Session, scope: FleetScope, raw_number: str | None) -> Line | None:
    """The line with this number among the lines ``scope`` allows; None for an empty number.
    A number outside the scope reads exactly like one that does not exist."""
    if not (raw_number or "").strip():
        return None
    msisdn = normalise_msisdn(raw_number)
    line = session.scalar(select(Line).where(*scope_conditions(scope), Line.msisdn == msisdn))
    if line is None:
        raise ServiceError(_l("This number is not one of the customer's lines."), field="msisdn")
    return line


# --- changes --------------------------------------------------------------------------------


def open_request(
    session: Session,
    actor: Actor,
    customer: Customer,
    *,
    category,
    subject: str | None,
    description: str | None,
    line: Line | None = None,
    now: datetime | None = None,
) -> ServiceRequest:
    """Open a request (acknowledged) with its deadline. ``line`` must already have been found
    within what the actor may see (``find_line``)."""
    category = check_category(category)
    subject = check_subject(subject)
    description = check_text(
        description, "description", DESCRIPTION_MAX, _l("Describe what happened.")
    )
    if line is not None and line.customer_id != customer.id:
        raise ServiceError(_l("This number is not one of the customer's lines."), field="msisdn")
    opened_at = now or utcnow()
    deadline = deadline_for(session, customer.id, category, opened_at)
    req = ServiceRequest(
        customer_id=customer.id,
        line_id=line.id if line else None,
        category=category,
        subject=subject,
        description=description,
        state=ServiceRequestState.acknowledged,
        opened_at=opened_at,
        due_at=opened_at + timedelta(hours=deadline.hours),
        sla_hours=deadline.hours,
        sla_source=deadline.source,
        opened_by_label=actor.label,
        opened_by_portal_user_id=actor.id if actor.kind == "portal" else None,
        opened_by_staff_id=actor.id if actor.kind == "staff" else None,
    )
    session.add(req)
    session.flush()
    audit.record(
        session,
        actor,
        "service_request.opened",
        customer_id=customer.id,
        obj=req,
        after={
            "number": req.number,
            "category": category.value,
            "subject": subject,
            "line_id": req.line_id,
            "due_at": req.due_at.isoformat(),
        },
    )
    session.flush()
    return req


def allowed_states(req: ServiceRequest) -> list[ServiceRequestState]:
    order = list(ServiceRequestState)
    return sorted(SERVICE_REQUEST_TRANSITIONS[req.state], key=order.index)


def change_state(
    session: Session,
    actor: Actor,
    req: ServiceRequest,
    new_state,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> ServiceRequest:
    """Move the request to ``new_state`` if the transition is allowed, with an optional note
    (shown to the customer). A stale form (someone changed the state meanwhile) is refused."""
    try:
        new_state = ServiceRequestState(new_state)
    except ValueError:
        raise ServiceError(_l("Choose the new state."), field="state") from None
    if new_state not in SERVICE_REQUEST_TRANSITIONS[req.state]:
        raise ServiceError(
            _l("The request cannot go from its present state to the one chosen."), field="state"
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ServiceError(
            _l("The text may have at most %(max)d characters.", max=NOTE_MAX), field="note"
        )
    now = now or utcnow()
    before = req.state
    req.state = new_state
    if new_state == ServiceRequestState.resolved:
        req.resolved_at = now
    elif new_state == ServiceRequestState.inProgress:
        req.resolved_at = None  # reopened
    if new_state in (ServiceRequestState.closed, ServiceRequestState.cancelled):
        req.closed_at = now
    session.add(
        ServiceRequestNote(
            request_id=req.id,
            author_kind=actor.kind,
            author_label=actor.label,
            body=note,
            internal=False,
            state_change=new_state.value,
            created_at=now,
        )
    )
    audit.record(
        session,
        actor,
        "service_request.state_changed",
        customer_id=req.customer_id,
        obj=req,
        before={"state": before.value},
        after={"state": new_state.value, "number": req.number, "late": req.due_at < now},
    )
    session.flush()
    return req


def add_note(
    session: Session, actor: Actor, req: ServiceRequest, body: str | None, *, internal: bool
) -> ServiceRequestNote:
    body = check_text(body, "body", NOTE_MAX, _l("Write the note."))
    if actor.kind == "portal" and internal:
        raise ServiceError(_l("Only the operator keeps internal notes."))
    note = ServiceRequestNote(
        request_id=req.id,
        author_kind=actor.kind,
        author_label=actor.label,
        body=body,
        internal=internal,
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        actor,
        "service_request.note_added",
        customer_id=req.customer_id,
        obj=req,
        after={"number": req.number, "internal": internal},
    )
    session.flush()
    return note


# --- reading --------------------------------------------------------------------------------


def notes(session: Session, req: ServiceRequest, *, include_internal: bool):
    q = select(ServiceRequestNote).where(ServiceRequestNote.request_id == req.id)
    if not include_internal:
        q = q.where(ServiceRequestNote.internal.is_(False))
    return list(session.scalars(q.order_by(ServiceRequestNote.id)))


def overdue_condition(now: datetime):
    return ServiceRequest.state.in_(SERVICE_REQUEST_OPEN_STATES) & (ServiceRequest.due_at < now)


def filtered(
    query: Select,
    *,
    state: str | None = None,
    overdue: bool = False,
    customer_id: int | None = None,
    now: datetime | None = None,
) -> Select:
    """``query`` (a select of ServiceRequest already limited to what the user may see) with
    the list's filters: a state, or "open"; only overdue ones; one customer."""
    if state == "open":
        query = query.where(ServiceRequest.state.in_(SERVICE_REQUEST_OPEN_STATES))
    elif state in ServiceRequestState.__members__:
        query = query.where(ServiceRequest.state == ServiceRequestState(state))
    if overdue:
        query = query.where(overdue_condition(now or utcnow()))
    if customer_id is not None:
        query = query.where(ServiceRequest.customer_id == customer_id)
    return query


def for_customers(customer_ids: Select) -> Select:
    return select(ServiceRequest).where(ServiceRequest.customer_id.in_(customer_ids))


def for_portal_user(user: PortalUser, scope: FleetScope) -> Select:
    """What a portal user sees: the whole company's requests, or — for an administrator
    limited to a part of the tree — the requests about lines in that part and those the user
    opened."""
    query = select(ServiceRequest).where(ServiceRequest.customer_id == user.customer_id)
    if scope.unit_path is None and scope.employee_id is None:
        return query
    lines = select(Line.id).where(*scope_conditions(scope))
    return query.where(
        ServiceRequest.line_id.in_(lines) | (ServiceRequest.opened_by_portal_user_id == user.id)
    )


def overdue_counts(session: Session, customer_ids: Select, now: datetime) -> dict[int, int]:
    """Open requests past their deadline, per customer: for the console's reports."""
    return dict(
        session.execute(
            select(ServiceRequest.customer_id, func.count())
            .where(ServiceRequest.customer_id.in_(customer_ids), overdue_condition(now))
            .group_by(ServiceRequest.customer_id)
        ).all()
    )


def open_counts(session: Session, customer_ids: Select) -> dict[int, int]:
    return dict(
        session.execute(
            select(ServiceRequest.customer_id, func.count())
            .where(
                ServiceRequest.customer_id.in_(customer_ids),
                ServiceRequest.state.in_(SERVICE_REQUEST_OPEN_STATES),
            )
            .group_by(ServiceRequest.customer_id)
        ).all()
    )


# --- words ----------------------------------------------------------------------------------

CATEGORY_LABELS = {
    ServiceRequestCategory.repair: _l("Repair"),
    ServiceRequestCategory.sim_replacement: _l("SIM card replacement"),
    ServiceRequestCategory.billing: _l("Billing question"),
    ServiceRequestCategory.other: _l("Other"),
}
STATE_LABELS = {
    ServiceRequestState.acknowledged: _l("New"),
    ServiceRequestState.inProgress: _l("In progress"),
    ServiceRequestState.resolved: _l("Resolved"),
    ServiceRequestState.closed: _l("Closed"),
    ServiceRequestState.cancelled: _l("Cancelled"),
}
