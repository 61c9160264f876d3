"""The department tree in the portal: the whole tree with counts and search, a unit's page,
and creating, renaming, moving and deleting units.

Everything is read through the tenant scope: a fleet administrator limited to a subtree sees
and changes only that subtree, and any other id answers 404. The root of that subtree is the
frame of their permission: they may add units under it but not rename, move or delete it.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from core.web import actor, commit, db
from models import OrgUnit, PortalRole, PortalUser
from portal import scope
from portal.units.forms import DeleteForm, MoveForm, UnitForm
from portal.units.history import unit_history
from services import ServiceError, orgtree

bp = Blueprint("units", __name__, url_prefix="/units")

READERS = (PortalRole.fleet_admin, PortalRole.viewer)  # as scope.require_fleet_reader()
MAX_ID = 2**63 - 1


# --- reading -------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index():
    scope.require_fleet_reader()
    user = current_user
    units = _visible_units()
    by_id = {u.id: u for u in units}
    counts = orgtree.unit_counts(db(), user.customer_id, units, user.scope_unit)
    q = " ".join(request.args.get("q", "").split())[:100]
    matches = orgtree.search(units, q) if q else None
    show = by_id.get(_int_arg("show"))
    roots = orgtree.build_tree(units)
    return render_template(
        "portal/units/index.html",
        tree=roots,
        counts=counts,
        top_counts=[counts[node.unit.id] for node in roots],
        unit_count=len(units),
        parent_ids={u.parent_id for u in units},
        q=q,
        matches=[(u, orgtree.trail(u, by_id)) for u in matches] if matches is not None else None,
        show=show,
        open_ids={a.id for a in orgtree.trail(show, by_id)[:-1]} if show else set(),
        can_manage=scope.can_manage(user),
        locked_id=user.scope_unit_id,
        sole_top_id=roots[0].unit.id
        if len(roots) == 1 and roots[0].unit.parent_id is None
        else None,
    )


@bp.route("/<int:unit_id>")
@login_required
def detail(unit_id: int):
    unit = _unit_or_404(unit_id)
    scope.require_fleet_reader()
    units = orgtree.subtree(db(), unit)
    counts = orgtree.unit_counts(db(), current_user.customer_id, units, unit)
    children = sorted((u for u in units if u.parent_id == unit.id), key=_name_key)
    return render_template(
        "portal/units/detail.html",
        unit=unit,
        counts=counts,
        children=children,
        subunit_total=len(units) - 1,
        parent_ids={u.parent_id for u in units},
        history=unit_history(current_user, unit),
        can_manage=scope.can_manage(current_user),
        locked=_locked(unit),
        sole_top=orgtree.is_sole_top(db(), unit),
    )


@bp.app_template_global("unit_trail")
def unit_trail(unit: OrgUnit | None) -> list[OrgUnit]:
    """The chain from the top of what the signed-in user may see down to ``unit``
    (inclusive); used by the breadcrumbs macro in templates/portal/units/_breadcrumbs.html."""
    user = current_user
    if unit is None or not isinstance(user, PortalUser) or not scope.is_visible(user, unit):
        return []
    return [u for u in orgtree.ancestors(db(), unit) if scope.is_visible(user, u)]


@bp.app_template_global("units_readable")
def units_readable() -> bool:
    """Whether the signed-in user may open the department pages (links or plain names)."""
    return isinstance(current_user, PortalUser) and current_user.role in READERS


# --- changes -------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"], defaults={"unit_id": None}, endpoint="create")
@bp.route("/<int:unit_id>/new", methods=["GET", "POST"], endpoint="create")
@login_required
def create(unit_id: int | None):
    parent = _unit_or_404(unit_id) if unit_id is not None else None
    scope.require_manager()
    if parent is None and current_user.scope_unit_id is not None:
        abort(403)  # a subtree administrator works inside their subtree only
    form = UnitForm(back=request.args.get("back"))
    if form.validate_on_submit():
        try:
            unit = orgtree.create_unit(
                db(),
                actor(),
                current_user.customer_id,
                parent,
                form.name.data,
                form.cost_centre.data,
            )
        except ServiceError as err:
            _refused(form, err)
        else:
            commit()
            flash(_("The unit %(name)s has been created.", name=unit.name), "success")
            return redirect(_back(unit, form.back.data))
    return _render_form("portal/units/form.html", form, parent=parent, unit=None)


@bp.route("/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def edit(unit_id: int):
    unit = _unit_or_404(unit_id)
    scope.require_manager()
    locked = _locked(unit)
    if locked and request.method == "POST":
        abort(403)
    form = UnitForm(obj=unit, back=request.args.get("back"))
    if not locked and form.validate_on_submit():
        old_name = unit.name
        try:
            orgtree.update_unit(db(), actor(), unit, form.name.data, form.cost_centre.data)
        except ServiceError as err:
            _refused(form, err)
        else:
            commit()
            if unit.name != old_name:
                message = _("%(old)s is now called %(name)s.", old=old_name, name=unit.name)
            else:
                message = _("The changes to %(name)s have been saved.", name=unit.name)
            flash(message, "success")
            return redirect(_back(unit, form.back.data))
    return _render_form("portal/units/form.html", form, parent=None, unit=unit, locked=locked)


@bp.route("/<int:unit_id>/move", methods=["GET", "POST"])
@login_required
def move(unit_id: int):
    unit = _unit_or_404(unit_id)
    scope.require_manager()
    locked = _locked(unit)
    if locked and request.method == "POST":
        abort(403)
    units = _visible_units()
    by_id = {u.id: u for u in units}
    targets = sorted(
        (u for u in units if not u.path.startswith(unit.path) and u.id != unit.parent_id),
        key=lambda u: [a.name.casefold() for a in orgtree.trail(u, by_id)],
    )
    form = MoveForm(back=request.args.get("back"))
    form.parent_id.choices = [SelectChoice("", _("Choose a unit…"))] + [
        SelectChoice(str(u.id), " › ".join(a.name for a in orgtree.trail(u, by_id)))
        for u in targets
    ]
    refusal = None
    if not locked and form.validate_on_submit():
        target = by_id[form.parent_id.data]
        try:
            moved = orgtree.move_unit(db(), actor(), unit, target)
        except ServiceError as err:
            refusal = _refused(form, err)
        else:
            commit()
            message = _(
                "%(name)s has been moved to %(target)s.", name=moved.name, target=target.name
            )
            flash(message, "success")
            location = _back(moved, form.back.data)
            if _wants_json():
                return jsonify(ok=True, location=location)
            return redirect(location)
    if _wants_json() and request.method == "POST":
        errors = [str(e) for field in form for e in field.errors] + list(form.form_errors)
        return jsonify(ok=False, error=refusal or " ".join(errors)), 422
    return _render_form(
        "portal/units/move.html",
        form,
        unit=unit,
        locked=locked,
        trail=orgtree.trail(unit, by_id),
        has_targets=bool(targets),
    )


@bp.route("/<int:unit_id>/delete", methods=["GET", "POST"])
@login_required
def delete(unit_id: int):
    unit = _unit_or_404(unit_id)
    scope.require_manager()
    locked = _locked(unit)
    if locked and request.method == "POST":
        abort(403)
    form = DeleteForm(back=request.args.get("back"))
    if not locked and form.validate_on_submit():
        parent_id, name = unit.parent_id, unit.name
        try:
            orgtree.delete_unit(db(), actor(), unit)
        except ServiceError as err:
            _refused(form, err)
        else:
            commit()
            flash(_("The unit %(name)s has been deleted.", name=name), "success")
            if parent_id is None or form.back.data == "tree":
                return redirect(url_for("units.index", show=parent_id))
            return redirect(url_for("units.detail", unit_id=parent_id))
    blockers = [] if locked else orgtree.deletion_blockers(db(), unit)
    return _render_form(
        "portal/units/delete.html", form, unit=unit, locked=locked, blockers=blockers
    )


# --- helpers -------------------------------------------------------------------------------


def _unit_or_404(unit_id: int) -> OrgUnit:
    if unit_id > MAX_ID:  # not an id at all; the database would refuse to compare it
        abort(404)
    return scope.unit_or_404(current_user, unit_id)


def _visible_units() -> list[OrgUnit]:
    return list(db().scalars(scope.units(current_user)))


def _name_key(unit: OrgUnit) -> str:
    return unit.name.casefold()


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def _locked(unit: OrgUnit) -> bool:
    """The root of a subtree administrator's scope is the frame of their permission."""
    return unit.id == current_user.scope_unit_id


def _back(unit: OrgUnit, back: str | None) -> str:
    """After a change: back to the tree with the unit shown, or to the unit's page."""
    if back == "tree":
        return url_for("units.index", show=unit.id, _anchor=f"unit-{unit.id}")
    return url_for("units.detail", unit_id=unit.id)


def _refused(form, err: ServiceError) -> str:
    """Nothing of a refused change stays; the reason goes on its field or over the form."""
    db().rollback()
    field = getattr(form, err.field, None) if err.field else None
    if field is not None and not field.flags.hidden:
        field.errors.append(err.text)
    else:
        form.form_errors.append(err.text)
    return err.text


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _render_form(template: str, form, **context):
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, **context), status
