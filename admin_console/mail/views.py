"""The outbox: messages queued, sent and failed, one message, and sending failed ones again.

An account manager sees the mail of their own customers; an operator admin all mail,
including mail that belongs to no customer (sign-in links, system notices).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import Select, func, or_, select

from admin_console import scope
from admin_console.mail import bp
from admin_console.mail import compose as _compose  # noqa: F401  (routes on bp)
from admin_console.mail import templates as _templates  # noqa: F401  (routes on bp)
from admin_console.mail.forms import ActionForm, int_or_none
from core.web import actor, commit, db, runtime, safe_next
from models import Customer, MailStatus, OutgoingMail, StaffRole, StaffUser
from services import ServiceError
from services import mail as mail_service

PAGE_SIZE = 50
MAX_PAGE = 100_000
RETRY_LIMIT = 1000
SENDERS = (StaffRole.account_manager, StaffRole.operator_admin)


def mails(user) -> Select:
    """The mail this staff user may see (with its customer joined, if it has one)."""
    query = select(OutgoingMail).outerjoin(Customer, Customer.id == OutgoingMail.customer_id)
    if user.role == StaffRole.account_manager:
        query = query.where(Customer.account_manager_id == user.id)
    elif user.role != StaffRole.operator_admin:
        abort(403)
    return query


def mail_or_404(user, mail_id: int) -> OutgoingMail:
    mail = db().scalar(mails(user).where(OutgoingMail.id == mail_id))
    if mail is None:
        abort(404)
    return mail


def _filters(query: Select, customer: Customer | None, q: str) -> Select:
    if customer is not None:
        query = query.where(OutgoingMail.customer_id == customer.id)
    if q:
        like = f"%{q.lower()}%"
        matching = select(Customer.id).where(
            or_(func.lower(Customer.name).like(like), func.lower(Customer.number).like(like))
        )
        query = query.where(
            or_(
                func.lower(OutgoingMail.recipient).like(like),
                func.lower(OutgoingMail.subject).like(like),
                OutgoingMail.customer_id.in_(matching),
            )
        )
    return query


def _customer_arg() -> Customer | None:
    raw = request.values.get("customer_id")
    if not raw:
        return None
    customer_id = int_or_none(raw)
    if customer_id is None:
        abort(404)
    return scope.customer_or_404(current_user, customer_id)


@bp.route("/")
def index():
    if current_user.role == StaffRole.sales_admin:
        return redirect(url_for("mail.templates"))
    scope.require_role(*SENDERS)
    customer = _customer_arg()
    q = " ".join((request.args.get("q") or "").split())[:100]
    status = request.args.get("status", "")
    status = status if status in MailStatus.__members__ else ""
    page = min(max(1, request.args.get("page", 1, type=int)), MAX_PAGE)

    filtered = _filters(mails(current_user), customer, q)
    counts = dict(
        db()
        .execute(
            filtered.with_only_columns(OutgoingMail.status, func.count())
            .group_by(OutgoingMail.status)
            .order_by(None)
        )
        .all()
    )
    if status:
        filtered = filtered.where(OutgoingMail.status == MailStatus(status))
    total = counts.get(MailStatus(status), 0) if status else sum(counts.values())
    rows = db().execute(
        filtered.add_columns(
            Customer.name.label("customer_name"),
            Customer.number.label("customer_number"),
            StaffUser.full_name.label("sender_name"),
        )
        .outerjoin(StaffUser, StaffUser.id == OutgoingMail.staff_user_id)
        .order_by(OutgoingMail.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return render_template(
        "admin_console/mail/outbox.html",
        rows=list(rows),
        counts=counts,
        total=total,
        status=status,
        q=q,
        customer=customer,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


@bp.route("/<int:mail_id>")
def detail(mail_id: int):
    mail = mail_or_404(current_user, mail_id)
    customer = db().get(Customer, mail.customer_id) if mail.customer_id else None
    sender = db().get(StaffUser, mail.staff_user_id) if mail.staff_user_id else None
    return render_template(
        "admin_console/mail/detail.html",
        mail=mail,
        customer=customer,
        sender=sender,
        mail_from=runtime().settings.mail_sender,
        max_attempts=mail_service.MAX_ATTEMPTS,
        action_form=ActionForm(),
    )


@bp.route("/<int:mail_id>/retry", methods=["POST"])
def retry(mail_id: int):
    mail = mail_or_404(current_user, mail_id)
    form = ActionForm()
    back = safe_next(request.form.get("next"), url_for("mail.detail", mail_id=mail.id))
    if not form.validate_on_submit():
        flash(_("The form has expired. Reload the page and try again."), "danger")
        return redirect(back)
    try:
        mail_service.retry_failed(db(), actor(), [mail])
    except ServiceError as err:
        db().rollback()
        flash(err.text, "danger")
        return redirect(back)
    commit()
    flash(_("The message to %(address)s is queued again.", address=mail.recipient), "success")
    return redirect(back)


@bp.route("/retry-failed", methods=["POST"])
def retry_all():
    """Send again every failed message the outbox shows with the current filters."""
    scope.require_role(*SENDERS)
    customer = _customer_arg()
    q = " ".join((request.form.get("q") or "").split())[:100]
    back = url_for(
        "mail.index", status="failed", q=q or None, customer_id=customer.id if customer else None
    )
    if not ActionForm().validate_on_submit():
        flash(_("The form has expired. Reload the page and try again."), "danger")
        return redirect(back)
    failed = list(
        db().scalars(
            _filters(mails(current_user), customer, q)
            .where(OutgoingMail.status == MailStatus.failed)
            .order_by(OutgoingMail.id)
            .limit(RETRY_LIMIT)
        )
    )
    try:
        n = mail_service.retry_failed(db(), actor(), failed)
    except ServiceError:
        db().rollback()
        flash(_("There is no failed message to send again."), "info")
        return redirect(back)
    commit()
    flash(
        ngettext("%(num)d message is queued again.", "%(num)d messages are queued again.", n),
        "success",
    )
    return redirect(
        url_for("mail.index", q=q or None, customer_id=customer.id if customer else None)
    )
