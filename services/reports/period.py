"""The period of a usage report: a calendar month or a range of days (at most 13 months).

A period is ``[start, end)`` in Europe/Warsaw days, like ``services.usage``. Bad input raises
``PeriodError`` with a code; the web layer turns the code into a message in the user's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from services.usage import month_end, month_start

MAX_MONTHS = 13
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def is_month(self) -> bool:
        return self.start.day == 1 and self.last_day == month_end(self.start)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        """The period just before: the previous month for a month, else as many days."""
        if self.is_month:
            prev_start = month_start(self.start - timedelta(days=1))
            return Period(prev_start, self.start)
        return Period(self.start - timedelta(days=self.days), self.start)

    def as_params(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_params(cls, params: dict) -> Period:
        return cls(date.fromisoformat(params["start"]), date.fromisoformat(params["end"]))

    def label(self) -> str:
        if self.is_month:
            return self.start.strftime("%Y-%m")
        return f"{self.start.isoformat()} – {self.last_day.isoformat()}"


def add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    first = date(day.year + y, m + 1, 1)
    return first.replace(day=min(day.day, month_end(first).day))


def month(text: str) -> Period:
    match = _MONTH.match((text or "").strip())
    if not match:
        raise PeriodError("bad_month")
    year, mon = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2100 and 1 <= mon <= 12):
        raise PeriodError("bad_month")
    start = date(year, mon, 1)
    return Period(start, month_end(start) + timedelta(days=1))


def _day(text: str | None) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise PeriodError("bad_date") from None


def day_range(first: str | None, last: str | None) -> Period:
    """From ``first`` through ``last`` (both included, ISO dates)."""
    start, last_day = _day(first), _day(last)
    if last_day < start:
        raise PeriodError("end_before_start")
    if last_day >= add_months(start, MAX_MONTHS):
        raise PeriodError("too_long")
    return Period(start, last_day + timedelta(days=1))


def parse(args, today: date) -> Period:
    """From request arguments: ``month=YYYY-MM``, or ``from`` and ``to``; default: the last
    complete month before ``today``."""
    if args.get("from") or args.get("to"):
        return day_range(args.get("from"), args.get("to"))
    if args.get("month"):
        return month(args.get("month"))
    return month(month_start(month_start(today) - timedelta(days=1)).strftime("%Y-%m"))
