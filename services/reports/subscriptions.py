"""Monthly report subscriptions: subscribe, unsubscribe, and deliver a month once.

``deliver`` makes the report of the previous month in the subscriber's current scope (a user
moved to a smaller subtree receives only that subtree; a user who is no longer a fleet
administrator receives nothing), keeps the file as a task in the subscriber's My files and
queues an e-mail with the link. The ``ReportDelivery`` row, inserted first, makes the month
happen once whatever the number of runs.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.files import FileStore
from core.i18n import _l, _ln
from models import (
    BackgroundTask,
    PortalRole,
    PortalUser,
    ReportDelivery,
    ReportSubscription,
    TaskStatus,
)
from services import ServiceError, audit, mail, tasks
from services.fleet_query import FleetScope
from services.reports import documents, tables, usage_report
from services.reports.period import Period, add_months
from services.usage import month_start
from services.usage_format import WARSAW

KINDS = {("sim", "-"), *(("usage", g) for g in usage_report.GROUPS)}


def user_scope(user: PortalUser) -> FleetScope:
    return FleetScope(
        customer_id=user.customer_id,
        unit_path=user.scope_unit.path if user.scope_unit is not None else None,
    )


def subscribe(
    session: Session, user: PortalUser, actor: audit.Actor, report: str, group_by: str, fmt: str
) -> ReportSubscription:
    group_by = group_by if report == "usage" else "-"
    if (report, group_by) not in KINDS or fmt not in tables.FORMATS:
        raise ServiceError(_l("Choose a report and a format from the list."))
    if user.role != PortalRole.fleet_admin:
        raise ServiceError(_l("Only fleet administrators can subscribe to reports."))
    existing = session.scalar(
        select(ReportSubscription).where(
            ReportSubscription.portal_user_id == user.id,
            ReportSubscription.report == report,
            ReportSubscription.group_by == group_by,
            ReportSubscription.fmt == fmt,
        )
    )
    if existing is not None:
        raise ServiceError(_l("You already receive this report."))
    sub = ReportSubscription(
        customer_id=user.customer_id,
        portal_user_id=user.id,
        report=report,
        group_by=group_by,
        fmt=fmt,
    )
    session.add(sub)
    session.flush()
    audit.record(
        session, actor, "report.subscribed", customer_id=user.customer_id, obj=sub,
        after={"report": report, "group_by": group_by, "fmt": fmt},
    )  # fmt: skip
    return sub


def unsubscribe(session: Session, sub: ReportSubscription, actor: audit.Actor) -> None:
    audit.record(
        session, actor, "report.unsubscribed", customer_id=sub.customer_id, obj=sub,
        before={"report": sub.report, "group_by": sub.group_by, "fmt": sub.fmt},
    )  # fmt: skip
    session.delete(sub)
    session.flush()


def previous_month(today: date) -> Period:
    first = add_months(month_start(today), -1)
    return Period(first, month_start(today))


def due(session: Session, month: date) -> list[int]:
    """Subscriptions that have not received ``month`` yet, made before the next month began
    (a subscription of the 15th receives its first report on the next 1st)."""
    delivered = select(ReportDelivery.subscription_id).where(ReportDelivery.month == month)
    next_month = add_months(month, 1)
    begun = datetime(next_month.year, next_month.month, next_month.day, tzinfo=WARSAW)
    return list(
        session.scalars(
            select(ReportSubscription.id)
            .where(
                ReportSubscription.id.not_in(delivered),
                ReportSubscription.created_at < begun,
            )
            .order_by(ReportSubscription.id)
        )
    )


def params_for(sub: ReportSubscription, user: PortalUser, period: Period, locale: str) -> dict:
    params = {
        "report": sub.report,
        "scope": documents.scope_params(user_scope(user)),
        "fmt": sub.fmt,
        "locale": locale,
    }
    if sub.report == "usage":
        params.update(period=period.as_params(), group_by=sub.group_by)
    return params


def deliver(
    session: Session,
    store: FileStore,
    sub_id: int,
    period: Period,
    *,
    locale: str,
    portal_url: str,
    keep_days: int,
    customer_name: str | None = None,
) -> bool:
    """Deliver ``period`` of one subscription; False if it was delivered already (or the
    subscriber may no longer have it). Runs inside the caller's transaction (a savepoint
    guards the delivery key)."""
    sub = session.get(ReportSubscription, sub_id)
    if sub is None:
        return False
    delivery = ReportDelivery(subscription_id=sub.id, month=period.start)
    try:
        with session.begin_nested():
            session.add(delivery)
            session.flush()
    except IntegrityError:
        return False
    user = session.get(PortalUser, sub.portal_user_id)
    if user is None or user.role != PortalRole.fleet_admin or not user.is_active:
        return True  # recorded, so it is not tried again this month; nothing is sent
    params = params_for(sub, user, period, locale)
    name = documents.file_name(params, customer_name or user.customer.name)
    task = BackgroundTask(
        kind="report_export",
        customer_id=sub.customer_id,
        portal_user_id=user.id,
        params={**params, "file_name": name, "subscription_id": sub.id},
        status=TaskStatus.running,
    )
    session.add(task)
    session.flush()
    rel = store.new_name(f"tasks/{task.id}", "." + sub.fmt)
    with store.writing(rel) as tmp, tmp.open("wb") as fh:
        count = documents.write(session, params, fh)
    tasks.finish(
        session,
        task,
        file_path=rel,
        file_name=name,
        content_type=tables.CONTENT_TYPES[sub.fmt],
        file_size=store.size(rel),
        result={"rows": count},
        keep_days=keep_days,
    )
    link = f"{portal_url.rstrip('/')}/files/{task.id}"
    if sub.report == "usage":
        title = documents.usage_title(sub.group_by)
    else:
        title = str(_l("SIM configuration"))
    subject = str(_l("Monthly report: %(title)s, %(period)s", title=title, period=period.label()))
    body = "\n\n".join(
        [
            str(_l("Hello,")),
            str(
                _l(
                    'Your monthly report "%(title)s" for %(period)s is ready in My files:',
                    title=title,
                    period=period.label(),
                )
            ),
            link,
            str(
                _ln(
                    "The file is kept for %(num)d day.",
                    "The file is kept for %(num)d days.",
                    keep_days,
                )
            ),
        ]
    )
    queued = mail.queue_mail(session, user.email, subject, body, customer_id=sub.customer_id)
    delivery.task_id, delivery.mail_id = task.id, queued.id
    session.flush()
    return True
