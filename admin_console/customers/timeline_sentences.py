"""The sentences of the customer's timeline: one per audit action, in the current language.

``TEXTS`` maps an action to an icon and a function of (after, before, object label, count)
giving the sentence, or the sentence and lines of detail. Used by timeline_text.describe.
"""

from __future__ import annotations

from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _

from core.web import money
from services.service_requests import STATE_LABELS as SERVICE_REQUEST_STATES


def _field_labels() -> dict[str, str]:
    return {
        "name": _("company name"),
        "nip": "NIP",
        "regon": "REGON",
        "krs": "KRS",
        "street": _("street"),
        "postal_code": _("postal code"),
        "city": _("town"),
        "email": _("e-mail"),
        "phone": _("phone"),
    }


def portal_role(value) -> str:
    return {
        "fleet_admin": _("fleet administrator"),
        "viewer": _("viewer"),
        "employee": _("employee"),
    }.get(str(value), str(value))


def contact_role(value) -> str:
    return {
        "decision_maker": _("decision maker"),
        "fleet_admin": _("fleet administrator"),
        "finance": _("finance"),
        "technical": _("technical"),
        "other": _("other"),
    }.get(str(value), str(value))


def address_kind(value) -> str:
    return {
        "correspondence": _("Correspondence address"),
        "invoice": _("Invoice address"),
        "delivery": _("Delivery address"),
    }.get(str(value), str(value))


def _network_action(value: str) -> str:
    return {
        "set_service": _("service change"),
        "change_tariff": _("tariff change"),
        "suspend": _("suspension"),
        "resume": _("resumption"),
        "activate": _("activation"),
        "terminate": _("termination"),
    }.get(value, value.replace("_", " "))


def order_state(value) -> str:
    return {
        "acknowledged": _("received"),
        "pending": _("waiting for approval"),
        "inProgress": _("in progress"),
        "partial": _("partly delivered"),
        "completed": _("completed"),
        "cancelled": _("cancelled"),
        "failed": _("failed"),
    }.get(str(value), str(value))


def service_request_state(value) -> str:
    return str(SERVICE_REQUEST_STATES.get(value, value)) if value else "—"


def _customer_updated(a, b, obj, n):
    labels = _field_labels()
    details = [
        f"{labels.get(k, k)}: {b.get(k) or '—'} → {a.get(k) or '—'}" for k in a if k in labels
    ]
    return _("Company data changed"), details


# action -> (icon, function(after, before, object label, count) -> sentence or (sentence, details))
TEXTS = {
    "customer.created": ("bi-building-add", lambda a, b, o, n: _("Customer record created")),
    "customer.updated": ("bi-pencil-square", _customer_updated),
    "customer.manager_changed": (
        "bi-person-badge",
        lambda a, b, o, n: _(
            "Account manager changed: %(before)s → %(after)s",
            before=b.get("manager") or _("nobody"),
            after=a.get("manager") or _("nobody"),
        ),
    ),
    "customer_address.added": (
        "bi-geo-alt",
        lambda a, b, o, n: _(
            "%(kind)s added: %(address)s",
            kind=address_kind(a.get("kind")),
            address=a.get("address"),
        ),
    ),
    "customer_address.updated": (
        "bi-geo-alt",
        lambda a, b, o, n: (
            _(
                "%(kind)s changed: %(address)s",
                kind=address_kind(a.get("kind")),
                address=a.get("address"),
            ),
            [_("before: %(address)s", address=b.get("address"))],
        ),
    ),
    "customer_address.deleted": (
        "bi-geo-alt",
        lambda a, b, o, n: _(
            "%(kind)s deleted: %(address)s",
            kind=address_kind(b.get("kind")),
            address=b.get("address"),
        ),
    ),
    "contact.added": (
        "bi-person-plus",
        lambda a, b, o, n: _(
            "Contact added: %(name)s (%(role)s)",
            name=a.get("name"),
            role=contact_role(a.get("role")),
        ),
    ),
    "contact.updated": (
        "bi-person-lines-fill",
        lambda a, b, o, n: _("Contact changed: %(name)s", name=a.get("name")),
    ),
    "contact.deleted": (
        "bi-person-dash",
        lambda a, b, o, n: _("Contact deleted: %(name)s", name=b.get("name")),
    ),
    "portal_user.invited": (
        "bi-envelope-plus",
        lambda a, b, o, n: _(
            "%(name)s invited to the portal as %(role)s (%(email)s)",
            name=a.get("name") or o,
            role=portal_role(a.get("role")),
            email=a.get("email"),
        ),
    ),
    "portal_user.invitation_resent": (
        "bi-envelope-arrow-up",
        lambda a, b, o, n: _("Invitation sent again to %(name)s", name=o or a.get("email")),
    ),
    "portal_user.reset_sent": (
        "bi-key",
        lambda a, b, o, n: _("Password reset link sent to %(name)s", name=o or a.get("email")),
    ),
    "portal_user.password_set": (
        "bi-key-fill",
        lambda a, b, o, n: (
            _("%(name)s accepted the invitation and set a password", name=o)
            if a.get("via") == "invite"
            else _("%(name)s set a new password", name=o)
        ),
    ),
    "portal_user.locked": (
        "bi-lock",
        lambda a, b, o, n: _("Portal access of %(name)s locked", name=o or a.get("email")),
    ),
    "portal_user.unlocked": (
        "bi-unlock",
        lambda a, b, o, n: _("Portal access of %(name)s unlocked", name=o or a.get("email")),
    ),
    "portal_user.access_changed": (
        "bi-person-gear",
        lambda a, b, o, n: _("Access of %(name)s changed", name=a.get("name") or o),
    ),
    "portal.login": (
        "bi-box-arrow-in-right",
        lambda a, b, o, n: _("%(name)s signed in to the portal", name=o),
    ),
    "portal.login_failed": (
        "bi-shield-exclamation",
        lambda a, b, o, n: _("Failed sign-in attempt for %(name)s", name=o),
    ),
    "contract.created": (
        "bi-file-earmark-plus",
        lambda a, b, o, n: _("Contract %(number)s drafted", number=a.get("number") or o),
    ),
    "contract.terms_changed": (
        "bi-file-earmark-text",
        lambda a, b, o, n: _("Terms of contract %(number)s changed", number=o),
    ),
    "contract.item_set": (
        "bi-tag",
        lambda a, b, o, n: _("Individual price set in contract %(number)s", number=o),
    ),
    "contract.item_removed": (
        "bi-tag",
        lambda a, b, o, n: _("Individual price removed from contract %(number)s", number=o),
    ),
    "order.placed": (
        "bi-cart-plus",
        lambda a, b, o, n: _(
            "Order %(number)s placed, %(total)s net",
            number=a.get("number") or o,
            total=money(a.get("total_net") or 0),
        ),
    ),
    "order.awaiting_approval": (
        "bi-hourglass-split",
        lambda a, b, o, n: _("Order %(number)s waits for the customer's approval", number=o),
    ),
    "order.approved": (
        "bi-cart-check",
        lambda a, b, o, n: _("Order %(number)s approved by the customer", number=o),
    ),
    "order.rejected": (
        "bi-cart-x",
        lambda a, b, o, n: (
            _("Order %(number)s rejected by the customer", number=o),
            [a["reason"]] if a.get("reason") else [],
        ),
    ),
    "order.released": (
        "bi-box-arrow-right",
        lambda a, b, o, n: _("Order %(number)s passed on for fulfilment", number=o),
    ),
    "order.line_allocated": (
        "bi-box-seam",
        lambda a, b, o, n: _("Stock allocated to order %(number)s", number=o),
    ),
    "order.line_shipped": (
        "bi-truck",
        lambda a, b, o, n: _("A position of order %(number)s shipped", number=o),
    ),
    "order.line_cancelled": (
        "bi-x-circle",
        lambda a, b, o, n: _("A position of order %(number)s cancelled", number=o),
    ),
    "order.state_changed": (
        "bi-arrow-repeat",
        lambda a, b, o, n: _(
            "Order %(number)s is now %(state)s", number=o, state=order_state(a.get("state"))
        ),
    ),
    "line.handset_exchanged": (
        "bi-phone",
        lambda a, b, o, n: _("Handset of line %(line)s exchanged", line=o),
    ),
    "contract.activated": (
        "bi-file-earmark-check",
        lambda a, b, o, n: _("Contract %(number)s activated", number=a.get("number") or o),
    ),
    "contract.amended": (
        "bi-file-earmark-diff",
        lambda a, b, o, n: _("Amendment to contract %(number)s", number=o),
    ),
    "contract.terminated": (
        "bi-file-earmark-x",
        lambda a, b, o, n: _("Contract %(number)s terminated", number=o),
    ),
    "contract.expired": (
        "bi-hourglass-bottom",
        lambda a, b, o, n: _("Contract %(number)s expired", number=o),
    ),
    "unit.created": ("bi-diagram-3", lambda a, b, o, n: _("Unit %(name)s created", name=o)),
    "unit.updated": ("bi-diagram-3", lambda a, b, o, n: _("Unit %(name)s changed", name=o)),
    "unit.moved": ("bi-diagram-3", lambda a, b, o, n: _("Unit %(name)s moved", name=o)),
    "unit.deleted": (
        "bi-diagram-3",
        lambda a, b, o, n: _("Unit %(name)s deleted", name=b.get("name") or o),
    ),
    "employee.created": (
        "bi-person-vcard",
        lambda a, b, o, n: _("Employee %(name)s added", name=o),
    ),
    "line.moved": (
        "bi-arrow-left-right",
        lambda a, b, o, n: ngettext(
            "Line %(line)s moved to another unit",
            "%(count)s lines moved to other units",
            n,
            count=format_decimal(n),
            line=o,
        ),
    ),
    "line.limit_changed": (
        "bi-speedometer2",
        lambda a, b, o, n: ngettext(
            "Spending limit of line %(line)s changed",
            "Spending limits of %(count)s lines changed",
            n,
            count=format_decimal(n),
            line=o,
        ),
    ),
    "line.employee_assigned": (
        "bi-person-check",
        lambda a, b, o, n: ngettext(
            "Line %(line)s given to an employee",
            "%(count)s lines given to employees",
            n,
            count=format_decimal(n),
            line=o,
        ),
    ),
    "service_request.opened": (
        "bi-tools",
        lambda a, b, o, n: _("Service request opened: %(request)s", request=o),
    ),
    "service_request.state_changed": (
        "bi-tools",
        lambda a, b, o, n: _(
            "Service request %(request)s: %(before)s → %(after)s",
            request=o,
            before=service_request_state(b.get("state")),
            after=service_request_state(a.get("state")),
        ),
    ),
    "service_request.note_added": (
        "bi-chat-left-text",
        lambda a, b, o, n: (
            _("Internal note on service request %(request)s", request=o)
            if a.get("internal")
            else _("Note on service request %(request)s", request=o)
        ),
    ),
    "line.employee_unassigned": (
        "bi-person-x",
        lambda a, b, o, n: ngettext(
            "Line %(line)s taken from its user",
            "%(count)s lines taken from their users",
            n,
            count=format_decimal(n),
            line=o,
        ),
    ),
}


def provisioning(action: str, o: str, n: int) -> tuple[str, str]:
    parts = action.split(".")
    what = _network_action(parts[1] if len(parts) > 1 else "")
    if action.endswith(".confirmed"):
        return "bi-check2-circle", ngettext(
            "Network confirmed the %(what)s of line %(line)s",
            "Network confirmed the %(what)s of %(count)s lines",
            n,
            count=format_decimal(n),
            what=what,
            line=o,
        )
    if action.endswith(".failed"):
        return "bi-exclamation-triangle", ngettext(
            "Network refused the %(what)s of line %(line)s",
            "Network refused the %(what)s of %(count)s lines",
            n,
            count=format_decimal(n),
            what=what,
            line=o,
        )
    return "bi-broadcast", ngettext(
        "Requested from the network: %(what)s of line %(line)s",
        "Requested from the network: %(what)s of %(count)s lines",
        n,
        count=format_decimal(n),
        what=what,
        line=o,
    )
