"""The department tree: reading it (trees, trails, search, counts) and changing it.

Units carry ``parent_id`` and a materialised ``path`` of ids (``/12/45/``); lines carry the
same path as ``unit_path``. A subtree is the range ``path >= p AND path < p[:-1] + '0'``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
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
    ids = _path_ids(unit.path)
    by_id = {u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


def trail(unit: OrgUnit, by_id: dict[int, OrgUnit]) -> list[OrgUnit]:
    """The chain down to ``unit`` (inclusive) from units already loaded, skipping the others
    (so a scope-limited map gives the chain from the top of the scope)."""
    return [by_id[i] for i in _path_ids(unit.path) if i in by_id]


def _path_ids(path: str) -> list[int]:
    return [int(p) for p in path.strip("/").split("/") if p]


def search(units: Sequence[OrgUnit], query: str) -> list[OrgUnit]:
    """Units whose name or cost centre contains every word of ``query`` (ignoring case,
    Polish letters included), ordered by their path of names."""
    words = [w.casefold() for w in (query or "").split()]
    if not words:
        return []
    found = [
        u for u in units if all(w in f"{u.name}\n{u.cost_centre or ''}".casefold() for w in words)
    ]
    by_id = {u.id: u for u in units}
    return sorted(found, key=lambda u: [a.name.casefold() for a in trail(u, by_id)])


@dataclass(frozen=True)
class UnitCounts:
    """What a unit holds: its own lines and employees, and with all its subunits."""

    lines: int = 0
    lines_total: int = 0
    employees: int = 0
    employees_total: int = 0


def unit_counts(
    session: Session, customer_id: int, units: Sequence[OrgUnit], top: OrgUnit | None = None
) -> dict[int, UnitCounts]:
    """Counts for ``units``: every unit of ``top``'s subtree, or of the company when ``top``
    is None. Two grouped queries whatever the size of the tree; totals are summed here."""
    unit_ids = select(OrgUnit.id).where(OrgUnit.customer_id == customer_id)
    if top is not None:
        unit_ids = unit_ids.where(
            OrgUnit.path >= top.path, OrgUnit.path < OrgUnit.upper_bound(top.path)
        )
    own_lines = dict(
        session.execute(
            select(Line.unit_id, func.count())
            .where(Line.unit_id.in_(unit_ids))
            .group_by(Line.unit_id)
        ).all()
    )
    own_employees = dict(
        session.execute(
            select(Employee.unit_id, func.count())
            .where(Employee.unit_id.in_(unit_ids))
            .group_by(Employee.unit_id)
        ).all()
    )
    lines_total: dict[int, int] = {}
    employees_total: dict[int, int] = {}
    for unit in units:
        n_lines, n_employees = own_lines.get(unit.id, 0), own_employees.get(unit.id, 0)
        if not (n_lines or n_employees):
            continue
        for ancestor_id in _path_ids(unit.path):
            lines_total[ancestor_id] = lines_total.get(ancestor_id, 0) + n_lines
            employees_total[ancestor_id] = employees_total.get(ancestor_id, 0) + n_employees
    return {
        u.id: UnitCounts(
            lines=own_lines.get(u.id, 0),
            lines_total=lines_total.get(u.id, 0),
            employees=own_employees.get(u.id, 0),
            employees_total=employees_total.get(u.id, 0),
        )
        for u in units
    }


# --- changes -------------------------------------------------------------------------------

MAX_NAME = 200
MAX_PATH = 400  # the width of org_unit.path and line.unit_path
ID_WIDTH = 12  # room for the id of a unit not yet created, with its slash


def _clean_name(name: str) -> str:
    """One line of text: control characters (NUL, tabs, line breaks) become spaces."""
    name = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in name or "")
    name = " ".join(name.split())
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
    """Compared in Python: SQLite's lower() folds ASCII only (Łódź = ŁÓDŹ must hold too)."""
    query = select(OrgUnit.name).where(
        OrgUnit.customer_id == customer_id,
        OrgUnit.parent_id.is_(None) if parent_id is None else OrgUnit.parent_id == parent_id,
    )
    if exclude_id:
        query = query.where(OrgUnit.id != exclude_id)
    wanted = name.casefold()
    return any(other.casefold() == wanted for other in session.scalars(query))


def _check_depth(deepest_path_after: int) -> None:
    if deepest_path_after > MAX_PATH:
        raise ServiceError(
            _l("The tree cannot go any deeper here; place the unit higher up."),
            field="parent_id",
        )


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
    _check_depth(len(parent.path if parent else "/") + ID_WIDTH)
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
    if before == {"name": name, "cost_centre": cost_centre}:
        return unit
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
    """Move ``unit`` with its whole subtree (units and lines) under ``new_parent``.

    Both rows are locked and re-read first (in id order), so two concurrent moves cannot
    build a cycle (A under B while B goes under A) on PostgreSQL; SQLite runs one writer."""
    if new_parent.customer_id != unit.customer_id:
        raise ServiceError(_l("This unit does not exist."), field="parent_id")
    session.scalars(
        select(OrgUnit)
        .where(OrgUnit.id.in_([unit.id, new_parent.id]))
        .order_by(OrgUnit.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if is_sole_top(session, unit):
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
    deepest = session.scalar(
        select(func.max(func.length(OrgUnit.path))).where(
            OrgUnit.customer_id == unit.customer_id,
            OrgUnit.path >= old_path,
            OrgUnit.path < OrgUnit.upper_bound(old_path),
        )
    )
    _check_depth((deepest or len(old_path)) - len(old_path) + len(new_path))
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


def is_sole_top(session: Session, unit: OrgUnit) -> bool:
    """The company's only top-level unit holds its tree together: it stays where it is."""
    if unit.parent_id is not None:
        return False
    other = select(OrgUnit.id).where(
        OrgUnit.customer_id == unit.customer_id,
        OrgUnit.parent_id.is_(None),
        OrgUnit.id != unit.id,
    )
    return session.scalar(other.limit(1)) is None


def deletion_blockers(session: Session, unit: OrgUnit) -> list[ServiceError]:
    """Why ``unit`` cannot be deleted (nothing when it can): each reason with its count."""
    if is_sole_top(session, unit):
        return [ServiceError(_l("The top unit of the company cannot be deleted."))]
    holders = (OrgUnit.parent_id, Line.unit_id, Employee.unit_id, PortalUser.scope_unit_id)
    subunits, lines, employees, admins = (
        session.scalar(select(func.count()).where(column == unit.id)) for column in holders
    )
    reasons = [
        (
            subunits,
            _ln(
                "The unit has %(num)d subunit; move or delete it first.",
                "The unit has %(num)d subunits; move or delete them first.",
                subunits,
            ),
        ),
        (
            lines,
            _ln(
                "The unit has %(num)d line; move it to another unit first.",
                "The unit has %(num)d lines; move them to another unit first.",
                lines,
            ),
        ),
        (
            employees,
            _ln(
                "The unit has %(num)d employee; move them to another unit first.",
                "The unit has %(num)d employees; move them to another unit first.",
                employees,
            ),
        ),
        (
            admins,
            _ln(
                "%(num)d portal user administers this unit; change their scope first.",
                "%(num)d portal users administer this unit; change their scope first.",
                admins,
            ),
        ),
    ]
    return [ServiceError(message, count=n) for n, message in reasons if n]


def delete_unit(session: Session, actor: Actor, unit: OrgUnit) -> None:
    """Delete an empty unit; anything in it is a reason to refuse, told to the user."""
    blockers = deletion_blockers(session, unit)
    if blockers:
        raise blockers[0]
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
