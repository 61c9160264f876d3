"""Demo usage: the three full months before this one and this month up to yesterday, for every
line, written as the operator's monthly usage files (docs/usage-format.md) so that the demo
loads them through the same ingestion as real files.

Who uses what (deterministic per line): office staff call in business hours on weekdays and
little at weekends; field staff call and use data more; one line in ten is a heavy data user;
some lines are quiet. About one line in six goes on a trip: to the EU mostly, sometimes to the
rest of Europe or further. Charges follow a simple price list: domestic calls and data are in
the tariff (calls abroad from Poland are charged), the EU roams like at home, the rest of
Europe and the world are charged per minute, message and megabyte.

Sized for ``make run`` on a small machine: about 11 events per line per month, roughly 0.2
million events for the 5,500 demo lines over three months and a bit (a business line makes
more calls than that; every line and every pattern is there, at a lower rate).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Line, LineStatus
from services.usage_format import COLUMNS, WARSAW

MB = 1_000_000
# zone -> (voice out per minute, voice in per minute, SMS, MMS, data per MB)
PRICES = {
    "domestic": (Decimal("0"), Decimal("0"), Decimal("0"), Decimal("0.40"), Decimal("0")),
    "eu": (Decimal("0"), Decimal("0"), Decimal("0"), Decimal("0.40"), Decimal("0")),
    "europe": (Decimal("2.49"), Decimal("0.99"), Decimal("0.49"), Decimal("1.49"), Decimal("0.10")),
    "world": (Decimal("8.99"), Decimal("4.99"), Decimal("1.49"), Decimal("2.99"), Decimal("0.49")),
}
INTERNATIONAL_PER_MINUTE = Decimal("0.99")


@dataclass(frozen=True)
class Profile:
    name: str
    calls_weekday: float  # per working day
    calls_weekend: float
    sms_per_day: float
    data_mb_per_day: float  # median of a day's data
    data_days: float  # share of days with data use


PROFILES = (
    (0.55, Profile("office", 0.3, 0.03, 0.06, 60, 0.8)),
    (0.22, Profile("field", 0.6, 0.08, 0.09, 180, 0.95)),
    (0.10, Profile("heavy_data", 0.22, 0.04, 0.04, 1500, 1.0)),
    (0.13, Profile("quiet", 0.07, 0.01, 0.01, 8, 0.35)),
)
# A data record sums a line's sessions over a few days (the billing platform closes a record
# when it reaches a volume or an age), so data adds about 4 records per line per month.
DATA_RECORD_DAYS = 7


@dataclass
class Trip:
    start: date
    end: date  # inclusive
    zone: str


def _profile(rng: random.Random) -> Profile:
    roll = rng.random()
    for share, profile in PROFILES:
        if roll < share:
            return profile
        roll -= share
    return PROFILES[0][1]


def _trips(rng: random.Random, first: date, last: date) -> list[Trip]:
    if rng.random() > 0.17:
        return []
    trips = []
    for _ in range(rng.choice((1, 1, 1, 2))):
        start = first + timedelta(days=rng.randrange(max(1, (last - first).days - 7)))
        zone = rng.choices(("eu", "europe", "world"), (0.7, 0.15, 0.15))[0]
        trips.append(Trip(start, start + timedelta(days=rng.randint(2, 8)), zone))
    return trips


def _count(rng: random.Random, mean: float) -> int:
    whole = int(mean)
    return whole + (rng.random() < mean - whole)


def _moment(rng: random.Random, day: date, weekday: bool) -> datetime:
    hour = min(21, max(7, int(rng.gauss(12.5, 2.6)))) if weekday else rng.randint(9, 21)
    local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), WARSAW)
    return local.astimezone(UTC)


def _charge(seconds_or_count: int, rate: Decimal, per_minute: bool) -> Decimal:
    units = -(-seconds_or_count // 60) if per_minute else seconds_or_count
    return rate * units


def _line_days(rng, profile: Profile, trips: list[Trip], days: list[date]):
    """Yield (start UTC, kind, direction, zone, quantity, charge) for one line."""
    for day in days:
        weekday = day.weekday() < 5
        zone = next((t.zone for t in trips if t.start <= day <= t.end), "domestic")
        out_min, in_min, sms_price, mms_price, mb_price = PRICES[zone]
        calls = _count(rng, (profile.calls_weekday if weekday else profile.calls_weekend))
        if zone != "domestic":
            calls = _count(rng, calls * 0.6)
        for _ in range(calls):
            seconds = max(5, int(rng.lognormvariate(4.3, 1.0)))
            if rng.random() < 0.55:
                rate = out_min
                if zone == "domestic" and rng.random() < 0.04:
                    rate = INTERNATIONAL_PER_MINUTE
                yield (
                    _moment(rng, day, weekday),
                    "voice",
                    "out",
                    zone,
                    seconds,
                    _charge(seconds, rate, True),
                )
            else:
                yield (
                    _moment(rng, day, weekday),
                    "voice",
                    "in",
                    zone,
                    seconds,
                    _charge(seconds, in_min, True),
                )
        for _ in range(_count(rng, profile.sms_per_day)):
            direction = "out" if rng.random() < 0.5 else "in"
            price = sms_price if direction == "out" else Decimal("0")
            kind = "mms" if rng.random() < 0.05 else "sms"
            if kind == "mms" and direction == "out":
                price = mms_price
            yield _moment(rng, day, weekday), kind, direction, zone, 1, price
        if rng.random() < profile.data_days * (1 if weekday else 0.7) / DATA_RECORD_DAYS:
            mb = rng.lognormvariate(0, 0.8) * profile.data_mb_per_day * DATA_RECORD_DAYS
            if zone != "domestic":
                mb *= 0.1  # data abroad is used sparingly
            volume = int(mb * MB)
            charge = (mb_price * Decimal(volume) / MB).quantize(Decimal("0.01"))
            yield _moment(rng, day, weekday), "data", "out", zone, volume, charge


def demo_months(today: date) -> list[tuple[date, date]]:
    """(first day, last day) of the three full months before ``today``'s and of this month up
    to yesterday (left out on the 1st)."""
    first_this = today.replace(day=1)
    months = []
    start = first_this
    for _ in range(3):
        start = (start - timedelta(days=1)).replace(day=1)
    while start < first_this:
        nxt = (start + timedelta(days=32)).replace(day=1)
        months.append((start, nxt - timedelta(days=1)))
        start = nxt
    if today > first_this:
        months.append((first_this, today - timedelta(days=1)))
    return months


def demo_start(today: date) -> datetime:
    """The moment the demo lines were activated: midnight (Warsaw) of the first demo month, so
    every demo month of usage can be billed."""
    first = demo_months(today)[0][0] if demo_months(today) else today.replace(day=1)
    return datetime.combine(first, time(), WARSAW).astimezone(UTC)


def write_demo_files(
    session: Session, folder: Path, today: date, seed: int = 2026, scale: float = 1.0
) -> list[Path]:
    """Write one usage file per month into ``folder``; returns their paths.

    ``scale`` multiplies how much each line uses (events per line)."""
    lines = session.execute(
        select(Line.id, Line.msisdn).where(Line.status != LineStatus.terminated).order_by(Line.id)
    ).all()
    months = demo_months(today)
    if not months:
        return []
    first, last = months[0][0], months[-1][1]
    per_month: dict[date, list[tuple]] = {m[0]: [] for m in months}
    for line_id, msisdn in lines:
        rng = random.Random(seed * 1_000_003 + line_id)
        profile = _profile(rng)
        if scale != 1.0:
            profile = Profile(
                profile.name,
                profile.calls_weekday * scale,
                profile.calls_weekend * scale,
                profile.sms_per_day * scale,
                profile.data_mb_per_day,
                min(1.0, profile.data_days * scale),
            )
        trips = _trips(rng, first, last)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        for when, kind, direction, zone, quantity, charge in _line_days(rng, profile, trips, days):
            local = when.astimezone(WARSAW).date()
            bucket = per_month.get(local.replace(day=1))
            if bucket is not None:
                bucket.append((when, msisdn, kind, direction, zone, quantity, charge))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for (start, _end), rows in zip(months, per_month.values(), strict=True):
        rows.sort(key=lambda r: r[0])
        path = folder / f"usage-{start:%Y-%m}.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            out.write(",".join(COLUMNS) + "\n")
            out.writelines(
                f"{m},{w:%Y-%m-%dT%H:%M:%SZ},{k},{d},{z},{q},{c:.2f}\n"
                for w, m, k, d, z, q, c in rows
            )
        paths.append(path)
    return paths
