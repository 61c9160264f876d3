"""Billing runs: one per customer and month, whoever asks and however often.

``request_run`` creates (or re-queues a failed) ``BillingRun`` and enqueues its job after the
commit; ``UNIQUE(customer_id, period_start)`` makes a second request the same run. ``execute``
issues the month's invoice from ``billing_charges.charges_for``; the partial unique index on
invoices (one regular invoice per customer and month) makes a repeated or parallel execution
fail instead of issuing twice, and a run that finds the invoice already there just records it.
Issued invoices are then sent to KSeF by their own job.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import aftercommit
from core.i18n import _l
from core.settings import OperatorParty
from models import (
    BillingRun,
    Customer,
    Invoice,
    InvoiceKind,
    Line,
    OrderLine,
    RunStatus,
)
from models.base import utcnow
from services import ServiceError, audit, contracts, invoices
from services.audit import Actor
from services.billing_charges import charges_for
from services.billing_period import Period

RUN_JOB = "workers.billing_jobs.run_billing"
KSEF_JOB = "workers.billing_jobs.send_to_ksef"
QUEUE = "billing"
MAX_ATTEMPTS = 3
STALE = timedelta(minutes=30)  # a run longer than its job timeout died with its worker


def enqueue_run(session: Session, run: BillingRun) -> None:
    aftercommit.enqueue(
        session, QUEUE, RUN_JOB, run.id, job_id=f"billing-run-{run.id}", job_timeout=1800
    )


KSEF_RETRY_INTERVALS = [10, 60, 300, 900]  # KSeF unavailable: try again later


def enqueue_ksef(session: Session, invoice_id: int) -> None:
    from rq import Retry

    aftercommit.enqueue(
        session,
        QUEUE,
        KSEF_JOB,
        invoice_id,
        job_id=f"ksef-{invoice_id}",
        job_timeout=300,
        retry=Retry(max=len(KSEF_RETRY_INTERVALS), interval=KSEF_RETRY_INTERVALS),
    )


def request_run(
    session: Session, customer: Customer, period: Period, requested_by: str = "system"
) -> BillingRun:
    """The customer's run for ``period``, queued unless it is done or under way."""
    if period.end >= utcnow().date():
        raise ServiceError(_l("A month can be billed once it has ended."), field="period")
    run = session.scalar(
        select(BillingRun).where(
            BillingRun.customer_id == customer.id, BillingRun.period_start == period.start
        )
    )
    if run is None:
        try:
            with session.begin_nested():
                run = BillingRun(
                    customer_id=customer.id,
                    period_start=period.start,
                    status=RunStatus.queued,
                    requested_by=requested_by[:254],
                )
                session.add(run)
        except IntegrityError:
            return session.scalar(
                select(BillingRun).where(
                    BillingRun.customer_id == customer.id,
                    BillingRun.period_start == period.start,
                )
            )
        enqueue_run(session, run)
    elif run.status == RunStatus.failed:
        run.status = RunStatus.queued
        run.attempts = 0
        run.error = None
        run.requested_by = requested_by[:254]
        enqueue_run(session, run)
    session.flush()
    return run


def billable_customers(session: Session, period: Period) -> list[int]:
    """Customers with a line or an order position that may carry a charge for ``period``."""
    _start, end = period.utc_bounds()
    with_lines = select(Line.customer_id).where(Line.created_at < end)
    with_orders = select(OrderLine.customer_id).where(OrderLine.completed_at < end)
    return sorted(set(session.scalars(with_lines.union(with_orders))))


def request_all(session: Session, period: Period) -> int:
    """Queue the month's run of every billable customer that has none yet; how many."""
    have = set(
        session.scalars(
            select(BillingRun.customer_id).where(BillingRun.period_start == period.start)
        )
    )
    count = 0
    for customer_id in billable_customers(session, period):
        if customer_id not in have:
            request_run(session, session.get(Customer, customer_id), period)
            count += 1
    return count


def claim(session: Session, run_id: int) -> bool:
    """Mark a queued or stale run running; False if it is done (a repeated job does nothing)."""
    claimed = session.execute(
        update(BillingRun)
        .where(
            BillingRun.id == run_id,
            BillingRun.status.in_((RunStatus.queued, RunStatus.running)),
            BillingRun.attempts < MAX_ATTEMPTS,
        )
        .values(
            status=RunStatus.running,
            attempts=BillingRun.attempts + 1,
            started_at=utcnow(),
        )
    ).rowcount
    return claimed == 1


def existing_invoice(session: Session, customer_id: int, period: Period) -> Invoice | None:
    return session.scalar(
        select(Invoice).where(
            Invoice.customer_id == customer_id,
            Invoice.period_start == period.start,
            Invoice.kind == InvoiceKind.invoice,
        )
    )


def execute(
    session: Session,
    run: BillingRun,
    issue_date: date | None = None,
    seller: OperatorParty | None = None,
) -> Invoice | None:
    """Issue the run's invoice (None: nothing to bill). Safe to repeat. ``seller``: the
    operator as configured (``Settings.operator_party``)."""
    period = Period.of(run.period_start)
    invoice = existing_invoice(session, run.customer_id, period)
    if invoice is None:
        charges = charges_for(session, run.customer_id, period)
        if charges:
            customer = session.get(Customer, run.customer_id)
            contract = contracts.active_contract(session, customer.id)
            version = (
                contracts.version_in_force(session, contract, period.end) if contract else None
            )
            draft = invoices.new_draft(
                session,
                customer,
                period.start,
                period.end,
                contract_version_id=version.id if version else None,
                seller=seller,
            )
            invoices.add_lines(session, draft, charges)
            invoice = invoices.issue(session, Actor.system("billing"), draft, issue_date)
            enqueue_ksef(session, invoice.id)
    run.invoice_id = invoice.id if invoice else None
    run.status = RunStatus.done
    run.error = None
    run.finished_at = utcnow()
    session.flush()
    audit.record(
        session,
        Actor.system("billing"),
        "billing.run_done",
        customer_id=run.customer_id,
        obj=run,
        after={"period": period.label, "invoice": invoice.number if invoice else None},
    )
    return invoice


def fail(session: Session, run_id: int, error: str, final: bool) -> None:
    run = session.get(BillingRun, run_id)
    if run is None or run.status == RunStatus.done:
        return
    run.error = error[:2000]
    run.status = RunStatus.failed if final else RunStatus.queued
    run.finished_at = utcnow()
    session.flush()


def runs(session: Session, limit: int = 200) -> list[BillingRun]:
    return list(
        session.scalars(
            select(BillingRun)
            .order_by(BillingRun.period_start.desc(), BillingRun.id.desc())
            .limit(limit)
        )
    )


def lost_runs(session: Session) -> list[int]:
    """Runs whose job may have vanished, for the sweep to enqueue again: queued ones, and
    running ones started over ``STALE`` ago (a worker killed mid-run)."""
    stale = utcnow() - STALE
    return list(
        session.scalars(
            select(BillingRun.id).where(
                BillingRun.attempts < MAX_ATTEMPTS,
                (BillingRun.status == RunStatus.queued)
                | ((BillingRun.status == RunStatus.running) & (BillingRun.started_at < stale)),
            )
        )
    )
