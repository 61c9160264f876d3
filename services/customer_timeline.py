"""One chronological list of everything that happened with a customer: notes, audit events with
its customer id, and e-mail sent to it. Newest first, paged with a cursor.

Each source is read with its own index (newest first, at most one page past the cursor) and
the three are merged here, so a page costs three short index scans however long the history.
Audit rows written in bulk (one operation on 5,000 lines: same time, action and actor) read as
one entry with a count.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from models import AuditEvent, CustomerNote, OutgoingMail, StaffUser

PAGE_SIZE = 30

# Kinds a user can filter by. Audit actions are grouped by their prefix.
EVENT_KINDS: dict[str, tuple[str, ...]] = {
    "records": ("customer.", "customer_address.", "contact.", "unit.", "employee.", "phonebook."),
    "contracts": ("contract.",),
    "orders": ("order.",),
    "service": ("provisioning.", "line.", "ticket.", "service_request."),
    "users": ("portal_user.",),
    "signins": ("portal.login",),
}
KINDS = ("notes", "mail", *EVENT_KINDS)
# Shown as the note itself, never as an event; sign-ins only when asked for (there are many).
HIDDEN_PREFIXES = ("customer_note.",)
NOT_IN_ALL = ("signins",)

# Order of sources among entries with the same time (the cursor needs a total order).
_RANK = {"event": 0, "mail": 1, "note": 2}


@dataclass
class Entry:
    source: str  # note | mail | event
    id: int
    created_at: datetime
    note: CustomerNote | None = None
    mail: OutgoingMail | None = None
    event: AuditEvent | None = None
    count: int = 1  # audit rows this entry stands for
    author: str | None = None

    @property
    def kind(self) -> str:
        if self.source == "note":
            return "notes"
        if self.source == "mail":
            return "mail"
        return event_kind(self.event.action)

    @property
    def key(self) -> tuple:
        return (self.created_at, _RANK[self.source], self.id)


@dataclass
class Page:
    entries: list[Entry]
    next_cursor: str | None


def event_kind(action: str) -> str:
    for kind, prefixes in EVENT_KINDS.items():
        if action.startswith(prefixes):
            return kind
    return "other"


def encode_cursor(entry: Entry) -> str:
    raw = json.dumps([entry.created_at.isoformat(), _RANK[entry.source], entry.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str | None) -> tuple[datetime, int, int] | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        when, rank, ident = json.loads(raw)
        when = datetime.fromisoformat(when)
        if when.tzinfo is None or rank not in _RANK.values():
            return None
        return when, int(rank), int(ident)
    except (ValueError, TypeError):
        return None


def _before(cursor, rank: int, created_col, id_col):
    """Rows of a source with ``rank`` that sort after the cursor (older)."""
    if cursor is None:
        return None
    when, c_rank, c_id = cursor
    if rank < c_rank:
        return created_col <= when
    if rank > c_rank:
        return created_col < when
    return or_(created_col < when, and_(created_col == when, id_col < c_id))


def _notes(session: Session, customer_id: int, cursor, limit: int) -> list[Entry]:
    q = (
        select(CustomerNote, StaffUser.full_name)
        .outerjoin(StaffUser, StaffUser.id == CustomerNote.staff_user_id)
        .where(CustomerNote.customer_id == customer_id)
    )
    cond = _before(cursor, _RANK["note"], CustomerNote.created_at, CustomerNote.id)
    if cond is not None:
        q = q.where(cond)
    q = q.order_by(CustomerNote.created_at.desc(), CustomerNote.id.desc()).limit(limit)
    return [
        Entry("note", n.id, n.created_at, note=n, author=name) for n, name in session.execute(q)
    ]


def _mails(session: Session, customer_id: int, cursor, limit: int) -> list[Entry]:
    q = (
        select(OutgoingMail, StaffUser.full_name)
        .outerjoin(StaffUser, StaffUser.id == OutgoingMail.staff_user_id)
        .where(OutgoingMail.customer_id == customer_id)
    )
    cond = _before(cursor, _RANK["mail"], OutgoingMail.created_at, OutgoingMail.id)
    if cond is not None:
        q = q.where(cond)
    q = q.order_by(OutgoingMail.created_at.desc(), OutgoingMail.id.desc()).limit(limit)
    return [
        Entry("mail", m.id, m.created_at, mail=m, author=name) for m, name in session.execute(q)
    ]


def _event_filter(customer_id: int, kind: str | None) -> list:
    conditions = [AuditEvent.customer_id == customer_id]
    conditions += [~AuditEvent.action.startswith(p, autoescape=True) for p in HIDDEN_PREFIXES]
    if kind is not None:
        conditions.append(
            or_(*(AuditEvent.action.startswith(p, autoescape=True) for p in EVENT_KINDS[kind]))
        )
    else:
        conditions += [
            ~AuditEvent.action.startswith(p, autoescape=True)
            for hidden in NOT_IN_ALL
            for p in EVENT_KINDS[hidden]
        ]
    return conditions


def _events(
    session: Session, customer_id: int, kind: str | None, cursor, limit: int
) -> list[Entry]:
    """Audit rows grouped by (time, action, actor): a bulk operation is one entry.

    First the newest ``limit + 1`` distinct times past the cursor (an index range scan that
    stops early), then the grouping over that window only: each time holds at least one
    group, so the window holds enough, and the cost does not grow with the history.
    """
    where = _event_filter(customer_id, kind)
    if cursor is not None:
        where.append(AuditEvent.created_at <= cursor[0])
    times = session.scalars(
        select(AuditEvent.created_at)
        .where(*where)
        .distinct()
        .order_by(AuditEvent.created_at.desc())
        .limit(limit + 1)
    ).all()
    if not times:
        return []
    last_id = func.max(AuditEvent.id).label("last_id")
    q = select(last_id, func.count().label("n")).where(*where, AuditEvent.created_at >= times[-1])
    if cursor is not None and cursor[1] <= _RANK["event"]:
        when, _rank, c_id = cursor
        q = q.having(or_(AuditEvent.created_at < when, last_id < c_id))
    q = (
        q.group_by(
            AuditEvent.created_at,
            AuditEvent.action,
            AuditEvent.actor_kind,
            AuditEvent.actor_id,
            AuditEvent.actor_label,
        )
        .order_by(AuditEvent.created_at.desc(), last_id.desc())
        .limit(limit)
    )
    groups = session.execute(q).all()
    if not groups:
        return []
    events = {
        e.id: e
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.id.in_([g[0] for g in groups]))
        )
    }
    return [
        Entry(
            "event", i, events[i].created_at, event=events[i], count=n, author=events[i].actor_label
        )
        for i, n in groups
    ]


def page(
    session: Session,
    customer_id: int,
    kind: str | None = None,
    cursor: str | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of the timeline; ``kind`` one of ``KINDS`` or None for everything (except
    sign-ins); ``cursor`` from the previous page's ``next_cursor``."""
    if kind is not None and kind not in KINDS:
        kind = None
    at = decode_cursor(cursor)
    entries: list[Entry] = []
    if kind in (None, "notes"):
        entries += _notes(session, customer_id, at, size + 1)
    if kind in (None, "mail"):
        entries += _mails(session, customer_id, at, size + 1)
    if kind is None or kind in EVENT_KINDS:
        entries += _events(session, customer_id, kind, at, size + 1)
    entries.sort(key=lambda e: e.key, reverse=True)
    more = len(entries) > size
    entries = entries[:size]
    return Page(entries, encode_cursor(entries[-1]) if more and entries else None)
