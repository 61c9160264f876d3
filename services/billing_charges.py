"""What a customer owes for a month, as ``ChargeLine`` values: monthly fees, one-off charges
from orders, and usage (``services.billing_usage``).

Monthly fees are pro-rated by days. A line's history comes from its audit trail: every change
the network confirmed (activate, suspend, resume, change_tariff, terminate) is recorded with
the line's status and tariff before and after (``services.provisioning``). A day is charged
when the line is active on it (also while a termination is pending); the day of activation
is charged, the day of termination is not; a suspension is free from its day until the day
of resumption. A tariff change splits the month. The fee is the contract's price of the
tariff (``services.offer``: individual price or discount) on the last day of the month, or
its list price when the contract does not name it; a part of a month is
``fee × days / days in month``, rounded half-up to the grosz. A line is charged to the cost
centre of its department as it is when the billing runs.

One-off charges: order positions for handsets, accessories and exchanges completed within the
month, at the price the order took from the offer when it was placed.

How, for a customer with tens of thousands of lines: the lines come in one query as plain rows
(no ORM objects), their history in one more — the confirmed changes within the month and only
the last one before it — and a line's days are counted per stretch between two changes, not
day by day.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Integer, func, literal, or_, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
    Line,
    LineKind,
    LineStatus,
    OrderLine,
    OrderLineState,
    OrgUnit,
    Product,
    TariffPlan,
)
from services import offer as offers
from services import vat
from services.billing_period import Period, local_date
from services.billing_usage import usage_charges
from services.invoices import ChargeLine

CHARGED = {LineStatus.active.value, LineStatus.pendingTerminate.value}
HISTORY = tuple(
    f"provisioning.{a}.confirmed"
    for a in ("activate", "suspend", "resume", "change_tariff", "terminate")
)
ONE_OFF_KINDS = (LineKind.handset, LineKind.accessory, LineKind.exchange)
CATEGORY_ORDER = {"fee": 0, "one_off": 1, "usage": 2, "adjustment": 3}
SQLITE_CHUNK = 900  # ids per IN list on SQLite; PostgreSQL takes them all as one array
ONE_DAY = timedelta(days=1)


def _ids_filter(session: Session, column, ids: list[int]):
    """``column IN ids`` as one condition per chunk: one array parameter on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return [column == func.any(literal(ids, ARRAY(Integer)))]
    return [column.in_(ids[i : i + SQLITE_CHUNK]) for i in range(0, len(ids), SQLITE_CHUNK)]


def _history(session: Session, line_ids: list[int], period: Period) -> dict[int, list[tuple]]:
    """(day, before, after) of each line's confirmed changes, oldest first: those of the month
    and the last one before it (all that ``day_segments`` reads)."""
    out: dict[int, list[tuple]] = {}
    if not line_ids:
        return out
    start, end = period.utc_bounds()
    a = AuditEvent
    for ids in _ids_filter(session, a.object_id, list(line_ids)):
        wanted = (a.object_type == "line", ids, a.action.in_(HISTORY))
        columns = (a.object_id, a.created_at, a.id, a.before, a.after)
        in_month = select(*columns).where(*wanted, a.created_at >= start, a.created_at < end)
        ranked = (
            select(
                *columns,
                func.row_number()
                .over(partition_by=a.object_id, order_by=(a.created_at.desc(), a.id.desc()))
                .label("rank"),
            )
            .where(*wanted, a.created_at < start)
            .subquery()
        )
        last_before = select(
            ranked.c.object_id, ranked.c.created_at, ranked.c.id, ranked.c.before, ranked.c.after
        ).where(ranked.c.rank == 1)
        both = union_all(in_month, last_before).subquery()
        rows = session.execute(
            select(both.c.object_id, both.c.created_at, both.c.before, both.c.after).order_by(
                both.c.object_id, both.c.created_at, both.c.id
            )
        )
        for line_id, at, before, after in rows:
            out.setdefault(line_id, []).append((local_date(at), before or {}, after or {}))
    return out


def day_segments(line, history: list[tuple], period: Period) -> list[tuple[int, int]]:
    """[(tariff_id, charged days)] of the line in ``period``, one per tariff it had, in the
    order of their first charged day. ``line``: anything with the ``Line`` columns status,
    tariff_id, activated_at, created_at and terminated_at."""
    before_period = [h for h in history if h[0] < period.start]
    in_period = [h for h in history if h[0] >= period.start]
    if before_period:
        state = before_period[-1][2]
    elif in_period:
        state = in_period[0][1]
    else:
        state = {"status": line.status.value, "tariff_id": line.tariff_id}
    status, tariff_id = state.get("status", "active"), state.get("tariff_id", line.tariff_id)
    # The days the line exists: from activation (charged) to termination (not charged).
    first = max(period.start, local_date(line.activated_at or line.created_at))
    last = period.end
    if line.terminated_at:
        last = min(last, local_date(line.terminated_at) - ONE_DAY)
    days: dict[int, int] = {}
    i, n = 0, len(in_period)
    stretch = period.start
    while stretch <= period.end:
        # Changes of a day apply from that day on; the stretch lasts until the next change.
        while i < n and in_period[i][0] <= stretch:
            after = in_period[i][2]
            status = after.get("status", status)
            tariff_id = after.get("tariff_id", tariff_id)
            i += 1
        until = min(in_period[i][0] - ONE_DAY, period.end) if i < n else period.end
        if status in CHARGED:
            charged = (min(until, last) - max(stretch, first)).days + 1
            if charged > 0:
                days[tariff_id] = days.get(tariff_id, 0) + charged
        stretch = until + ONE_DAY
    return list(days.items())


def _lines(session: Session, customer_id: int, period: Period) -> list:
    """The customer's lines that may be charged in ``period``, as rows, in department and
    number order."""
    start, end = period.utc_bounds()
    return list(
        session.execute(
            select(
                Line.id,
                Line.unit_id,
                Line.msisdn,
                Line.status,
                Line.tariff_id,
                Line.activated_at,
                Line.created_at,
                Line.terminated_at,
            )
            .where(
                Line.customer_id == customer_id,
                or_(Line.terminated_at.is_(None), Line.terminated_at >= start),
                or_(Line.activated_at.is_(None), Line.activated_at < end),
                Line.created_at < end,
            )
            .order_by(Line.unit_path, Line.msisdn)
        )
    )


def _units(session: Session, customer_id: int) -> dict:
    """The customer's departments by id: (name, cost centre)."""
    rows = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.cost_centre).where(
            OrgUnit.customer_id == customer_id
        )
    )
    return {row.id: row for row in rows}


def fee_charges(session: Session, customer_id: int, period: Period) -> list[ChargeLine]:
    lines = _lines(session, customer_id, period)
    if not lines:
        return []
    history = _history(session, [ln.id for ln in lines], period)
    units = _units(session, customer_id)
    tariffs = {t.id: t for t in session.scalars(select(TariffPlan))}
    offer = offers.offer_for(session, customer_id, period.end)
    prices = {item.tariff.id: item.price for item in offer.tariffs()}
    month = Decimal(period.days)
    part: dict[int, Decimal] = {}  # quantity of a part of the month, by days
    out = []
    for line in lines:
        unit = units.get(line.unit_id)
        for tariff_id, days in day_segments(line, history.get(line.id, ()), period):
            tariff = tariffs[tariff_id]
            fee = prices.get(tariff_id, tariff.monthly_fee)
            if days == period.days:
                quantity, net = Decimal(1), fee
                text = f"Abonament {tariff.name}, {line.msisdn}"
            else:
                quantity = part.get(days)
                if quantity is None:
                    quantity = part[days] = (Decimal(days) / month).quantize(Decimal("0.0001"))
                net = vat.money(fee * days / period.days)
                text = f"Abonament {tariff.name}, {line.msisdn} ({days}/{period.days} dni)"
            out.append(
                ChargeLine(
                    category="fee",
                    group_key=f"tariff:{tariff.code}",
                    description=text,
                    quantity=quantity,
                    unit_price=fee,
                    net=net,
                    measure="mies.",
                    unit_id=line.unit_id,
                    unit_name=unit.name if unit else None,
                    cost_centre=unit.cost_centre if unit else None,
                    line_id=line.id,
                    msisdn=line.msisdn,
                    period_from=period.start,
                    period_to=period.end,
                    source=f"line:{line.id}",
                )
            )
    return out


def one_off_charges(session: Session, customer_id: int, period: Period) -> list[ChargeLine]:
    start, end = period.utc_bounds()
    rows = session.execute(
        select(
            OrderLine.id,
            OrderLine.line_id,
            OrderLine.quantity,
            OrderLine.unit_price,
            OrderLine.params,
            OrderLine.completed_at,
            Product.sku,
            Product.name,
            Line.msisdn,
            Line.unit_id,
        )
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(Line, Line.id == OrderLine.line_id)
        .where(
            OrderLine.customer_id == customer_id,
            OrderLine.kind.in_(ONE_OFF_KINDS),
            OrderLine.state == OrderLineState.completed,
            OrderLine.completed_at >= start,
            OrderLine.completed_at < end,
        )
        .order_by(OrderLine.completed_at, OrderLine.id)
    ).all()
    if not rows:
        return []
    units = _units(session, customer_id)
    out = []
    for row in rows:
        unit_id = row.unit_id or (row.params or {}).get("unit_id")
        unit = units.get(int(unit_id)) if unit_id else None
        quantity = Decimal(row.quantity)
        day = local_date(row.completed_at)
        out.append(
            ChargeLine(
                category="one_off",
                group_key=f"product:{row.sku}",
                description=row.name + (f", {row.msisdn}" if row.msisdn else ""),
                quantity=quantity,
                unit_price=row.unit_price,
                net=vat.money(quantity * row.unit_price),
                measure="szt.",
                unit_id=unit.id if unit else None,
                unit_name=unit.name if unit else None,
                cost_centre=unit.cost_centre if unit else None,
                line_id=row.line_id,
                msisdn=row.msisdn,
                period_from=day,
                period_to=day,
                source=f"order_line:{row.id}",
            )
        )
    return out


def charges_for(session: Session, customer_id: int, period: Period) -> list[ChargeLine]:
    """Everything the customer owes for ``period``, fees first; zero charges left out."""
    return combined(
        fee_charges(session, customer_id, period),
        one_off_charges(session, customer_id, period),
        usage_charges(session, customer_id, period),
    )


def combined(*parts: list[ChargeLine]) -> list[ChargeLine]:
    """The charges of all parts in invoice order (by category), zero charges left out."""
    charges = [c for part in parts for c in part if c.net != 0]
    charges.sort(key=lambda c: CATEGORY_ORDER.get(c.category, 9))
    return charges
