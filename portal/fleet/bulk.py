"""Changing lines: many at once from the list (ask, then apply) or one from its page.

The selection is either the ticked ids or "all lines matching the filter" (the filter's query
string is posted, and the ids are found again at the moment of the change). Ids outside the
user's scope are ignored. A refusal re-shows the page with the message on its field; nothing
is committed then.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from core.web import actor, commit, db
from portal import scope as tenant
from portal.fleet import messages
from portal.fleet.forms import ChangeForm
from portal.fleet.views import (
    bp,
    line_or_404,
    list_url_from,
    render_line,
    render_list,
    unit_options,
)
from services import ServiceError, employees
from services import fleet as fl

MAX_IDS = 5000  # ticked one by one; more is "all lines matching the filter"
MAX_CHOICES = 20


def _list_params() -> MultiDict:
    return MultiDict(parse_qsl(request.form.get("list_qs", "")[:4000]))


def _posted_ids() -> list[int]:
    ids = []
    for raw in request.form.getlist("ids"):
        if raw.isdigit() and 0 < int(raw) < 2**63:
            ids.append(int(raw))
    return ids


def _selection():
    """A Select of the filtered result, or the ticked ids."""
    if request.form.get("target") == "all":
        flt = fl.FleetFilter.from_params(_list_params())
        return fl.filtered_ids(db(), tenant.fleet_scope(current_user), flt)
    ids = _posted_ids()
    if not ids:
        raise ServiceError(_l("Select at least one line."))
    if len(ids) > MAX_IDS:
        raise ServiceError(
            _l("Too many lines ticked; choose “all lines matching the filter” instead.")
        )
    return ids


def _employee_for(form: ChangeForm):
    """(employee id, None) when it is clear who is meant; (None, candidates) when the user must
    pick one. Only for "assign"."""
    if form.action.data != "assign":
        return None, None
    chosen = form.employee_id_value()
    if chosen:
        return chosen, None
    q = form.employee_q.data or ""
    if not q:
        raise ServiceError(
            _l("Type a name or e-mail address to find the employee."), field="employee_q"
        )
    found = employees.search(db(), current_user.customer_id, q, limit=MAX_CHOICES + 1)
    exact = [e for e in found if e.email and e.email.lower() == q.lower()]
    if len(exact) == 1:
        return exact[0].id, None
    if len(found) == 1:
        return found[0].id, None
    if not found:
        raise ServiceError(_l("No employee matches “%(q)s”.", q=q), field="employee_q")
    return None, found  # the page shows MAX_CHOICES and says if there are more


def _unit_label(outcome) -> str | None:
    unit = outcome.resolved.unit
    return dict(unit_options(current_user)).get(unit.id, unit.name) if unit else None


def _refuse_on_list(form: ChangeForm, err: ServiceError):
    db().rollback()
    form.add_error(err)
    target = "all" if request.form.get("target") == "all" else "selected"
    return render_list(
        _list_params(), form=form, selected=_posted_ids()[:MAX_IDS], target=target, status=422
    )


def _confirm_page(form, outcome=None, choices=None, count=None, status=200):
    return (
        render_template(
            "portal/fleet/confirm.html",
            form=form,
            outcome=outcome,
            question=messages.question(outcome, _unit_label(outcome)) if outcome else None,
            unchanged=messages.unchanged(outcome) if outcome else None,
            choices=choices,
            count=count,
            ids=_posted_ids()[:MAX_IDS],
            target="all" if request.form.get("target") == "all" else "selected",
            list_qs=request.form.get("list_qs", ""),
            back=list_url_from(request.form.get("list_qs")),
        ),
        status,
    )


@bp.post("/bulk")
@login_required
def bulk():
    """Step 1: what would change — the question, with the number of lines."""
    tenant.require_manager()
    form = ChangeForm()
    scope = tenant.fleet_scope(current_user)
    if not form.validate():
        return _refuse_on_list(form, ServiceError(_l("Check the highlighted fields.")))
    try:
        selection = _selection()
        employee_id, choices = _employee_for(form)
        if choices:
            count = fl.selected_count(db(), scope, selection)
            return _confirm_page(form, choices=choices, count=count)
        outcome = fl.preview(db(), scope, selection, form.to_change(employee_id))
    except ServiceError as err:
        return _refuse_on_list(form, err)
    form.employee_id.data = str(outcome.resolved.employee.id) if outcome.resolved.employee else ""
    return _confirm_page(form, outcome=outcome)


@bp.post("/bulk/apply")
@login_required
def bulk_apply():
    """Step 2: make the change, all of it or none."""
    tenant.require_manager()
    form = ChangeForm()
    scope = tenant.fleet_scope(current_user)
    if not form.validate():
        return _refuse_on_list(form, ServiceError(_l("Check the highlighted fields.")))
    try:
        selection = _selection()
        employee_id, choices = _employee_for(form)
        if choices:
            count = fl.selected_count(db(), scope, selection)
            form.form_errors.append(str(_l("Choose the employee.")))
            return _confirm_page(form, choices=choices, count=count, status=422)
        outcome = fl.apply(db(), actor(), scope, selection, form.to_change(employee_id))
    except ServiceError as err:
        return _refuse_on_list(form, err)
    text, category = messages.result(outcome, _unit_label(outcome))
    commit()
    flash(text, category)
    return redirect(list_url_from(request.form.get("list_qs")))


@bp.post("/<int:line_id>/change")
@login_required
def change(line_id: int):
    """One change to one line, from its page."""
    line = line_or_404(line_id)
    tenant.require_manager()
    form = ChangeForm()
    action = form.action.data
    try:
        if not form.validate():
            raise ServiceError(_l("Check the highlighted fields."))
        employee_id, choices = _employee_for(form)
        if choices:
            return render_line(
                line, form=form, employee_choices=choices, status=422, open_action=action
            )
        outcome = fl.apply(
            db(), actor(), tenant.fleet_scope(current_user), [line.id], form.to_change(employee_id)
        )
    except ServiceError as err:
        db().rollback()
        form.add_error(err)
        return render_line(line_or_404(line_id), form=form, status=422, open_action=action)
    text, category = messages.result(outcome, _unit_label(outcome))
    commit()
    flash(text, category)
    return redirect(url_for("fleet.line", line_id=line.id))


@bp.route("/employees")
@login_required
def employee_search():
    """Candidates for "assign an employee" as the user types (htmx fragment)."""
    tenant.require_manager()
    q = (request.args.get("employee_q") or "").strip()[:100]
    found = (
        employees.search(db(), current_user.customer_id, q, MAX_CHOICES + 1) if len(q) >= 2 else []
    )
    return render_template("portal/fleet/_employee_choices.html", choices=found, q=q)
