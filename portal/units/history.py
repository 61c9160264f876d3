"""The recent history of a unit, read from the audit trail, ready for the unit's page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.web import db
from models import AuditEvent, OrgUnit, PortalUser
from portal import scope
from services import orgtree

HISTORY_LIMIT = 20


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    action: str  # unit.created, unit.updated, unit.moved, …
    actor_kind: str  # portal | staff | system
    who: str
    who_detail: str  # the e-mail behind a name, for the title attribute
    before: dict
    after: dict
    # For a move: the old and new parent as paths of names; None when the user may not see it
    # or it no longer exists.
    from_path: list[str] | None = None
    to_path: list[str] | None = None


def unit_history(user: PortalUser, unit: OrgUnit) -> list[HistoryEntry]:
    """Newest first: events about this unit, of this customer, with people's names."""
    events = list(
        db().scalars(
            select(AuditEvent)
            .where(
                AuditEvent.customer_id == user.customer_id,
                AuditEvent.object_type == "org_unit",
                AuditEvent.object_id == unit.id,
            )
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(HISTORY_LIMIT)
        )
    )
    people = _portal_names(user, {e.actor_id for e in events if e.actor_kind == "portal"})
    parents = _visible_paths(
        user,
        {
            side.get("parent_id")
            for e in events
            if e.action == "unit.moved"
            for side in (e.before or {}, e.after or {})
        },
    )
    entries = []
    for e in events:
        before, after = e.before or {}, e.after or {}
        who = people.get(e.actor_id, e.actor_label) if e.actor_kind == "portal" else e.actor_label
        entries.append(
            HistoryEntry(
                when=e.created_at,
                action=e.action,
                actor_kind=e.actor_kind,
                who=who,
                who_detail=e.actor_label,
                before=before,
                after=after,
                from_path=parents.get(before.get("parent_id")),
                to_path=parents.get(after.get("parent_id")),
            )
        )
    return entries


def _portal_names(user: PortalUser, ids: set) -> dict[int, str]:
    ids.discard(None)
    if not ids:
        return {}
    rows = db().execute(
        select(PortalUser.id, PortalUser.full_name).where(
            PortalUser.id.in_(ids), PortalUser.customer_id == user.customer_id
        )
    )
    return dict(rows.all())


def _visible_paths(user: PortalUser, ids: set) -> dict[int, list[str]]:
    """Each unit's path of names, from the top of what the user may see."""
    ids.discard(None)
    if not ids:
        return {}
    found = list(db().scalars(scope.units(user).where(OrgUnit.id.in_(ids))))
    chain_ids = {int(i) for u in found for i in u.path.strip("/").split("/")}
    by_id = {u.id: u for u in db().scalars(scope.units(user).where(OrgUnit.id.in_(chain_ids)))}
    return {u.id: [a.name for a in orgtree.trail(u, by_id)] for u in found}
