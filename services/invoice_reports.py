"""Reading invoices across months: what each cost centre cost, month by month."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Invoice, InvoiceLine, InvoiceState


@dataclass
class CentreRow:
    cost_centre: str
    unit_name: str
    months: dict[date, Decimal] = field(default_factory=dict)  # period start -> net

    @property
    def total(self) -> Decimal:
        return sum(self.months.values(), Decimal("0"))


def cost_centres_by_month(
    session: Session, customer_id: int, first: date, last: date
) -> tuple[list[date], list[CentreRow]]:
    """Net amounts per cost centre and billing month (corrections count in the month they
    correct), for issued documents of periods ``first`` … ``last`` (month starts)."""
    rows = session.execute(
        select(
            Invoice.period_start,
            func.coalesce(InvoiceLine.cost_centre, ""),
            func.coalesce(InvoiceLine.unit_name, ""),
            func.sum(InvoiceLine.net),
        )
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            Invoice.customer_id == customer_id,
            Invoice.state == InvoiceState.issued,
            Invoice.period_start >= first,
            Invoice.period_start <= last,
        )
        .group_by(Invoice.period_start, InvoiceLine.cost_centre, InvoiceLine.unit_name)
    ).all()
    months = sorted({r[0] for r in rows})
    centres: dict[tuple[str, str], CentreRow] = {}
    for month, centre, unit, net in rows:
        row = centres.setdefault((centre, unit), CentreRow(centre, unit))
        row.months[month] = row.months.get(month, Decimal("0")) + Decimal(net)
    return months, sorted(centres.values(), key=lambda r: (r.cost_centre, r.unit_name))
