"""A line's history: its audit events in words a fleet administrator reads.

Ids in the events' before/after (unit, employee, tariff) are shown by name, loaded for the
whole page of events at once; services, statuses and limits are spelled out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.web import money
from models import AuditEvent, Employee, OrgUnit, TariffPlan
from portal.fleet.labels import FIELD_LABELS, HISTORY_ACTIONS, SERVICE_LABELS, STATUS_LABELS

NAMED = {"unit_id": OrgUnit, "employee_id": Employee, "tariff_id": TariffPlan}


@dataclass
class Entry:
    event: AuditEvent
    what: str
    who: str
    # (label, before or None, after or None), already as text
    details: list[tuple[str, str | None, str | None]] = field(default_factory=list)


def describe(session: Session, customer_id: int, events: list[AuditEvent]) -> list[Entry]:
    names = _names(session, customer_id, events)
    return [_entry(e, names) for e in events]


def _names(session: Session, customer_id: int, events: list[AuditEvent]) -> dict:
    wanted: dict[str, set[int]] = {key: set() for key in NAMED}
    for e in events:
        for side in (e.before or {}, e.after or {}):
            for key in NAMED:
                if isinstance(side.get(key), int):
                    wanted[key].add(side[key])
    names: dict[str, dict[int, str]] = {}
    for key, model in NAMED.items():
        if not wanted[key]:
            names[key] = {}
            continue
        label = model.full_name if model is Employee else model.name
        query = select(model.id, label).where(model.id.in_(wanted[key]))
        if model is not TariffPlan:  # tariffs are the operator's; units, people the customer's
            query = query.where(model.customer_id == customer_id)
        names[key] = dict(session.execute(query).all())
    return names


def _entry(e: AuditEvent, names: dict) -> Entry:
    what = HISTORY_ACTIONS.get(e.action)
    who = _("Network") if e.actor_kind == "system" else e.actor_label
    entry = Entry(event=e, what=str(what) if what else e.action, who=who)
    before, after = e.before or {}, e.after or {}
    if "service" in after and "on" in after:  # a service change request
        service = SERVICE_LABELS.get(after["service"], after["service"])
        entry.details.append((str(service), None, _on_off(after["on"])))
    for key in [k for k in after if k not in ("service", "on")] + [
        k for k in before if k not in after
    ]:
        old, new = before.get(key), after.get(key)
        if key in before and old == new:
            continue  # unchanged part of a snapshot
        entry.details.append(
            (
                _label(key),
                _value(key, old, names) if key in before else None,
                _value(key, new, names) if key in after else None,
            )
        )
    return entry


def _label(key: str) -> str:
    if key.startswith("svc_"):
        return str(SERVICE_LABELS.get(key[4:], key))
    return str(FIELD_LABELS.get(key, key))


def _on_off(value) -> str:
    return _("on") if value else _("off")


def _value(key: str, value, names: dict) -> str:
    if key in NAMED:
        if value is None:
            return _("none")
        return names[key].get(value) or _("(deleted, no. %(id)s)", id=value)
    if key.startswith("svc_"):
        return _on_off(value)
    if key == "status":
        return str(STATUS_LABELS.get(value, value))
    if key == "monthly_limit":
        try:
            return money(Decimal(value)) if value not in (None, "None") else _("no limit")
        except InvalidOperation:
            return str(value)
    if key == "request":
        return _("no. %(id)s", id=value)
    return "—" if value is None else str(value)
