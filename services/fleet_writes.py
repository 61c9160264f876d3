"""Writing changes to many lines at once, set-based: per chunk of ids one INSERT … SELECT
for the audit events (and the provisioning requests) and one UPDATE, whatever the number of
lines. The JSON of an event's before/after is built by the database (json_build_object on
PostgreSQL, json_object on SQLite), so 50,000 lines do not make 50,000 Python dicts.

Callers (``services.fleet_changes``) decide which lines change; these functions only write.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, cast, func, insert, literal, null, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement

from models import AuditEvent, Line, ProvisioningRequest, RequestStatus
from models.base import utcnow
from services import provisioning
from services.audit import Actor

CHUNK = 1000


def _json(dialect: str, **pairs):
    """A JSON object built in SQL from (key, SQL expression or plain value) pairs."""
    args = []
    for key, value in pairs.items():
        if isinstance(value, bool) and dialect == "sqlite":
            value = func.json(literal("true" if value else "false"))  # not 1/0
        elif value is None:
            value = null()
        elif not isinstance(value, ClauseElement) and not hasattr(value, "__clause_element__"):
            value = literal(value)
        args += [literal(key), value]
    return (func.json_build_object if dialect == "postgresql" else func.json_object)(*args)


def _audit_select(actor: Actor, customer_id: int, action: str, object_id, before, after):
    """The columns of an audit event, for INSERT … SELECT."""
    table = AuditEvent.__table__
    return [
        literal(utcnow(), table.c.created_at.type),
        literal(actor.kind),
        literal(actor.id, Integer),
        literal(actor.label),
        literal(actor.address, String),
        literal(customer_id),
        literal(action),
        literal("line"),
        object_id,
        before,
        after,
    ]


AUDIT_COLUMNS = (
    "created_at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "address",
    "customer_id",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
)
REQUEST_COLUMNS = (
    "customer_id",
    "line_id",
    "action",
    "params",
    "status",
    "attempts",
    "requested_by",
    "created_at",
    "updated_at",
)


def update_lines(
    session: Session,
    actor: Actor,
    customer_id: int,
    ids: list[int],
    column: str,
    values: dict,
    action: str,
) -> None:
    """Set ``values`` on the lines; one audit event each with ``column`` before and after (the
    old value read by the database)."""
    dialect = session.get_bind().dialect.name
    new = values[column]
    old = getattr(Line, column)
    if column == "monthly_limit":  # kept as text, as "150.00"
        old, new = cast(old, String), None if new is None else str(new)
    table = AuditEvent.__table__
    for chunk in chunks(ids, CHUNK):
        events = select(
            *_audit_select(
                actor,
                customer_id,
                action,
                Line.id,
                _json(dialect, **{column: old}),
                _json(dialect, **{column: new}),
            )
        ).where(Line.id.in_(chunk))
        session.execute(insert(table).from_select(AUDIT_COLUMNS, events))
        session.execute(
            update(Line)
            .where(Line.id.in_(chunk))
            .values(**values, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    session.expire_all()


def add_requests(
    session: Session, actor: Actor, customer_id: int, ids: list[int], action: str, params: dict
) -> None:
    """One provisioning request per line (acknowledged), audited, enqueued after the commit."""
    dialect = session.get_bind().dialect.name
    now = utcnow()
    pr = ProvisioningRequest.__table__
    for chunk in chunks(ids, CHUNK):
        requests = select(
            literal(customer_id),
            Line.id,
            literal(action),
            literal(params, pr.c.params.type),
            literal(RequestStatus.acknowledged.value),
            literal(0),
            literal(actor.label),
            literal(now, pr.c.created_at.type),
            literal(now, pr.c.updated_at.type),
        ).where(Line.id.in_(chunk))
        made = session.scalars(
            insert(pr).from_select(REQUEST_COLUMNS, requests).returning(pr.c.id)
        ).all()
        events = select(
            *_audit_select(
                actor,
                customer_id,
                f"provisioning.{action}",
                pr.c.line_id,
                null(),
                _json(dialect, request=pr.c.id, **params),
            )
        ).where(pr.c.id.in_(made))
        session.execute(insert(AuditEvent.__table__).from_select(AUDIT_COLUMNS, events))
    provisioning.enqueue_lines(session, ids)


def chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]
