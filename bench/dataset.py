"""What the measurements need to know about a generated data set, and the marker that lets a
later run reuse it: ``bench/data/<database>.json``, trusted only when its version and scale
match, the database still holds that many lines of the large customer and its schema is at
the migrations' head (data generated before a new migration is generated anew).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bench.common import DATA_DIR, Target
from core.db import make_engine
from core.migrate import alembic_config
from models import Employee, Line, OrgUnit, TariffPlan

VERSION = 3  # of the generator: a marker of another version means generate anew
SURNAME_FRAGMENT = "kowal"


@dataclass
class Dataset:
    """What the measurements need to know about the generated data."""

    version: int
    scale: float
    database: str
    customer_id: int
    admin_email: str
    password: str
    lines: int
    other_lines: int
    units: int
    employees: int
    subtree_unit_id: int
    subtree_lines: int
    surname_fragment: str
    surname_matches: int
    number_fragment: str
    number_matches: int
    move_tariff_id: int
    move_lines: int
    move_target_unit_id: int
    generated_in_s: float

    def save(self, tgt: Target) -> None:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        tgt.marker.write_text(json.dumps(asdict(self), indent=2) + "\n")


def choose_scenarios(session: Session, customer_id: int) -> dict:
    """A division with about a tenth of the lines, search fragments, the bulk-move selection."""
    total = session.scalar(select(func.count()).where(Line.customer_id == customer_id))
    divisions = list(
        session.scalars(
            select(OrgUnit).where(OrgUnit.customer_id == customer_id, OrgUnit.depth == 0)
        )
    )

    def lines_under(unit):
        return session.scalar(
            select(func.count()).where(
                Line.customer_id == customer_id,
                Line.unit_path >= unit.path,
                Line.unit_path < OrgUnit.upper_bound(unit.path),
            )
        )

    counted = sorted((abs(lines_under(u) - total / 10), u.id, lines_under(u)) for u in divisions)
    _, subtree_id, subtree_lines = counted[0]
    surname_matches = session.scalar(
        select(func.count())
        .select_from(Line)
        .join(Employee, Employee.id == Line.employee_id)
        .where(
            Line.customer_id == customer_id,
            func.lower(Employee.full_name).like(f"%{SURNAME_FRAGMENT}%"),
        )
    )
    sample = session.scalar(
        select(Line.msisdn).where(Line.customer_id == customer_id).order_by(Line.id).offset(777)
    )
    number_fragment = sample[5:11]  # six digits from the middle of a real number
    number_matches = session.scalar(
        select(func.count()).where(
            Line.customer_id == customer_id, Line.msisdn.like(f"%{number_fragment}%")
        )
    )
    move_tariff = session.scalar(select(TariffPlan.id).where(TariffPlan.code == "BIZ-L"))
    move_lines = session.scalar(
        select(func.count()).where(Line.customer_id == customer_id, Line.tariff_id == move_tariff)
    )
    leaf = session.scalar(
        select(OrgUnit.id)
        .where(OrgUnit.customer_id == customer_id)
        .order_by(OrgUnit.depth.desc(), OrgUnit.id)
        .limit(1)
    )
    return {
        "lines": total,
        "subtree_unit_id": subtree_id,
        "subtree_lines": subtree_lines,
        "surname_fragment": SURNAME_FRAGMENT,
        "surname_matches": surname_matches,
        "number_fragment": number_fragment,
        "number_matches": number_matches,
        "move_tariff_id": move_tariff,
        "move_lines": move_lines,
        "move_target_unit_id": leaf,
    }


def existing(tgt: Target, scale: float) -> Dataset | None:
    if not tgt.marker.exists():
        return None
    try:
        data = Dataset(**json.loads(tgt.marker.read_text()))
    except (ValueError, TypeError):
        return None
    if data.version != VERSION or data.scale != scale:
        return None
    try:
        engine = make_engine(tgt.url)
        with engine.connect() as conn:
            lines = conn.execute(
                select(func.count()).where(Line.customer_id == data.customer_id)
            ).scalar()
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
    except Exception:  # a missing table or schema: regenerate
        return None
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return data if lines == data.lines and revision == head else None
