"""Spend alerts: a line's projected month-end spend against its monthly limit, and its roaming
charges against the policy's roaming spend cap.

``evaluate`` (the periodic job, and after each usage file is loaded) looks at every active line
with a limit or with roaming usage this month. When the projected month-end spend
(``services.usage.projected_spend``, not the running total) reaches 50, 80 or 100 % of the
limit, or the month's roaming charges reach the cap, the employee (if they have a portal
account) and the line's fleet admins are told by e-mail. A ``SpendAlert`` row per line, month
and threshold makes it happen once: a second run, another worker or a restart finds the row.
A jump over several thresholds at once is one mail, for the highest.

Where the line's policy says so (``spend.roaming_off`` at 100 % of the limit, ``roaming.cap_off``
at the cap), roaming is switched off through provisioning, audited, and the mail says why. This
happens with the alert, so once a month: if an admin switches roaming back on, it stays on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.i18n import _l, in_locale, money_text
from models import (
    LIMIT_THRESHOLDS,
    ROAMING_CAP,
    Line,
    LineStatus,
    PortalRole,
    PortalUser,
    Service,
    SpendAlert,
    UsageDaily,
    Zone,
)
from services import audit, mail, policies, provisioning, selfservice
from services.audit import Actor
from services.fleet import format_msisdn
from services.usage import local_today, month_start, month_to_date, projected_spend

BATCH = 500
ACTOR = Actor.system("spend alerts")


@dataclass
class Outcome:
    alerts: int = 0  # rows recorded
    mails: int = 0
    roaming_off: list[int] = field(default_factory=list)  # line ids
    # (customer id, unit path) -> the fleet admins covering it, read once per evaluation
    admins: dict = field(default_factory=dict, repr=False)


def percent_of(amount: Decimal, limit: Decimal | None) -> int | None:
    if not limit or limit <= 0:
        return None
    return int(amount * 100 / limit)


def crossed(projected: Decimal, limit: Decimal | None) -> list[int]:
    """The thresholds (percent) the projected spend has reached."""
    if not limit or limit <= 0 or projected <= 0:
        return []
    return [t for t in LIMIT_THRESHOLDS if projected * 100 >= limit * t]


def _candidates(session: Session, today: date, only: list[int] | None) -> Iterator[list[Line]]:
    """Active lines with a limit or with roaming usage this month, in batches by id."""
    roamed = exists().where(
        UsageDaily.line_id == Line.id,
        UsageDaily.day >= month_start(today),
        UsageDaily.day <= today,
        UsageDaily.zone != Zone.domestic,
    )
    query = select(Line).where(
        Line.status == LineStatus.active, or_(Line.monthly_limit.is_not(None), roamed)
    )
    if only is not None:
        query = query.where(Line.id.in_(only or [0]))
    last = 0
    while True:
        batch = list(session.scalars(query.where(Line.id > last).order_by(Line.id).limit(BATCH)))
        if not batch:
            return
        yield batch
        last = batch[-1].id


def evaluate(
    session: Session, now: datetime | None = None, line_ids: list[int] | None = None
) -> Outcome:
    """Record and tell the thresholds crossed this month (Europe/Warsaw) by ``now``."""
    today = local_today(now)
    month = month_start(today)
    outcome = Outcome()
    policy_of: dict[tuple[int, str], policies.Policy] = {}
    for batch in _candidates(session, today, line_ids):
        ids = [ln.id for ln in batch]
        projections = projected_spend(session, [ln.id for ln in batch if ln.monthly_limit], today)
        totals = month_to_date(session, ids, today)
        told = {
            (line_id, kind)
            for line_id, kind in session.execute(
                select(SpendAlert.line_id, SpendAlert.kind).where(
                    SpendAlert.line_id.in_(ids), SpendAlert.month == month
                )
            )
        }
        plans = []  # (rows, what to do once they are recorded)
        for line in batch:
            key = (line.customer_id, line.unit_path)
            if key not in policy_of:
                policy_of[key] = policies.effective_for_path(session, *key)
            policy = policy_of[key]
            proj = projections.get(line.id)
            if proj is not None:
                reached = crossed(proj.projected, line.monthly_limit)
                new = [t for t in reached if (line.id, str(t)) not in told]
                if new:
                    rows = [
                        _row(line, month, str(t), proj.projected, line.monthly_limit, t == max(new))
                        for t in new
                    ]
                    plans.append((rows, partial(_limit_alert, line, max(new), proj, policy)))
            cap = policy.value("roaming.spend_cap")
            roaming = totals[line.id].roaming_charge
            over = cap is not None and roaming > 0 and roaming >= cap
            if over and (line.id, ROAMING_CAP) not in told:
                rows = [_row(line, month, ROAMING_CAP, roaming, cap, True)]
                plans.append((rows, partial(_cap_alert, line, roaming, cap, policy)))
        for rows, then in _record(session, plans):
            outcome.alerts += len(rows)
            then(session, rows, outcome)
    session.flush()
    return outcome


def _row(line: Line, month: date, kind: str, amount, limit, mailed: bool) -> SpendAlert:
    return SpendAlert(
        customer_id=line.customer_id,
        line_id=line.id,
        unit_path=line.unit_path,
        month=month,
        kind=kind,
        amount=amount,
        limit=limit,
        mailed=mailed,
    )


COPIED = ("customer_id", "line_id", "unit_path", "month", "kind", "amount", "limit", "mailed")


def _record(session: Session, plans: list) -> list:
    """Insert the plans' rows, all at once; if another evaluation got there first for some (the
    unique key decides), plan by plan, leaving out the ones already recorded."""
    if not plans:
        return []
    try:
        with session.begin_nested():
            session.add_all(row for rows, _then in plans for row in rows)
            session.flush()
        return plans
    except IntegrityError:
        pass
    done = []
    for rows, then in plans:
        fresh = [SpendAlert(**{k: getattr(r, k) for k in COPIED}) for r in rows]
        try:
            with session.begin_nested():
                session.add_all(fresh)
                session.flush()
        except IntegrityError:
            continue
        done.append((fresh, then))
    return done


def _limit_alert(line, highest, proj, policy, session, rows, outcome: Outcome) -> None:
    off = None
    if highest == 100 and policy.value("spend.roaming_off"):
        off = _roaming_off(session, line, "limit", policy["spend.roaming_off"])
        rows[-1].roaming_off_request_id = off
    values = {
        "number": format_msisdn(line.msisdn),
        "percent": f"{highest}%",
        "projected": proj.projected,
        "to_date": proj.to_date,
        "limit": line.monthly_limit,
    }

    def body(name):
        text = str(
            _l(
                "Hello %(name)s,\n\nAt the pace of the last days, line %(number)s is projected to "
                "spend %(projected)s this month: %(percent)s of its monthly limit of %(limit)s. "
                "This is a projection; the charges so far this month are %(to_date)s.",
                name=name,
                number=values["number"],
                percent=values["percent"],
                projected=money_text(values["projected"]),
                limit=money_text(values["limit"]),
                to_date=money_text(values["to_date"]),
            )
        )
        if off is not None:
            text += "\n\n" + str(
                _l(
                    "Roaming on this line is being switched off: the policy switches it off "
                    "when the projected spend reaches the limit."
                )
            )
        return text

    def subject():
        return str(
            _l(
                "Line %(number)s: projected spend at %(percent)s of the limit",
                number=values["number"],
                percent=values["percent"],
            )
        )

    outcome.mails += _tell(session, line, subject, body, outcome.admins)
    if off is not None:
        outcome.roaming_off.append(line.id)


def _cap_alert(line, roaming, cap, policy, session, rows, outcome: Outcome) -> None:
    row = rows[0]
    off = None
    if policy.value("roaming.cap_off"):
        off = _roaming_off(session, line, "roaming_cap", policy["roaming.cap_off"])
        row.roaming_off_request_id = off
    number = format_msisdn(line.msisdn)

    def body(name):
        text = str(
            _l(
                "Hello %(name)s,\n\nThe roaming charges of line %(number)s this month are "
                "%(roaming)s, which reaches the monthly roaming spend cap of %(cap)s.",
                name=name,
                number=number,
                roaming=money_text(roaming),
                cap=money_text(cap),
            )
        )
        if off is not None:
            text += "\n\n" + str(
                _l(
                    "Roaming on this line is being switched off: the policy switches it off "
                    "when the roaming spend cap is reached."
                )
            )
        return text

    def subject():
        return str(_l("Line %(number)s: roaming spend cap reached", number=number))

    outcome.mails += _tell(session, line, subject, body, outcome.admins)
    if off is not None:
        outcome.roaming_off.append(line.id)


def _roaming_off(session: Session, line: Line, why: str, rule: policies.Effective) -> int | None:
    """Roaming off through provisioning (if it is on or on its way), audited with the rule."""
    if not selfservice.expected_service(session, line, Service.roaming):
        return None
    req = provisioning.request_change(
        session, ACTOR, line, "set_service", {"service": Service.roaming.value, "on": False}
    )
    audit.record(
        session,
        ACTOR,
        "spend.roaming_off",
        customer_id=line.customer_id,
        obj=line,
        after={
            "request": req.id,
            "reason": why,
            "rule": rule.key,
            "unit_id": rule.unit.id if rule.unit else None,
        },
    )
    return req.id


def recipients(session: Session, line: Line, admins: dict | None = None) -> list[PortalUser]:
    """The employee's portal account(s) on this line, then its fleet admins (``admins``: a
    cache of them by unit)."""
    people: list[PortalUser] = []
    if line.employee_id is not None:
        people.extend(
            session.scalars(
                select(PortalUser).where(
                    PortalUser.customer_id == line.customer_id,
                    PortalUser.employee_id == line.employee_id,
                    PortalUser.role == PortalRole.employee,
                    PortalUser.is_active.is_(True),
                )
            )
        )
    key = (line.customer_id, line.unit_path)
    admins = {} if admins is None else admins
    if key not in admins:
        admins[key] = selfservice.admins_for(session, *key)
    people.extend(admins[key])
    return people


def _tell(session: Session, line: Line, subject, body, admins: dict) -> int:
    sent = 0
    for user in recipients(session, line, admins):
        with in_locale(user.locale):
            mail.queue_mail(
                session, user.email, subject(), body(user.full_name), customer_id=line.customer_id
            )
        sent += 1
    return sent
