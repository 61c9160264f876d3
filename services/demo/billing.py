"""Demo invoices: the full months of demo usage billed as the monthly run would bill them.

The demo lines are active from the first day of the earliest demo usage month
(``services.demo.usage.demo_start``), so each full month before this one gets its regular
invoice — fees, usage beyond the allowances, one-off charges — issued on the first day of
the next month. The KSeF submission is left to ``sweep_billing`` once a worker runs, so
loading the demo does not need Redis.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from core import aftercommit
from core.settings import OperatorParty
from models import Customer
from services import billing
from services.billing_period import Period
from services.demo.usage import demo_months


def demo_periods(today: date) -> list[Period]:
    """The full months of demo usage (this month, still running, is not billed)."""
    first_this = today.replace(day=1)
    return [Period.of(start) for start, end in demo_months(today) if end < first_this]


def bill_demo_period(
    session: Session, customer_id: int, period: Period, seller: OperatorParty | None = None
) -> str | None:
    """Issue the customer's invoice for ``period``; its number, or None with nothing to bill."""
    customer = session.get(Customer, customer_id)
    run = billing.request_run(session, customer, period, "demo")
    if billing.claim(session, run.id):
        invoice = billing.execute(
            session, run, issue_date=period.end + timedelta(days=1), seller=seller
        )
    else:  # billed before
        invoice = billing.existing_invoice(session, customer_id, period)
    aftercommit.discard(session)
    return invoice.number if invoice else None
