"""The department tree: creating units and reading a tree for display."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from core.i18n import _l, _ln
from models import Employee, Line, OrgUnit, PortalUser
from services import ServiceError, audit
from services.audit import Actor


def add_unit(
    session: Session,
    customer_id: int,
    name: str,
    parent: OrgUnit | None = None,
    cost_centre: str | None = None,
) -> OrgUnit:
    unit = OrgUnit(
        customer_id=customer_id,
        parent_id=parent.id if parent else None,
        name=name,
        cost_centre=cost_centre,
        path="",
        depth=(parent.depth + 1) if parent else 0,
    )
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    return unit


@dataclass
class TreeNode:
    unit: OrgUnit
    children: list[TreeNode] = field(default_factory=list)


def build_tree(units: list[OrgUnit]) -> list[TreeNode]:
    """Nest units (any subset closed under descendants) into roots with sorted children."""
    nodes = {u.id: TreeNode(u) for u in units}
    roots: list[TreeNode] = []
    for node in sorted(nodes.values(), key=lambda n: (n.unit.depth, n.unit.name.lower())):
        parent = nodes.get(node.unit.parent_id)
        (parent.children if parent else roots).append(node)
    return roots


def subtree(session: Session, unit: OrgUnit) -> list[OrgUnit]:
    return list(
        session.scalars(
            select(OrgUnit).where(
                OrgUnit.customer_id == unit.customer_id,
                OrgUnit.path >= unit.path,
                OrgUnit.path < OrgUnit.upper_bound(unit.path),
            )
        )
    )


def ancestors(session: Session, unit: OrgUnit) -> list[OrgUnit]:
    """The chain from the root down to ``unit`` (inclusive), read from its path."""
    ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    by_id = {u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


# --- changes -------------------------------------------------------------------------------

MAX_NAME = 200


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError(_l("Enter the unit's name."), field="name")
    if len(name) > MAX_NAME:
        raise ServiceError(_l("The name is too long (at most 200 characters)."), field="name")
    return name


def _clean_cost_centre(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > 40 or not re.fullmatch(r"[\w.\-/ ]+", value):
        raise ServiceError(
            _l("A cost centre has at most 40 letters, digits, spaces or . - / _"),
            field="cost_centre",
        )
    return value


def _sibling_named(
    session: Session,
    customer_id: int,
    parent_id: int | None,
    name: str,
    exclude_id: int | None = None,
) -> bool:
    query = select(OrgUnit.id).where(
        OrgUnit.customer_id == customer_id,
        func.lower(OrgUnit.name) == name.lower(),
        OrgUnit.parent_id.is_(None) if parent_id is None else OrgUnit.parent_id == parent_id,
    )
    if exclude_id:
        query = query.where(OrgUnit.id != exclude_id)
    return session.scalar(query.limit(1)) is not None


def create_unit(
    session: Session,
    actor: Actor,
    customer_id: int,
    parent: OrgUnit | None,
    name: str,
    cost_centre: str | None = None,
) -> OrgUnit:
    name = _clean_name(name)
    cost_centre = _clean_cost_centre(cost_centre)
    if parent is not None and parent.customer_id != customer_id:
        raise ServiceError(_l("This unit does not exist."), field="parent_id")
    if _sibling_named(session, customer_id, parent.id if parent else None, name):
        raise ServiceError(_l("A unit with this name already exists here."), field="name")
    unit = add_unit(session, customer_id, name, parent, cost_centre)
    audit.record(
        session,
        actor,
        "unit.created",
        customer_id=customer_id,
        obj=unit,
        after={"name": name, "parent_id": unit.parent_id, "cost_centre": cost_centre},
    )
    return unit


def update_unit(
    session: Session, actor: Actor, unit: OrgUnit, name: str, cost_centre: str | None
) -> OrgUnit:
    name = _clean_name(name)
    cost_centre = _clean_cost_centre(cost_centre)
    if _sibling_named(session, unit.customer_id, unit.parent_id, name, exclude_id=unit.id):
        raise ServiceError(_l("A unit with this name already exists here."), field="name")
    before = {"name": unit.name, "cost_centre": unit.cost_centre}
    unit.name, unit.cost_centre = name, cost_centre
    audit.record(
        session,
        actor,
        "unit.updated",
        customer_id=unit.customer_id,
        obj=unit,
        before=before,
        after={"name": name, "cost_centre": cost_centre},
    )
    session.flush()
    return unit


def move_unit(session: Session, actor: Actor, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    """Move ``unit`` with its whole subtree (units and lines) under ``new_parent``."""
    if new_parent.customer_id != unit.customer_id:
        raise ServiceError(_l("This unit does not exist."), field="parent_id")
    if unit.parent_id is None:
        raise ServiceError(_l("The top unit of the company cannot be moved."))
    if new_parent.path.startswith(unit.path):
        raise ServiceError(
            _l("A unit cannot be moved into itself or its own subunit."), field="parent_id"
        )
    if new_parent.id == unit.parent_id:
        return unit
    if _sibling_named(session, unit.customer_id, new_parent.id, unit.name, exclude_id=unit.id):
        raise ServiceError(
            _l("The target unit already has a subunit with this name."), field="parent_id"
        )
    old_path, old_parent = unit.path, unit.parent_id
    new_path = f"{new_parent.path}{unit.id}/"
    depth_shift = new_parent.depth + 1 - unit.depth
    cut = len(old_path) + 1
    in_subtree = (
        (OrgUnit.customer_id == unit.customer_id)
        & (OrgUnit.path >= old_path)
        & (OrgUnit.path < OrgUnit.upper_bound(old_path))
    )
    session.execute(
        update(OrgUnit)
        .where(in_subtree)
        .values(
            path=literal(new_path) + func.substr(OrgUnit.path, cut),
            depth=OrgUnit.depth + depth_shift,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Line)
        .where(
            Line.customer_id == unit.customer_id,
            Line.unit_path >= old_path,
            Line.unit_path < OrgUnit.upper_bound(old_path),
        )
        .values(unit_path=literal(new_path) + func.substr(Line.unit_path, cut))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(OrgUnit)
        .where(OrgUnit.id == unit.id)
        .values(parent_id=new_parent.id)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    audit.record(
        session,
        actor,
        "unit.moved",
        customer_id=unit.customer_id,
        object_type="org_unit",
        object_id=unit.id,
        before={"parent_id": old_parent, "path": old_path},
        after={"parent_id": new_parent.id, "path": new_path},
    )
    session.flush()
    return session.get(OrgUnit, unit.id)


def delete_unit(session: Session, actor: Actor, unit: OrgUnit) -> None:
    """Delete an empty unit; anything in it is a reason to refuse, told to the user."""
    if unit.parent_id is None:
        raise ServiceError(_l("The top unit of the company cannot be deleted."))
    checks = [
        (
            select(func.count()).select_from(OrgUnit).where(OrgUnit.parent_id == unit.id),
            lambda n: _ln(
                "The unit has %(num)d subunit; move or delete it first.",
                "The unit has %(num)d subunits; move or delete them first.",
                n,
            ),
        ),
        (
            select(func.count()).select_from(Line).where(Line.unit_id == unit.id),
            lambda n: _ln(
                "The unit has %(num)d line; move it to another unit first.",
                "The unit has %(num)d lines; move them to another unit first.",
                n,
            ),
        ),
        (
            select(func.count()).select_from(Employee).where(Employee.unit_id == unit.id),
            lambda n: _ln(
                "The unit has %(num)d employee; move them to another unit first.",
                "The unit has %(num)d employees; move them to another unit first.",
                n,
            ),
        ),
        (
            select(func.count()).select_from(PortalUser).where(PortalUser.scope_unit_id == unit.id),
            lambda n: _ln(
                "%(num)d portal user administers this unit; change their scope first.",
                "%(num)d portal users administer this unit; change their scope first.",
                n,
            ),
        ),
    ]
    for query, message in checks:
        n = session.scalar(query)
        if n:
            raise ServiceError(message(n), count=n)
    audit.record(
        session,
        actor,
        "unit.deleted",
        customer_id=unit.customer_id,
        object_type="org_unit",
        object_id=unit.id,
        before={"name": unit.name, "path": unit.path, "cost_centre": unit.cost_centre},
    )
    session.delete(unit)
    session.flush()
