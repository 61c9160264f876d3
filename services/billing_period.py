"""A billing period: one calendar month, in the operator's time zone (Europe/Warsaw)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WARSAW = ZoneInfo("Europe/Warsaw")


@dataclass(frozen=True)
class Period:
    start: date  # the first day of the month
    end: date  # the last day

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))

    @classmethod
    def of(cls, day: date) -> Period:
        return cls.month(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Period:
        """``YYYY-MM``; ValueError otherwise."""
        year, month = str(text).strip().split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError(text)
        return cls.month(int(year), int(month))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    def previous(self) -> Period:
        return Period.of(self.start - timedelta(days=1))

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start, end) of the month in UTC, the month being Warsaw's."""
        start = datetime.combine(self.start, time(), WARSAW).astimezone(UTC)
        end = datetime.combine(self.end + timedelta(days=1), time(), WARSAW).astimezone(UTC)
        return start, end


def local_date(moment: datetime) -> date:
    return moment.astimezone(WARSAW).date()
