"""Names the fleet pages show for states, services, columns and audit actions (lazy strings:
translated when shown)."""

from __future__ import annotations

from flask_babel import gettext, lazy_pgettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

STATUS_LABELS = {
    "pendingActive": _l("Pending activation"),
    "active": lazy_pgettext("line status", "Active"),
    "suspended": _l("Suspended"),
    "pendingTerminate": _l("Pending termination"),
    "terminated": _l("Terminated"),
}
STATUS_BADGES = {
    "pendingActive": "text-bg-info",
    "active": "text-bg-success",
    "suspended": "text-bg-warning",
    "pendingTerminate": "text-bg-secondary",
    "terminated": "text-bg-dark",
}

SERVICE_LABELS = {
    "roaming": _l("Roaming"),
    "data": _l("Mobile data"),
    "intl_calls": _l("International calls"),
    "premium_barring": _l("Premium-rate barring"),
    "location": _l("Location service"),
}
SERVICE_ICONS = {
    "roaming": "bi-globe2",
    "data": "bi-reception-4",
    "intl_calls": "bi-telephone-outbound",
    "premium_barring": "bi-shield-lock",
    "location": "bi-geo-alt",
}

REQUEST_STATUS_LABELS = {
    "acknowledged": _l("Waiting"),
    "inProgress": _l("In progress"),
    "completed": _l("Confirmed"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
}

# key -> (heading, sort key or None). "msisdn" is always shown: it links to the line.
COLUMNS = {
    "msisdn": (_l("Number"), "msisdn"),
    "employee": (_l("Employee"), "employee"),
    "position": (_l("Position"), "position"),
    "unit": (_l("Unit"), "unit"),
    "cost_centre": (_l("Cost centre"), "cost_centre"),
    "tariff": (_l("Tariff plan"), "tariff"),
    "status": (_l("Status"), "status"),
    "services": (_l("Services"), None),
    "handset": (_l("Handset"), "handset"),
    "imei": (_l("IMEI"), "imei"),
    "iccid": (_l("ICCID"), "iccid"),
    "limit": (_l("Monthly limit"), "limit"),
}
DEFAULT_COLUMNS = ("msisdn", "employee", "unit", "tariff", "status", "services", "handset")

# What each kind of change is called in forms.
ACTION_LABELS = {
    "move": _l("Move to another unit"),
    "assign": _l("Assign an employee"),
    "assign_new": _l("Assign a new employee"),
    "unassign": _l("Unassign the employee"),
    "tariff": _l("Change the tariff plan"),
    "suspend": _l("Suspend"),
    "resume": _l("Resume"),
    "service": _l("Turn a service on or off"),
    "limit": _l("Set the monthly limit"),
}

# Audit actions recorded on a line, as the history shows them.
HISTORY_ACTIONS = {
    "line.moved": _l("Moved to another unit"),
    "line.employee_assigned": _l("Employee assigned"),
    "line.employee_unassigned": _l("Employee unassigned"),
    "line.limit_changed": _l("Monthly limit changed"),
    "provisioning.change_tariff": _l("Tariff change requested"),
    "provisioning.change_tariff.confirmed": _l("Tariff change confirmed by the network"),
    "provisioning.change_tariff.failed": _l("Tariff change failed"),
    "provisioning.suspend": _l("Suspension requested"),
    "provisioning.suspend.confirmed": _l("Suspension confirmed by the network"),
    "provisioning.suspend.failed": _l("Suspension failed"),
    "provisioning.resume": _l("Reactivation requested"),
    "provisioning.resume.confirmed": _l("Reactivation confirmed by the network"),
    "provisioning.resume.failed": _l("Reactivation failed"),
    "provisioning.set_service": _l("Service change requested"),
    "provisioning.set_service.confirmed": _l("Service change confirmed by the network"),
    "provisioning.set_service.failed": _l("Service change failed"),
    "provisioning.activate": _l("Activation requested"),
    "provisioning.activate.confirmed": _l("Activation confirmed by the network"),
    "provisioning.activate.failed": _l("Activation failed"),
    "provisioning.terminate": _l("Termination requested"),
    "provisioning.terminate.confirmed": _l("Termination confirmed by the network"),
    "provisioning.terminate.failed": _l("Termination failed"),
}

# Names of the values an audit event may carry (before/after).
FIELD_LABELS = {
    "unit_id": _l("Unit"),
    "employee_id": _l("Employee"),
    "tariff_id": _l("Tariff plan"),
    "monthly_limit": _l("Monthly limit"),
    "status": _l("Status"),
    "request": _l("Request"),
    "reason": _l("Reason"),
}


def row_snippets() -> dict:
    """Pieces of the list's rows that repeat on every row, written once per page: the status
    badge of each status and the icon of each service on and off (a row without a pending
    change only picks them)."""
    on, off = gettext("on"), gettext("off")
    status_html = {
        key: Markup('<span class="badge {}">{}</span>').format(
            STATUS_BADGES.get(key, "text-bg-light"), label
        )
        for key, label in STATUS_LABELS.items()
    }
    icon = Markup(
        '<i class="bi {icon} svc {cls}" title="{label}: {state}" aria-hidden="true"></i>'
        '<span class="visually-hidden">{label}: {state};</span>'
    )
    svc_html = [
        (
            f"svc_{key}",
            {
                value: icon.format(
                    icon=SERVICE_ICONS[key],
                    cls="svc-on" if value else "svc-off",
                    label=label,
                    state=on if value else off,
                )
                for value in (True, False)
            },
        )
        for key, label in SERVICE_LABELS.items()
    ]
    combos: dict[tuple, Markup] = {}

    def services_html(line) -> Markup:
        """The service icons of a line (32 combinations, each written once)."""
        states = tuple(getattr(line, name) for name, _icons in svc_html)
        html = combos.get(states)
        if html is None:
            parts = (by_state[on] for (_n, by_state), on in zip(svc_html, states, strict=True))
            html = Markup('<span class="svc-icons">{}</span>').format(Markup("").join(parts))
            combos[states] = html
        return html

    return {
        "status_html": status_html,
        "services_html": services_html,
        "txt_unassigned": gettext("unassigned"),
        "txt_pending": gettext("pending"),
        "txt_select": gettext("Select %(number)s"),
    }
