"""An order's history: its audit events in words a fleet administrator reads. Positions are
named by their number on the order page (1, 2, …), states by their names."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from core.web import money
from models import AuditEvent
from portal.orders.labels import HISTORY_ACTIONS, ORDER_STATE_LABELS, SYSTEM_ACTORS


@dataclass
class Entry:
    event: AuditEvent
    what: str
    who: str
    details: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    change: tuple[str, str] | None = None  # (state before, state after)


def _amount(value) -> str:
    try:
        return money(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def _state(value) -> str:
    return str(ORDER_STATE_LABELS.get(value, value))


def describe(events: list[AuditEvent], positions: dict[int, int]) -> list[Entry]:
    """``positions``: order line id -> its number on the page."""
    return [_entry(e, positions) for e in events]


def _entry(e: AuditEvent, positions: dict[int, int]) -> Entry:
    label = HISTORY_ACTIONS.get(e.action)
    if e.actor_kind == "system":
        who = str(SYSTEM_ACTORS.get(e.actor_label, SYSTEM_ACTORS["orders"]))
    else:
        who = e.actor_label
    entry = Entry(e, str(label) if label else e.action, who)
    before, after = e.before or {}, e.after or {}
    if "line" in after:
        number = positions.get(after["line"])
        entry.details.append((_("Item"), str(number) if number else "—"))
    if e.action == "order.placed":
        entry.details.append((_("Value, net"), _amount(after.get("total_net", "0"))))
        entry.details.append((_("Positions"), str(after.get("lines", "—"))))
    elif e.action == "order.state_changed":
        entry.change = (_state(before.get("state")), _state(after.get("state")))
        if after.get("threshold"):
            entry.details.append((_("Approval threshold, net"), _amount(after["threshold"])))
    elif e.action == "order.line_allocated":
        units = str(after.get("quantity", "—"))
        if after.get("complete"):
            units = _("%(units)s — the position is fully allocated", units=units)
        entry.details.append((_("Pieces"), units))
    elif e.action == "order.line_cancelled" and after.get("returned"):
        entry.details.append((_("Units returned to stock"), str(after["returned"])))
    if after.get("reason"):
        entry.details.append((_("Reason"), str(after["reason"])))
    return entry
