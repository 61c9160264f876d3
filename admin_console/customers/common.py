"""What the customer views share: loading a customer for reading or changing, and the links
that go into invitation mails."""

from __future__ import annotations

from flask import abort, current_app
from flask_login import current_user
from sqlalchemy import func, select

from admin_console import scope
from core.web import db, public_bases, runtime
from models import Contract, ContractState, Customer, Line, StaffRole, StaffUser
from services.account_links import Links


def customer_for_reading(customer_id: int) -> Customer:
    return scope.customer_or_404(current_user, customer_id)


def customer_for_change(customer_id: int) -> Customer:
    """404 outside the user's customers, then 403 for those who may only read (sales admins)."""
    customer = scope.customer_or_404(current_user, customer_id)
    if not scope.can_change_customer(current_user):
        abort(403)
    return customer


def is_operator_admin() -> bool:
    return current_user.role == StaffRole.operator_admin


def links() -> Links:
    """The portal is mounted at the root of this site, the console at its script root."""
    portal_base, console_base = public_bases()
    return Links(
        secret=runtime().settings.secret_key, portal_base=portal_base, console_base=console_base
    )


def mail_locale(account=None) -> str:
    """The language a mail to this person is written in: theirs, or the installation's."""
    return (account and account.locale) or current_app.config["BABEL_DEFAULT_LOCALE"]


def manager_choices(blank_label) -> list[tuple[str, str]]:
    managers = db().scalars(
        select(StaffUser)
        .where(StaffUser.role == StaffRole.account_manager, StaffUser.is_active.is_(True))
        .order_by(StaffUser.full_name)
    )
    return [("", blank_label)] + [(str(m.id), m.full_name) for m in managers]


def header_facts(customer: Customer) -> dict:
    """Manager, active contract and number of lines, shown at the top of every customer page."""
    manager = (
        db().get(StaffUser, customer.account_manager_id) if customer.account_manager_id else None
    )
    contract = db().scalar(
        select(Contract).where(
            Contract.customer_id == customer.id, Contract.state == ContractState.active
        )
    )
    lines = db().scalar(
        select(func.count()).select_from(Line).where(Line.customer_id == customer.id)
    )
    return {"manager": manager, "active_contract": contract, "line_count": lines}
