"""Usage charges of a customer for a billing period: the one way usage enters an invoice.

The rating rule (docs/architecture.md, "Billing and invoices"):

- Usage comes from the per-line totals of the month per kind, zone and direction
  (``services.usage.period_totals``, which reads the monthly rollup for a whole month). The
  recorded per-event charges are not used: usage is rated here at the rates of the line's
  tariff (the tariff it has on the last charged day of the month), which are the rates the
  contract grants.
- Units: voice in started minutes of the month's total per zone (``ceil(seconds / 60)``),
  data in started MB of the month's total per zone (1 MB = 1,000,000 bytes), SMS and MMS in
  messages. Incoming calls, messages and data are free at home and in the EU; outgoing only
  is counted there. Outside the EU incoming calls are charged too.
- Allowances (``included_minutes`` / ``included_sms`` / ``included_data_mb``; ``None`` is
  unlimited) cover domestic usage first, then EU usage ("roam like at home"); what exceeds
  them is charged at the domestic rate (domestic usage) or the EU rate (EU usage). MMS have
  no allowance. Outside the EU ("europe" and "world" zones) nothing is included and the
  tariff's world rates apply (voice per minute, SMS and MMS per message, data per MB).
- One charge per line, kind and zone: ``net = units × rate`` rounded half-up to the grosz;
  the cost centre is the line's department's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Line, OrgUnit, TariffPlan
from services import usage, vat
from services.billing_period import Period
from services.invoices import ChargeLine

ROAMING_ZONES = ("europe", "world")
KIND_NAMES = {
    "voice": "Połączenia głosowe",
    "sms": "SMS",
    "mms": "MMS",
    "data": "Transmisja danych",
}
ZONE_NAMES = {
    "domestic": "krajowe",
    "eu": "roaming UE",
    "europe": "roaming Europa poza UE",
    "world": "roaming świat",
}
MEASURES = {"voice": "min", "sms": "szt.", "mms": "szt.", "data": "MB"}
ALLOWANCE = {"voice": "included_minutes", "sms": "included_sms", "data": "included_data_mb"}


@dataclass(frozen=True)
class Rated:
    kind: str
    zone: str
    units: int  # charged units (beyond the allowance)
    rate: Decimal

    @property
    def net(self) -> Decimal:
        return vat.money(self.units * self.rate)


def units(kind: str, quantity: int) -> int:
    """Seconds to started minutes, bytes to started MB, messages as they are."""
    if kind == "voice":
        return math.ceil(quantity / 60)
    if kind == "data":
        return math.ceil(quantity / 1_000_000)
    return int(quantity)


def rate_of(tariff: TariffPlan, kind: str, zone: str) -> Decimal:
    if zone == "domestic":
        return {
            "voice": tariff.rate_voice_domestic,
            "sms": tariff.rate_sms_domestic,
            "mms": tariff.rate_mms_domestic,
            "data": tariff.rate_data_domestic_mb,
        }[kind]
    if zone == "eu":
        return {
            "voice": tariff.rate_voice_eu,
            "sms": tariff.rate_sms_domestic,
            "mms": tariff.rate_mms_domestic,
            "data": tariff.rate_data_eu_mb,
        }[kind]
    return {
        "voice": tariff.rate_voice_world,
        "sms": tariff.rate_sms_world,
        "mms": tariff.rate_sms_world,
        "data": tariff.rate_data_world_mb,
    }[kind]


def rate_line(totals: usage.Totals, tariff: TariffPlan) -> list[Rated]:
    """The charged usage of one line's month, one entry per kind and zone with a charge."""
    out: list[Rated] = []
    for kind in ("voice", "sms", "mms", "data"):
        home = units(kind, totals.quantity(kind, "domestic", "out"))
        eu = units(kind, totals.quantity(kind, "eu", "out"))
        field = ALLOWANCE.get(kind)
        included = getattr(tariff, field) if field else 0
        if included is None:  # unlimited
            home_over = eu_over = 0
        else:
            home_over = max(0, home - included)
            eu_over = max(0, eu - max(0, included - home))
        out.append(Rated(kind, "domestic", home_over, rate_of(tariff, kind, "domestic")))
        out.append(Rated(kind, "eu", eu_over, rate_of(tariff, kind, "eu")))
        for zone in ROAMING_ZONES:
            direction = None if kind == "voice" else "out"
            quantity = units(kind, totals.quantity(kind, zone, direction))
            out.append(Rated(kind, zone, quantity, rate_of(tariff, kind, zone)))
    return [r for r in out if r.units > 0 and r.net != 0]


def _tariff_at_end(session: Session, lines: list[Line], period: Period) -> dict[int, int]:
    """Each line's tariff on its last charged day of ``period`` (its current one otherwise)."""
    from services.billing_charges import _history, day_segments  # billing_charges imports us

    history = _history(session, [ln.id for ln in lines], period)
    out = {}
    for line in lines:
        segments = day_segments(line, history.get(line.id, []), period)
        out[line.id] = segments[-1][0] if segments else line.tariff_id
    return out


def usage_charges(session: Session, customer_id: int, period: Period) -> list[ChargeLine]:
    """Charges for the customer's usage in ``period`` beyond the tariffs' allowances."""
    start, end = period.utc_bounds()
    lines = list(
        session.scalars(
            select(Line)
            .where(
                Line.customer_id == customer_id,
                Line.created_at < end,
                or_(Line.terminated_at.is_(None), Line.terminated_at >= start),
            )
            .order_by(Line.unit_path, Line.msisdn)
        )
    )
    if not lines:
        return []
    totals = usage.period_totals(
        session, [ln.id for ln in lines], period.start, period.end + timedelta(days=1)
    )
    used = [ln for ln in lines if totals[ln.id].cells]
    if not used:
        return []
    tariff_of = _tariff_at_end(session, used, period)
    tariffs = {t.id: t for t in session.scalars(select(TariffPlan))}
    units_by_id = {
        u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.customer_id == customer_id))
    }
    out = []
    for line in used:
        tariff = tariffs[tariff_of[line.id]]
        unit = units_by_id.get(line.unit_id)
        for r in rate_line(totals[line.id], tariff):
            out.append(
                ChargeLine(
                    category="usage",
                    group_key=f"usage:{r.kind}:{r.zone}",
                    description=f"{KIND_NAMES[r.kind]} {ZONE_NAMES[r.zone]}"
                    f"{'' if r.zone in ROAMING_ZONES else ' ponad pakiet'}, {line.msisdn}",
                    quantity=Decimal(r.units),
                    unit_price=r.rate,
                    net=r.net,
                    measure=MEASURES[r.kind],
                    unit_id=line.unit_id,
                    unit_name=unit.name if unit else None,
                    cost_centre=unit.cost_centre if unit else None,
                    line_id=line.id,
                    msisdn=line.msisdn,
                    period_from=period.start,
                    period_to=period.end,
                    source=f"usage:{line.id}:{r.kind}:{r.zone}",
                )
            )
    return out
