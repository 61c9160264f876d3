"""What a staff user may see and change in the console.

Account managers: their own customers only (a foreign customer id answers 404). Sales admins:
the catalogue and stock, and read access to customers. Operator admins: everything, and staff.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select

from core.web import db
from models import Customer, StaffRole, StaffUser


def customers(user: StaffUser) -> Select:
    query = select(Customer)
    if user.role == StaffRole.account_manager:
        query = query.where(Customer.account_manager_id == user.id)
    return query


def customer_or_404(user: StaffUser, customer_id: int) -> Customer:
    customer = db().scalar(customers(user).where(Customer.id == customer_id))
    if customer is None:
        abort(404)
    return customer


def require_role(*roles: StaffRole) -> None:
    if current_user.role not in roles:
        abort(403)


def can_change_customer(user: StaffUser) -> bool:
    """Sales admins read customer records; managers (own) and operator admins change them."""
    return user.role in (StaffRole.account_manager, StaffRole.operator_admin)


def can_manage_catalogue(user: StaffUser) -> bool:
    return user.role in (StaffRole.sales_admin, StaffRole.operator_admin)
