"""SIM configuration report: per line of the scope — number, employee, unit, tariff, services,
SIM (ICCID, IMSI), IMEI, handset — and, only when asked for by a role that may see them, the
PIN and PUK codes.

Who may see codes: fleet administrators (they hand SIM cards out and unblock them); viewers and
employees never. ``may_see_codes`` is that rule, written once. Every read that contains codes —
a reveal on the page or an export — records an audit event (``record_codes_read``) naming the
scope and the number of lines, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Employee, Line, LineStatus, PortalRole, Product, Service, TariffPlan
from services import audit
from services.fleet_io.export import SERVICE_LABELS, NumberFormat, unit_paths
from services.fleet_query import FleetScope, scope_conditions

BATCH = 2000
CODE_FIELDS = ("pin1", "puk1", "pin2", "puk2")


def may_see_codes(role) -> bool:
    return role == PortalRole.fleet_admin


@dataclass
class SimRow:
    line_id: int
    number: str
    msisdn: str
    employee: str
    unit: str
    tariff: str
    services: str
    iccid: str
    imsi: str
    imei: str
    handset: str
    codes: tuple[str, str, str, str] | None = None  # pin1, puk1, pin2, puk2


def _query(scope: FleetScope, with_codes: bool):
    cols = [
        Line.id,
        Line.msisdn,
        Employee.full_name,
        Line.unit_id,
        TariffPlan.name,
        Line.iccid,
        Line.imsi,
        Line.imei,
        Product.manufacturer,
        Product.name,
        *[getattr(Line, f"svc_{s.value}") for s in Service],
    ]
    if with_codes:
        cols += [getattr(Line, f) for f in CODE_FIELDS]
    return (
        select(*cols)
        .join(TariffPlan, TariffPlan.id == Line.tariff_id)
        .outerjoin(Employee, Employee.id == Line.employee_id)
        .outerjoin(Product, Product.id == Line.handset_id)
        .where(*scope_conditions(scope), Line.status != LineStatus.terminated)
        .order_by(Line.unit_path, Line.msisdn)
    )


def count(session: Session, scope: FleetScope) -> int:
    return session.scalar(
        select(func.count(Line.id)).where(
            *scope_conditions(scope), Line.status != LineStatus.terminated
        )
    )


def rows(
    session: Session,
    scope: FleetScope,
    *,
    with_codes: bool = False,
    limit: int | None = None,
    offset: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[SimRow]:
    paths = unit_paths(session, scope.customer_id)
    labels = [str(SERVICE_LABELS[s]) for s in Service]
    number = NumberFormat()
    query = _query(scope, with_codes).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    total = count(session, scope) if progress else 0
    if progress:
        progress(0, total)
    result = session.execute(query.execution_options(yield_per=BATCH))
    for done, r in enumerate(result, start=1):
        maker, model = r[8], r[9]
        handset = (f"{maker} {model}" if maker and not model.startswith(maker) else model) or ""
        flags = r[10 : 10 + len(labels)]
        yield SimRow(
            line_id=r[0],
            number=number(r[1]),
            msisdn=r[1],
            employee=r[2] or "",
            unit=paths.get(r[3], ""),
            tariff=r[4] or "",
            services=", ".join(label for label, on in zip(labels, flags, strict=True) if on),
            iccid=r[5],
            imsi=r[6],
            imei=r[7] or "",
            handset=handset,
            codes=tuple(v or "" for v in r[10 + len(labels) :]) if with_codes else None,
        )
        if progress and done % BATCH == 0:
            progress(done, total)


def record_codes_read(
    session: Session, actor: audit.Actor, scope: FleetScope, how: str, lines: int
) -> None:
    """Audit a read that contains PIN/PUK codes: ``how`` is "reveal" or "export:<format>"."""
    audit.record(
        session,
        actor,
        "sim_report.codes_read",
        customer_id=scope.customer_id,
        object_type="customer",
        object_id=scope.customer_id,
        after={"how": how, "unit_path": scope.unit_path, "lines": lines},
    )
