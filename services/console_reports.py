"""Figures per customer for the console's reports: lines, estimated recurring revenue, orders
and back-orders, open and overdue service requests, and how much the customer uses the portal.

One grouped query per figure, whatever the number of customers. The customers come in as a
query of customer ids (the console's scope decides which: an account manager's own, one
manager's, or all).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
    BackgroundTask,
    Contract,
    ContractItem,
    ContractState,
    ContractVersion,
    Customer,
    Line,
    LineStatus,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    PortalUser,
    StaffUser,
    TariffPlan,
    TaskStatus,
)
from services import service_requests
from services.offer import contract_price, on_sale

PERIODS = (30, 90, 365)
OPEN_ORDER_STATES = (
    OrderState.acknowledged,
    OrderState.pending,
    OrderState.inProgress,
    OrderState.partial,
)
SORTS = {
    "name": (lambda r: (r.name.lower(), r.customer_id), False),
    "lines": (lambda r: (r.active_lines, r.name.lower()), True),
    "revenue": (lambda r: (r.revenue, r.name.lower()), True),
    "orders": (lambda r: (r.open_orders, r.backorder_units, r.name.lower()), True),
    "service": (
        lambda r: (r.overdue_service_requests, r.open_service_requests, r.name.lower()),
        True,
    ),
    "adoption": (lambda r: (r.adoption, r.portal_users, r.name.lower()), True),
    "logins": (lambda r: (r.logins, r.name.lower()), True),
}


@dataclass
class CustomerFigures:
    customer_id: int
    number: str
    name: str
    manager_name: str | None
    active_lines: int = 0
    revenue: Decimal = Decimal("0.00")  # estimated monthly recurring revenue, net PLN
    priced_by_contract: bool = False
    open_orders: int = 0
    backorder_lines: int = 0
    backorder_units: int = 0
    open_service_requests: int = 0
    overdue_service_requests: int = 0  # open past their deadline, now
    portal_users: int = 0  # active accounts
    active_users: int = 0  # signed in within the period
    logins: int = 0
    files: int = 0  # exports and documents generated in the portal
    orders_portal: int = 0  # placed in the period, in the portal
    orders_other: int = 0  # placed in the period by the operator (console, phone…)

    @property
    def adoption(self) -> float:
        return self.active_users / self.portal_users if self.portal_users else 0.0


TOTALLED = (
    "active_lines",
    "revenue",
    "open_orders",
    "backorder_lines",
    "backorder_units",
    "open_service_requests",
    "overdue_service_requests",
    "portal_users",
    "active_users",
    "logins",
    "files",
    "orders_portal",
    "orders_other",
)


@dataclass
class Report:
    rows: list[CustomerFigures]
    days: int
    since: datetime
    on: date

    def total(self, name: str):
        values = [getattr(r, name) for r in self.rows]
        return sum(values, Decimal("0.00") if name == "revenue" else 0)

    @property
    def totals(self) -> dict:
        return {name: self.total(name) for name in TOTALLED}

    @property
    def contract_customers(self) -> int:
        return sum(1 for r in self.rows if r.priced_by_contract)


def build(
    session: Session,
    customer_ids: Select,
    *,
    on: date,
    now: datetime,
    days: int = 30,
    sort: str = "name",
) -> Report:
    """Figures for the customers whose ids ``customer_ids`` selects."""
    since = now - timedelta(days=days)
    rows = {
        cid: CustomerFigures(cid, number, name, manager)
        for cid, number, name, manager in session.execute(
            select(Customer.id, Customer.number, Customer.name, StaffUser.full_name)
            .outerjoin(StaffUser, StaffUser.id == Customer.account_manager_id)
            .where(Customer.id.in_(customer_ids))
        )
    }
    if rows:
        _lines_and_revenue(session, rows, customer_ids, on)
        _orders(session, rows, customer_ids, since)
        _service_requests(session, rows, customer_ids, now)
        _portal(session, rows, customer_ids, since)
    key, reverse = SORTS.get(sort, SORTS["name"])
    ordered = sorted(rows.values(), key=key, reverse=reverse)
    return Report(ordered, days, since, on)


def _lines_and_revenue(session, rows, customer_ids, on: date) -> None:
    counts = list(
        session.execute(
            select(Line.customer_id, Line.tariff_id, func.count())
            .where(Line.status == LineStatus.active, Line.customer_id.in_(customer_ids))
            .group_by(Line.customer_id, Line.tariff_id)
        )
    )
    prices = contract_tariff_prices(session, customer_ids, on)
    tariffs = {
        t.id: t
        for t in session.scalars(
            select(TariffPlan).where(TariffPlan.id.in_({tariff_id for _, tariff_id, _ in counts}))
        )
    }
    for customer_id, tariff_id, n in counts:
        row = rows[customer_id]
        row.active_lines += n
        priced = prices.get(customer_id)
        price = tariff_price(tariffs[tariff_id], priced, on)
        row.revenue += price * n
    for customer_id in prices:
        rows[customer_id].priced_by_contract = True


# --- prices: services.offer's rule (contract_price, on_sale), for many customers at once ---


@dataclass
class Terms:
    """What the contract version in force says about tariffs: its discount for the kind, and
    each tariff item's individual price or discount (``None`` when it has none)."""

    tariff_discount_percent: Decimal
    items: dict[int, tuple[Decimal | None, Decimal | None]]  # tariff id: (price, discount)


def contract_tariff_prices(session: Session, customer_ids: Select, on: date) -> dict[int, Terms]:
    """The contract terms in force on ``on`` for each customer that has them; customers without
    an active contract in force are absent (they pay list prices). Plain columns, no entities:
    three short queries for any number of customers."""
    contracts = dict(
        session.execute(
            select(Contract.id, Contract.customer_id).where(
                Contract.state == ContractState.active, Contract.customer_id.in_(customer_ids)
            )
        ).all()
    )
    if not contracts:
        return {}
    in_force: dict[int, tuple[int, int, Decimal]] = {}  # contract id: (number, version id, %)
    for version_id, contract_id, number, discount in session.execute(
        select(
            ContractVersion.id,
            ContractVersion.contract_id,
            ContractVersion.number,
            ContractVersion.tariff_discount_percent,
        ).where(
            ContractVersion.contract_id.in_(list(contracts)), ContractVersion.effective_from <= on
        )
    ):
        if contract_id not in in_force or number > in_force[contract_id][0]:
            in_force[contract_id] = (number, version_id, discount)
    terms = {
        version_id: (contracts[contract_id], Terms(discount or Decimal("0"), {}))
        for contract_id, (_number, version_id, discount) in in_force.items()
    }
    if terms:
        for version_id, tariff_id, price, discount in session.execute(
            select(
                ContractItem.version_id,
                ContractItem.tariff_id,
                ContractItem.price,
                ContractItem.discount_percent,
            ).where(ContractItem.version_id.in_(list(terms)), ContractItem.tariff_id.is_not(None))
        ):
            terms[version_id][1].items[tariff_id] = (price, discount)
    return dict(terms.values())


def tariff_price(tariff: TariffPlan, terms: Terms | None, on: date) -> Decimal:
    """The monthly fee of one line: the contract's price for the tariff when the contract in
    force offers it — priced by ``services.offer.contract_price``, the function the published
    offer uses — otherwise the list price."""
    list_price = tariff.monthly_fee
    if terms is None:
        return list_price
    item = terms.items.get(tariff.id)
    if item is None or not on_sale(tariff, on):
        return list_price  # not in the contract's offer
    price, discount = item
    return contract_price(list_price, price, discount, terms.tariff_discount_percent)[0]


# --- orders and portal use -----------------------------------------------------------------


def _orders(session, rows, customer_ids, since: datetime) -> None:
    recent = Order.created_at >= since
    for customer_id, open_n, portal_n, other_n in session.execute(
        select(
            Order.customer_id,
            func.count(case((Order.state.in_(OPEN_ORDER_STATES), 1))),
            func.count(case((recent & (Order.channel == "portal"), 1))),
            func.count(case((recent & (Order.channel != "portal"), 1))),
        )
        .where(Order.customer_id.in_(customer_ids))
        .group_by(Order.customer_id)
    ):
        row = rows[customer_id]
        row.open_orders, row.orders_portal, row.orders_other = open_n, portal_n, other_n
    for customer_id, n, units in session.execute(
        select(
            OrderLine.customer_id,
            func.count(),
            func.coalesce(func.sum(OrderLine.quantity - OrderLine.allocated_qty), 0),
        )
        .where(OrderLine.state == OrderLineState.waiting, OrderLine.customer_id.in_(customer_ids))
        .group_by(OrderLine.customer_id)
    ):
        rows[customer_id].backorder_lines, rows[customer_id].backorder_units = n, int(units)


def _service_requests(session, rows, customer_ids, now: datetime) -> None:
    for customer_id, n in service_requests.open_counts(session, customer_ids).items():
        rows[customer_id].open_service_requests = n
    for customer_id, n in service_requests.overdue_counts(session, customer_ids, now).items():
        rows[customer_id].overdue_service_requests = n


def _portal(session, rows, customer_ids, since: datetime) -> None:
    for customer_id, total, active in session.execute(
        select(
            PortalUser.customer_id,
            func.count(),
            func.count(case((PortalUser.last_login_at >= since, 1))),
        )
        .where(PortalUser.is_active.is_(True), PortalUser.customer_id.in_(customer_ids))
        .group_by(PortalUser.customer_id)
    ):
        rows[customer_id].portal_users, rows[customer_id].active_users = total, active
    for customer_id, n in session.execute(
        select(AuditEvent.customer_id, func.count())
        .where(
            AuditEvent.customer_id.in_(customer_ids),
            AuditEvent.created_at >= since,
            AuditEvent.action == "portal.login",
        )
        .group_by(AuditEvent.customer_id)
    ):
        rows[customer_id].logins = n
    for customer_id, n in session.execute(
        select(BackgroundTask.customer_id, func.count())
        .where(
            BackgroundTask.customer_id.in_(customer_ids),
            BackgroundTask.created_at >= since,
            BackgroundTask.portal_user_id.is_not(None),
            BackgroundTask.status == TaskStatus.done,
        )
        .group_by(BackgroundTask.customer_id)
    ):
        rows[customer_id].files = n
