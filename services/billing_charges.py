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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import or_, select
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


@dataclass(frozen=True)
class Change:
    day: date
    status: str
    tariff_id: int


def _history(session: Session, line_ids: list[int], period: Period) -> dict[int, list[tuple]]:
    """(day, before, after) of each line's confirmed changes, oldest first."""
    out: dict[int, list[tuple]] = {}
    _start, end = period.utc_bounds()
    for chunk in range(0, len(line_ids), 5000):
        ids = line_ids[chunk : chunk + 5000]
        rows = session.execute(
            select(AuditEvent.object_id, AuditEvent.created_at, AuditEvent.before, AuditEvent.after)
            .where(
                AuditEvent.object_type == "line",
                AuditEvent.object_id.in_(ids),
                AuditEvent.action.in_(HISTORY),
                AuditEvent.created_at < end,
            )
            .order_by(AuditEvent.object_id, AuditEvent.created_at, AuditEvent.id)
        )
        for line_id, at, before, after in rows:
            out.setdefault(line_id, []).append((local_date(at), before or {}, after or {}))
    return out


def day_segments(line: Line, history: list[tuple], period: Period) -> list[tuple[int, int]]:
    """[(tariff_id, charged days)] of the line in ``period``, one per tariff it had."""
    before_period = [h for h in history if h[0] < period.start]
    in_period = [h for h in history if h[0] >= period.start]
    if before_period:
        state = before_period[-1][2]
    elif in_period:
        state = in_period[0][1]
    else:
        state = {"status": line.status.value, "tariff_id": line.tariff_id}
    status, tariff_id = state.get("status", "active"), state.get("tariff_id", line.tariff_id)
    first = local_date(line.activated_at or line.created_at)
    last = local_date(line.terminated_at) - timedelta(days=1) if line.terminated_at else None
    days: dict[int, int] = {}
    i = 0
    day = period.start
    while day <= period.end:
        while i < len(in_period) and in_period[i][0] <= day:
            after = in_period[i][2]
            status = after.get("status", status)
            tariff_id = after.get("tariff_id", tariff_id)
            i += 1
        if status in CHARGED and day >= first and (last is None or day <= last):
            days[tariff_id] = days.get(tariff_id, 0) + 1
        day += timedelta(days=1)
    return list(days.items())


def _lines(session: Session, customer_id: int, period: Period) -> list[Line]:
    start, end = period.utc_bounds()
    return list(
        session.scalars(
            select(Line)
            .where(
                Line.customer_id == customer_id,
                or_(Line.terminated_at.is_(None), Line.terminated_at >= start),
                or_(Line.activated_at.is_(None), Line.activated_at < end),
                Line.created_at < end,
            )
            .order_by(Line.unit_path, Line.msisdn)
        )
    )


def fee_charges(session: Session, customer_id: int, period: Period) -> list[ChargeLine]:
    lines = _lines(session, customer_id, period)
    if not lines:
        return []
    history = _history(session, [ln.id for ln in lines], period)
    units = {
        u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.customer_id == customer_id))
    }
    tariffs = {t.id: t for t in session.scalars(select(TariffPlan))}
    offer = offers.offer_for(session, customer_id, period.end)
    prices = {item.tariff.id: item.price for item in offer.tariffs()}
    out = []
    for line in lines:
        unit = units.get(line.unit_id)
        for tariff_id, days in day_segments(line, history.get(line.id, []), period):
            tariff = tariffs[tariff_id]
            fee = prices.get(tariff_id, tariff.monthly_fee)
            if days == period.days:
                quantity, net = Decimal(1), fee
                text = f"Abonament {tariff.name}, {line.msisdn}"
            else:
                quantity = (Decimal(days) / Decimal(period.days)).quantize(Decimal("0.0001"))
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
        select(OrderLine, Product, Line.msisdn, Line.unit_id)
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
    units = {
        u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.customer_id == customer_id))
    }
    out = []
    for ol, product, msisdn, line_unit in rows:
        unit_id = line_unit or (ol.params or {}).get("unit_id")
        unit = units.get(int(unit_id)) if unit_id else None
        quantity = Decimal(ol.quantity)
        out.append(
            ChargeLine(
                category="one_off",
                group_key=f"product:{product.sku}",
                description=product.name + (f", {msisdn}" if msisdn else ""),
                quantity=quantity,
                unit_price=ol.unit_price,
                net=vat.money(quantity * ol.unit_price),
                measure="szt.",
                unit_id=unit.id if unit else None,
                unit_name=unit.name if unit else None,
                cost_centre=unit.cost_centre if unit else None,
                line_id=ol.line_id,
                msisdn=msisdn,
                period_from=local_date(ol.completed_at),
                period_to=local_date(ol.completed_at),
                source=f"order_line:{ol.id}",
            )
        )
    return out


def charges_for(session: Session, customer_id: int, period: Period) -> list[ChargeLine]:
    """Everything the customer owes for ``period``, fees first; zero charges left out."""
    charges = (
        fee_charges(session, customer_id, period)
        + one_off_charges(session, customer_id, period)
        + usage_charges(session, customer_id, period)
    )
    charges = [c for c in charges if c.net != 0]
    charges.sort(key=lambda c: CATEGORY_ORDER.get(c.category, 9))
    return charges
