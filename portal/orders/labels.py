"""Names the order pages show for states, kinds of position and audit actions (lazy strings:
translated when shown). Order states are TM Forum ProductOrder states."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ORDER_STATE_LABELS = {
    "acknowledged": _l("Received"),
    "pending": _l("Awaiting approval"),
    "inProgress": _l("In progress"),
    "partial": _l("Partly fulfilled"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "failed": _l("Failed"),
}
ORDER_STATE_BADGES = {
    "acknowledged": "text-bg-light border",
    "pending": "text-bg-warning",
    "inProgress": "text-bg-info",
    "partial": "text-bg-primary",
    "completed": "text-bg-success",
    "cancelled": "text-bg-dark",
    "failed": "text-bg-danger",
}
# What the state filter of the list offers; "open" is every state not yet final.
OPEN_STATES = ("acknowledged", "pending", "inProgress", "partial")

LINE_STATE_LABELS = {
    "acknowledged": _l("Waiting for the order to go ahead"),
    "waiting": _l("In the queue"),
    "allocated": _l("Allocated, ready to ship"),
    "inProgress": _l("Being activated"),
    "completed": _l("Done"),
    "cancelled": _l("Cancelled"),
    "failed": _l("Failed"),
}
LINE_STATE_BADGES = {
    "acknowledged": "text-bg-light border",
    "waiting": "text-bg-warning",
    "allocated": "text-bg-info",
    "inProgress": "text-bg-info",
    "completed": "text-bg-success",
    "cancelled": "text-bg-dark",
    "failed": "text-bg-danger",
}
# An exchange or handset that is done has shipped; an activation that is done is live.
COMPLETED_LABELS = {
    "activation": _l("Activated"),
    "handset": _l("Shipped"),
    "accessory": _l("Shipped"),
    "exchange": _l("Shipped"),
}

KIND_LABELS = {
    "activation": _l("New line"),
    "handset": _l("Handset"),
    "accessory": _l("Accessory"),
    "exchange": _l("Handset exchange"),
}
KIND_ICONS = {
    "activation": "bi-sim",
    "handset": "bi-phone",
    "accessory": "bi-headphones",
    "exchange": "bi-arrow-left-right",
}

HISTORY_ACTIONS = {
    "order.placed": _l("Order placed"),
    "order.awaiting_approval": _l("Waiting for approval"),
    "order.approved": _l("Approved"),
    "order.rejected": _l("Rejected"),
    "order.released": _l("Order went ahead"),
    "order.state_changed": _l("State changed"),
    "order.line_allocated": _l("Stock allocated"),
    "order.line_cancelled": _l("Position cancelled"),
    "order.line_shipped": _l("Position shipped"),
    "order.line_activated": _l("New line activated"),
    "order.line_failed": _l("Position failed"),
}
SYSTEM_ACTORS = {
    "network": _l("Network"),
    "backorders": _l("Back-order queue"),
    "orders": _l("System"),
}


def template_helpers() -> dict:
    """What the shop and order templates use (each blueprint's own context processor)."""
    from flask_babel import format_date

    from services.fleet import format_msisdn

    return {
        "ORDER_STATE_LABELS": ORDER_STATE_LABELS,
        "ORDER_STATE_BADGES": ORDER_STATE_BADGES,
        "LINE_STATE_LABELS": LINE_STATE_LABELS,
        "LINE_STATE_BADGES": LINE_STATE_BADGES,
        "COMPLETED_LABELS": COMPLETED_LABELS,
        "KIND_LABELS": KIND_LABELS,
        "KIND_ICONS": KIND_ICONS,
        "format_msisdn": format_msisdn,
        "format_day": lambda value: format_date(value, "medium") if value else "—",
    }
