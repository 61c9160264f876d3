"""Periodic work: sweeps that re-enqueue what a lost job left behind, and scheduled runs.

Every periodic job is idempotent, so two schedulers running at once do no harm.
"""

from __future__ import annotations

from rq.cron import CronScheduler

from core.runtime import Runtime
from workers import (
    billing_jobs,
    contract_jobs,
    fleet_io_jobs,
    mail_jobs,
    provisioning_jobs,
    queues,
    report_jobs,
    selfservice_jobs,
    spend_jobs,
    stock_jobs,
    usage_jobs,
)

SWEEPS = [
    # (function, queue, seconds between runs)
    (mail_jobs.sweep_mail, queues.MAIL, 60),
    (provisioning_jobs.sweep_provisioning, queues.PROVISIONING, 10),
    (selfservice_jobs.fire_scheduled, queues.PROVISIONING, 30),
    (stock_jobs.sweep_backorders, queues.BACKORDERS, 30),
    (contract_jobs.expire_contracts, queues.DEFAULT, 3600),
    (fleet_io_jobs.sweep_lost_tasks, queues.DOCUMENTS, 60),
    (fleet_io_jobs.sweep_task_files, queues.DOCUMENTS, 600),
    (usage_jobs.sweep_usage_files, queues.USAGE, 60),
    (billing_jobs.sweep_billing, queues.BILLING, 300),
    (spend_jobs.evaluate_spend, queues.DEFAULT, 900),
    (report_jobs.send_monthly_reports, queues.DOCUMENTS, 3600),
]

# (function, queue, cron): the previous month's billing early on the 1st; the 2nd and 3rd catch up
# if the scheduler was down (customers already billed are skipped).
CRON = [
    (billing_jobs.monthly_billing, queues.BILLING, "30 1 1-3 * *"),
]


def build_scheduler(rt: Runtime) -> CronScheduler:
    scheduler = CronScheduler(connection=rt.redis, logging_level="INFO")
    for func, queue, interval in SWEEPS:
        scheduler.register(func, queue, interval=interval, job_timeout=300)
    for func, queue, cron in CRON:
        scheduler.register(func, queue, cron=cron, job_timeout=1800)
    return scheduler
