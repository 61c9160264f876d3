"""What the fleet pages say about a change: the question before it, the result after it.

Counts are formatted for the language ("1 234" in Polish) and the plural form follows the
number (1 linia, 2 linie, 5 linii).
"""

from __future__ import annotations

from flask_babel import format_decimal, gettext, ngettext

from core.web import money
from portal.fleet.labels import SERVICE_LABELS
from services.fleet import Outcome


def _target(outcome: Outcome) -> dict:
    r = outcome.resolved
    values = {"count": format_decimal(outcome.changing)}
    if r.unit is not None:
        values["unit"] = r.unit.name
    if r.employee is not None:
        values["name"] = r.employee.full_name
    if r.new_employee is not None:
        values["name"] = r.new_employee.full_name
    if r.tariff is not None:
        values["tariff"] = r.tariff.name
    if r.service is not None:
        values["service"] = str(SERVICE_LABELS[r.service.value])
    if r.change.limit is not None:
        values["limit"] = money(r.change.limit)
    return values


def question(outcome: Outcome, unit_label: str | None = None) -> str:
    """ "Move 1 234 lines to Sprzedaż / Północ?" """
    r, n = outcome.resolved, outcome.changing
    if n == 0:
        return gettext(
            "Nothing to change: the selected lines already are as requested, or their status "
            "does not allow the change."
        )
    v = _target(outcome)
    if unit_label:
        v["unit"] = unit_label
    a = r.action
    if a == "move":
        return ngettext(
            "Move %(count)s line to %(unit)s?", "Move %(count)s lines to %(unit)s?", n, **v
        )
    if a == "assign":
        return ngettext(
            "Assign %(count)s line to %(name)s?", "Assign %(count)s lines to %(name)s?", n, **v
        )
    if a == "assign_new":
        return ngettext(
            "Add %(name)s to your employees and assign %(count)s line to this person?",
            "Add %(name)s to your employees and assign %(count)s lines to this person?",
            n,
            **v,
        )
    if a == "unassign":
        return ngettext(
            "Remove the assigned employee from %(count)s line?",
            "Remove the assigned employees from %(count)s lines?",
            n,
            **v,
        )
    if a == "tariff":
        return ngettext(
            "Change the tariff plan of %(count)s line to %(tariff)s?",
            "Change the tariff plan of %(count)s lines to %(tariff)s?",
            n,
            **v,
        )
    if a == "suspend":
        return ngettext("Suspend %(count)s line?", "Suspend %(count)s lines?", n, **v)
    if a == "resume":
        return ngettext("Resume %(count)s line?", "Resume %(count)s lines?", n, **v)
    if a == "service" and r.change.on:
        return ngettext(
            "Turn %(service)s on for %(count)s line?",
            "Turn %(service)s on for %(count)s lines?",
            n,
            **v,
        )
    if a == "service":
        return ngettext(
            "Turn %(service)s off for %(count)s line?",
            "Turn %(service)s off for %(count)s lines?",
            n,
            **v,
        )
    if r.change.limit is None:
        return ngettext(
            "Remove the monthly limit from %(count)s line?",
            "Remove the monthly limit from %(count)s lines?",
            n,
            **v,
        )
    return ngettext(
        "Set the monthly limit of %(count)s line to %(limit)s?",
        "Set the monthly limit of %(count)s lines to %(limit)s?",
        n,
        **v,
    )


def unchanged(outcome: Outcome) -> str | None:
    """Why some selected lines will not change, if any."""
    n = outcome.selected - outcome.changing
    if n <= 0 or outcome.changing == 0:
        return None
    return ngettext(
        "%(count)s selected line will not change: it already is as requested, or its status "
        "does not allow the change.",
        "%(count)s selected lines will not change: they already are as requested, or their "
        "status does not allow the change.",
        n,
        count=format_decimal(n),
    )


def result(outcome: Outcome, unit_label: str | None = None) -> tuple[str, str]:
    """The flash after the change: (text, category)."""
    r, n = outcome.resolved, outcome.changing
    v = _target(outcome)
    if unit_label:
        v["unit"] = unit_label
    a = r.action
    if a == "assign_new" and n:
        return (
            ngettext(
                "%(name)s added to your employees; %(count)s line assigned.",
                "%(name)s added to your employees; %(count)s lines assigned.",
                n,
                **v,
            ),
            "success",
        )
    if n == 0:
        return gettext("Nothing changed: the selected lines already are as requested."), "info"
    if a == "move":
        text = ngettext(
            "%(count)s line moved to %(unit)s.", "%(count)s lines moved to %(unit)s.", n, **v
        )
        return text, "success"
    if a == "assign":
        text = ngettext(
            "%(count)s line assigned to %(name)s.", "%(count)s lines assigned to %(name)s.", n, **v
        )
        return text, "success"
    if a == "unassign":
        text = ngettext(
            "Employee removed from %(count)s line.",
            "Employees removed from %(count)s lines.",
            n,
            **v,
        )
        return text, "success"
    if a == "limit":
        text = ngettext(
            "Monthly limit changed on %(count)s line.",
            "Monthly limit changed on %(count)s lines.",
            n,
            **v,
        )
        return text, "success"
    network = {
        "tariff": ngettext(
            "%(count)s tariff change requested; it will show as pending until the network "
            "confirms.",
            "%(count)s tariff changes requested; they will show as pending until the network "
            "confirms.",
            n,
            **v,
        ),
        "suspend": ngettext(
            "%(count)s suspension requested; it will show as pending until the network confirms.",
            "%(count)s suspensions requested; they will show as pending until the network "
            "confirms.",
            n,
            **v,
        ),
        "resume": ngettext(
            "%(count)s reactivation requested; it will show as pending until the network confirms.",
            "%(count)s reactivations requested; they will show as pending until the network "
            "confirms.",
            n,
            **v,
        ),
        "service": ngettext(
            "%(count)s service change requested; it will show as pending until the network "
            "confirms.",
            "%(count)s service changes requested; they will show as pending until the network "
            "confirms.",
            n,
            **v,
        ),
    }
    return network[a], "success"
