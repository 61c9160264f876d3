"""Billing jobs: a customer's monthly run, sending invoices to KSeF, and their sweeps.

``run_billing(run_id)`` claims the run, issues the invoice in one transaction and commits; an
error marks the run failed with the reason (after the last attempt) in a transaction of its
own, so the console shows it. ``send_to_ksef(invoice_id)`` sends one issued invoice; KSeF
being unavailable makes RQ retry. ``monthly_billing`` (scheduled; on the 1st it finds the
previous month unbilled) queues a run for every billable customer; ``sweep_billing``
re-enqueues queued runs and unsent invoices whose jobs were lost. All are safe to repeat.
"""

from __future__ import annotations

import logging
import traceback

from integrations.ksef import SimulatedKsef
from models import BillingRun, Invoice
from models.base import utcnow
from services import billing, ksef_submission
from services.billing_period import Period, local_date
from workers.context import runtime, unit_of_work

log = logging.getLogger(__name__)


def gateway():
    return SimulatedKsef(runtime().redis)


def run_billing(run_id: int) -> str:
    with unit_of_work() as s:
        if not billing.claim(s, run_id):
            return "skipped"
    try:
        with unit_of_work() as s:
            invoice = billing.execute(
                s, s.get(BillingRun, run_id), seller=runtime().settings.operator_party
            )
            number = invoice.number if invoice else None
    except Exception as exc:
        log.exception("billing run %s failed", run_id)
        with unit_of_work() as s:
            run = s.get(BillingRun, run_id)
            final = run is not None and run.attempts >= billing.MAX_ATTEMPTS
            reason = f"{type(exc).__name__}: {exc}"[:1500]
            billing.fail(s, run_id, reason + "\n" + traceback.format_exc(limit=3)[-400:], final)
            if not final:
                billing.enqueue_run(s, run)
        return "failed"
    return number or "nothing"


def send_to_ksef(invoice_id: int) -> str:
    with unit_of_work() as s:
        invoice = s.get(Invoice, invoice_id)
        if invoice is None:
            return "missing"
        return ksef_submission.submit(s, invoice, gateway())


def monthly_billing() -> int:
    """Queue the previous month's runs (a no-op for customers that have theirs)."""
    period = Period.of(local_date(utcnow())).previous()
    with unit_of_work() as s:
        return billing.request_all(s, period)


def sweep_billing() -> int:
    with unit_of_work() as s:
        runs = billing.lost_runs(s)
        for run_id in runs:
            billing.enqueue_run(s, s.get(BillingRun, run_id))
        unsent = ksef_submission.unsent(s)
        for invoice_id in unsent:
            billing.enqueue_ksef(s, invoice_id)
    return len(runs) + len(unsent)
