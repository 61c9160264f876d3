"""Bulk move of about 10,000 lines, through ``services.fleet.move_lines``, commit included.

The selection is a filtered result (every line of the large customer on one tariff, a fifth of
its lines), as the fleet page's "select all matching" would pass it. Afterwards the lines go
back where they were and the bench's audit events are removed, so the data set stays the same
from one run to the next.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update

from bench.common import Stopwatch, Target, log
from bench.dataset import Dataset
from core.runtime import Runtime
from models import AuditEvent, Line, OrgUnit
from services import fleet as fl
from services.audit import Actor

ACTOR = Actor("system", None, "bench-move")


def measure(tgt: Target, data: Dataset, rt: Runtime) -> dict:
    scope = fl.FleetScope(customer_id=data.customer_id)
    flt = fl.FleetFilter(tariff_id=data.move_tariff_id)
    with rt.db.session_scope() as session:
        before = session.execute(
            select(Line.id, Line.unit_id, Line.unit_path).where(
                Line.id.in_(fl.filtered_ids(session, scope, flt).scalar_subquery())
            )
        ).all()
    session = rt.db.new_session()
    meter = tgt.cpu_meter()
    try:
        unit = session.get(OrgUnit, data.move_target_unit_id)
        selection = fl.filtered_ids(session, scope, flt)
        meter.start()
        with Stopwatch() as watch:
            moved = fl.move_lines(session, ACTOR, scope, selection, unit)
            session.commit()
        cpu = meter.stop()
    finally:
        session.close()
        meter.close()
    log(f"{tgt.name}: moved {moved} lines in {watch.seconds:.2f} s")
    with rt.db.session_scope() as session:
        session.execute(
            update(Line),
            [{"id": i, "unit_id": u, "unit_path": p} for i, u, p in before],
        )
        session.execute(delete(AuditEvent).where(AuditEvent.actor_label == ACTOR.label))
    return {
        "selected": len(before),
        "moved": moved,
        "seconds": round(watch.seconds, 3),
        "cpu_seconds": round(cpu, 3),
    }
