"""The tenant scope: every portal query that names customer data goes through here.

A portal user sees only its own customer's data; a fleet administrator with a scope unit only
that unit's subtree. Anything outside answers 404, never 403 and never the object.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select

from core.web import db
from models import OrgUnit, PortalRole, PortalUser
from services.fleet import FleetScope


def subtree_filter(column_path, unit: OrgUnit):
    return (column_path >= unit.path) & (column_path < OrgUnit.upper_bound(unit.path))


def units(user: PortalUser) -> Select:
    query = select(OrgUnit).where(OrgUnit.customer_id == user.customer_id)
    if user.scope_unit is not None:
        query = query.where(subtree_filter(OrgUnit.path, user.scope_unit))
    return query


def unit_or_404(user: PortalUser, unit_id: int) -> OrgUnit:
    unit = db().scalar(units(user).where(OrgUnit.id == unit_id))
    if unit is None:
        abort(404)
    return unit


def is_visible(user: PortalUser, unit: OrgUnit) -> bool:
    if unit.customer_id != user.customer_id:
        return False
    scope_unit = user.scope_unit
    return scope_unit is None or unit.path.startswith(scope_unit.path)


def fleet_scope(user: PortalUser) -> FleetScope:
    """Whose lines this user may see: the company, a subtree, or an employee's own lines."""
    return FleetScope(
        customer_id=user.customer_id,
        unit_path=user.scope_unit.path if user.scope_unit is not None else None,
        employee_id=(user.employee_id or -1) if user.role == PortalRole.employee else None,
    )


def can_manage(user: PortalUser) -> bool:
    """Fleet administrators change things; viewers and employees read."""
    return user.role == PortalRole.fleet_admin


def require_manager() -> None:
    if not can_manage(current_user):
        abort(403)


def require_fleet_reader() -> None:
    """Fleet pages: administrators and viewers. Employees have their own pages."""
    if current_user.role not in (PortalRole.fleet_admin, PortalRole.viewer):
        abort(403)
