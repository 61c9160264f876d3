"""Recording audit events. Every service that changes something calls ``record``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where. Built by the web layer or a job, passed to services."""

    kind: str  # portal | staff | system
    id: int | None
    label: str
    address: str | None = None

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls("system", None, label)


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    customer_id: int | None = None,
    obj=None,
    object_type: str | None = None,
    object_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or type(obj).__tablename__
        object_id = object_id if object_id is not None else obj.id
    event = AuditEvent(
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        address=actor.address,
        customer_id=customer_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
    )
    session.add(event)
    return event
