"""Audit events told as sentences for the customer's timeline.

``describe(entry, refs)`` gives an icon and a sentence in the current language; ``refs`` are
labels of the objects the page's events point at (contract and order numbers, line numbers,
unit, user, tariff and product names), loaded once per page by ``object_labels``. An action
nobody taught timeline_sentences.py yet reads as its name, so a new feature's events still show.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from admin_console.customers.timeline_sentences import TEXTS, portal_role, provisioning
from core.web import db, money
from models import (
    Contract,
    Employee,
    Line,
    OrgUnit,
    PortalUser,
    Product,
    ServiceRequest,
    TariffPlan,
)
from models.orders import Order
from services.customers import format_phone


@dataclass
class Description:
    icon: str
    text: str
    details: list[str]


OBJECT_LABELS = {
    "contract": (Contract, lambda c: c.number),
    "line": (Line, lambda ln: format_phone(ln.msisdn)),
    "org_unit": (OrgUnit, lambda u: u.name),
    "portal_user": (PortalUser, lambda u: u.full_name),
    "employee": (Employee, lambda e: e.full_name),
    "order": (Order, lambda o: o.number),
    "tariff_plan": (TariffPlan, lambda t: t.name),
    "product": (Product, lambda p: p.name),
    "service_request": (ServiceRequest, lambda r: f"{r.number} «{r.subject}»"),
}


def object_labels(entries) -> dict[tuple[str, int], str]:
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        ev = entry.event
        if ev is not None and ev.object_type in OBJECT_LABELS and ev.object_id is not None:
            wanted.setdefault(ev.object_type, set()).add(ev.object_id)
        if ev is not None and ev.action.startswith("contract.item_"):
            for side in (ev.before or {}, ev.after or {}):
                for key, kind in (("tariff_id", "tariff_plan"), ("product_id", "product")):
                    if side.get(key):
                        wanted.setdefault(kind, set()).add(side[key])
        if ev is not None and ev.action == "portal_user.access_changed":
            for side in (ev.before or {}, ev.after or {}):
                if side.get("scope_unit_id"):
                    wanted.setdefault("org_unit", set()).add(side["scope_unit_id"])
    labels = {}
    for kind, ids in wanted.items():
        model, label = OBJECT_LABELS[kind]
        for obj in db().scalars(select(model).where(model.id.in_(ids))):
            labels[(kind, obj.id)] = label(obj)
    return labels


def _access(a, b, refs):
    def scope(side):
        unit = side.get("scope_unit_id")
        text = refs.get(("org_unit", unit), f"#{unit}") if unit else _("the whole company")
        if side.get("can_approve_orders"):
            text += ", " + _("approves orders")
        return text

    return [
        _("before: %(role)s, %(scope)s", role=portal_role(b.get("role")), scope=scope(b)),
        _("now: %(role)s, %(scope)s", role=portal_role(a.get("role")), scope=scope(a)),
    ]


def _item(side: dict, refs) -> list[str]:
    """What a contract item is about, and its price or discount."""
    if side.get("tariff_id"):
        what = refs.get(("tariff_plan", side["tariff_id"]), f"#{side['tariff_id']}")
    else:
        what = refs.get(("product", side.get("product_id")), f"#{side.get('product_id')}")
    if side.get("price") is not None:
        return [_("%(what)s: %(price)s net", what=what, price=money(side["price"]))]
    if side.get("discount_percent") is not None:
        return [_("%(what)s: %(percent)s%% off", what=what, percent=side["discount_percent"])]
    return [what]


def describe(entry, refs: dict) -> Description:
    ev = entry.event
    after, before = ev.after or {}, ev.before or {}
    label = refs.get((ev.object_type, ev.object_id)) or after.get("name") or before.get("name")
    label = label or after.get("email") or ev.actor_label or ""
    if ev.action.startswith("provisioning."):
        icon, text = provisioning(ev.action, label, entry.count)
        return Description(icon, text, [])
    if ev.action in TEXTS:
        icon, build = TEXTS[ev.action]
        result = build(after, before, label, entry.count)
        text, details = result if isinstance(result, tuple) else (result, [])
        if ev.action == "portal_user.access_changed":
            details = _access(after, before, refs)
        elif ev.action.startswith("contract.item_"):
            details = _item(after or before, refs)
        return Description(icon, text, details)
    text = ev.action.replace("_", " ").replace(".", ": ", 1)
    if entry.count > 1:
        text = ngettext(
            "%(what)s (%(num)d time)", "%(what)s (%(num)d times)", entry.count, what=text
        )
    return Description("bi-dot", text, [])
