"""The tenant scope: every portal query that names customer data goes through here.

A portal user sees only its own customer's data; a fleet administrator with a scope unit only
that unit's subtree. Anything outside answers 404, never 403 and never the object.
"""

from __future__ import annotations

from flask import abort
from sqlalchemy import Select, select

from core.web import db
from models import OrgUnit, PortalUser


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
