"""Report jobs: a large export for My files, and the monthly subscriptions.

``export_report`` is a task that makes one file (``task_jobs.write_file``: delivered twice, it
does nothing the second time; progress is committed while the report is read).
"""

from __future__ import annotations

import logging

from flask_babel import force_locale

from models import PortalUser, ReportSubscription
from services.reports import subscriptions, tables, work
from services.usage import local_today
from workers import task_jobs
from workers.context import runtime, unit_of_work

log = logging.getLogger(__name__)


def keep_days() -> int:
    """How long the file stays in My files (settings: REPORT_KEEP_DAYS)."""
    return runtime().settings.report_keep_days


def export_report(task_id: int) -> str:
    return task_jobs.write_file(
        task_id,
        "report export",
        work.write_file,
        lambda params: tables.CONTENT_TYPES[params["fmt"]],
        "rows",
        localized=True,
        keep_days=keep_days(),
    )


CATCH_UP_DAYS = 7  # a month missed on the 1st (workers down) is still sent until the 7th


def send_monthly_reports(today=None) -> int:
    """Periodic (hourly): on the first days of a month, deliver the previous month to every
    subscription that has not received it. One transaction per subscription; the delivery key
    makes a second run, or a second scheduler, send nothing twice."""
    today = today or local_today()
    if today.day > CATCH_UP_DAYS:
        return 0
    rt = runtime()
    period = subscriptions.previous_month(today)
    portal_url = rt.settings.public_url or ""
    with unit_of_work() as s:
        due = subscriptions.due(s, period.start)
    sent = 0
    for sub_id in due:
        try:
            with unit_of_work() as s:
                sub = s.get(ReportSubscription, sub_id)
                user = s.get(PortalUser, sub.portal_user_id) if sub else None
                locale = (user.locale if user else None) or rt.settings.default_locale
                with force_locale(locale):
                    if subscriptions.deliver(
                        s, rt.files, sub_id, period, locale=locale, portal_url=portal_url,
                        keep_days=keep_days(),
                    ):  # fmt: skip
                        sent += 1
        except Exception:
            log.exception("monthly report of subscription %s failed", sub_id)
    return sent
