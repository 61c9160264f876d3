"""The usage-file format (docs/usage-format.md): reading the header, then each row into an event
or a rejection with a reason code. No database here; the loader resolves numbers to lines.

A file is UTF-8 CSV (a BOM is allowed; gzip-compressed files are accepted as they are), ``,`` or
``;`` between fields (whichever the header uses), one event per row, times in ISO 8601 with an
explicit UTC offset. Row numbers count the header as row 1, as a spreadsheet shows them.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from pathlib import Path
from zoneinfo import ZoneInfo

from core.i18n import _l

WARSAW = ZoneInfo("Europe/Warsaw")
COLUMNS = ("msisdn", "started_at", "kind", "direction", "zone", "quantity", "charge")
KINDS = {"voice", "sms", "mms", "data"}
DIRECTIONS = {"in", "out"}
ZONES = {"domestic", "eu", "europe", "world"}
MAX_QUANTITY = {"voice": 48 * 3600, "sms": 1000, "mms": 1000, "data": 10**12}
MAX_CHARGE = Decimal("1000000")
MAX_ROW_CHARS = 1000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MSISDN_RE = re.compile(r"\+[1-9][0-9]{6,14}")
HEAD_BYTES = 64 * 1024

# Why a row was not loaded: code -> message (the detail, when given, is the offending value).
REASONS = {
    "columns": _l("The row has a different number of fields than the header."),
    "too_long": _l("The row is longer than 1,000 characters."),
    "encoding": _l("The row contains characters that are not valid UTF-8."),
    "msisdn": _l("The number is not in the international format (E.164), e.g. +48601234567."),
    "unknown_number": _l("No line has this number."),
    "date": _l(
        "The start time is not a date and time in ISO 8601 with a time zone, "
        "e.g. 2026-09-14T08:15:02Z."
    ),
    "date_range": _l("The start time is before 2000 or in the future."),
    "kind": _l("Unknown kind: use voice, sms, mms or data."),
    "direction": _l("Unknown direction: use in or out (data: out or empty)."),
    "zone": _l("Unknown zone: use domestic, eu, europe or world."),
    "quantity": _l("The quantity is not a whole number."),
    "negative_quantity": _l("The quantity is negative."),
    "quantity_range": _l("The quantity is larger than possible for this kind of event."),
    "charge": _l("The charge is not an amount with at most two decimal places, e.g. 0.35."),
    "negative_charge": _l("The charge is negative; corrections are not accepted in usage files."),
}

# Why a whole file was refused.
FILE_ERRORS = {
    "empty": _l("The file is empty."),
    "not_csv": _l("This is not a CSV text file."),
    "encoding": _l("The file is not UTF-8 text."),
    "header": _l(
        "The first row must name the columns msisdn, started_at, kind, direction, zone, "
        "quantity, charge. Missing: %(missing)s."
    ),
    "no_rows": _l("The file has a header but no rows."),
    "gone": _l("The delivered file is no longer in the file store."),
    "attempts": _l("The file could not be loaded after several attempts."),
}


class FileRefused(Exception):
    def __init__(self, code: str, **params) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def message(self):
        return file_error_message({"code": self.code, "params": self.params})


def file_error_message(error: dict | None) -> str:
    if not error:
        return ""
    template = FILE_ERRORS.get(error.get("code"), FILE_ERRORS["attempts"])
    params = error.get("params") or {}
    return str(template) % params if params else str(template)


def reason_message(code: str) -> str:
    return str(REASONS.get(code, code))


@dataclass(frozen=True)
class Header:
    delimiter: str
    positions: tuple[int, ...]  # index of each of COLUMNS in a row
    width: int
    pick: itemgetter  # takes the fields of COLUMNS, in that order, from a row


def _open_text(raw: io.BufferedIOBase) -> io.TextIOWrapper:
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def open_rows(path: Path) -> io.TextIOWrapper:
    """The file as text, decompressed if it is gzip. Invalid bytes read as U+FFFD."""
    with path.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    raw = gzip.open(path, "rb") if compressed else path.open("rb")  # noqa: SIM115 - returned
    return _open_text(raw)  # type: ignore[arg-type]


def head_of(data: bytes) -> bytes:
    """The first bytes of a delivered file, decompressed if it is gzip."""
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                return gz.read(HEAD_BYTES)
        except (OSError, EOFError) as exc:
            raise FileRefused("not_csv") from exc
    return data[:HEAD_BYTES]


def check_head(head: bytes) -> Header:
    """The header of a file from its first bytes, or FileRefused with the reason."""
    if not head.strip():
        raise FileRefused("empty")
    if b"\x00" in head:
        raise FileRefused("not_csv")
    first, _nl, rest = head.partition(b"\n")
    try:
        line = first.decode("utf-8-sig").strip("\r")
    except UnicodeDecodeError as exc:
        raise FileRefused("encoding") from exc
    header = parse_header(line)
    if not rest.strip() and len(head) < HEAD_BYTES:
        raise FileRefused("no_rows")
    return header


def parse_header(line: str) -> Header:
    delimiter = ";" if line.count(";") > line.count(",") else ","
    names = [n.strip().lower() for n in next(csv.reader([line], delimiter=delimiter), [])]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        if not any(c.isprintable() for c in line) or len(line) > 2000:
            raise FileRefused("not_csv")
        raise FileRefused("header", missing=", ".join(missing))
    positions = tuple(names.index(c) for c in COLUMNS)
    return Header(delimiter, positions, len(names), itemgetter(*positions))


def iter_rows(text: io.TextIOBase) -> tuple[Header, Iterator[tuple[int, list[str]]]]:
    """The header and an iterator of (row number, fields) over the rest; blank rows skipped
    (they keep their number)."""
    first = text.readline()
    if not first.strip():
        raise FileRefused("empty")
    header = parse_header(first.rstrip("\r\n").lstrip("\ufeff"))
    reader = csv.reader(text, delimiter=header.delimiter)

    def rows():
        for number, fields in enumerate(reader, start=2):
            if fields:
                yield number, fields

    return header, rows()


@dataclass(slots=True)
class Event:
    row: int
    msisdn: str
    started_at: datetime  # UTC
    day: date  # Europe/Warsaw
    kind: str
    direction: str
    zone: str
    quantity: int
    charge: Decimal


@dataclass(slots=True)
class Rejection:
    row: int
    reason: str
    detail: str | None
    raw: str


def raw_text(fields: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(fields)
    return out.getvalue()[:MAX_ROW_CHARS]


def _reject(
    header: Header, number: int, fields: list[str], reason: str, detail: str | None = None
) -> Rejection:
    return Rejection(
        number, reason, detail[:200] if detail else None, raw_text(fields, header.delimiter)
    )


_local_days: dict[int, date] = {}
_valid_msisdns: set[str] = set()
_charges: dict[str, Decimal | str] = {}  # a charge field -> its amount or a reason code


def warsaw_day(when: datetime) -> date:
    """The calendar day in Europe/Warsaw of a UTC time (cached per UTC hour)."""
    key = when.toordinal() * 24 + when.hour
    day = _local_days.get(key)
    if day is None:
        if len(_local_days) > 100_000:
            _local_days.clear()
        day = _local_days[key] = when.astimezone(WARSAW).date()
    return day


def _parse_charge(charge: str) -> Decimal | str:
    """The amount of a charge field, or the code of the reason it is not one."""
    try:
        price = Decimal(charge)
    except InvalidOperation:
        return "charge"
    dot = charge.find(".")
    if (
        not price.is_finite()
        or abs(price) >= MAX_CHARGE
        or (dot >= 0 and len(charge.rstrip()) - dot > 3 and price != round(price, 2))
        or "e" in charge.lower()
    ):
        return "charge"
    if price < 0:
        return "negative_charge"
    return price


def parse_row(
    header: Header, number: int, fields: list[str], latest: datetime
) -> Event | Rejection:
    """One data row as an event, or the first reason it cannot be one."""
    if len(fields) != header.width:
        return _reject(header, number, fields, "columns", str(len(fields)))
    joined = "".join(fields)
    if len(joined) > MAX_ROW_CHARS:
        return _reject(header, number, fields, "too_long")
    if "\ufffd" in joined:
        return _reject(header, number, fields, "encoding")
    msisdn, started, kind, direction, zone, quantity, charge = header.pick(fields)
    if msisdn not in _valid_msisdns:
        msisdn = msisdn.strip()
        if MSISDN_RE.fullmatch(msisdn) is None:
            return _reject(header, number, fields, "msisdn", msisdn)
        if len(_valid_msisdns) > 200_000:
            _valid_msisdns.clear()
        _valid_msisdns.add(msisdn)
    try:
        when = datetime.fromisoformat(started.strip())
    except ValueError:
        return _reject(header, number, fields, "date", started)
    if when.tzinfo is None:
        return _reject(header, number, fields, "date", started)
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    if when < EARLIEST or when > latest:
        return _reject(header, number, fields, "date_range", started)
    if kind not in KINDS:
        kind = kind.strip().lower()
        if kind not in KINDS:
            return _reject(header, number, fields, "kind", kind)
    if direction not in DIRECTIONS:
        direction = direction.strip().lower()
        if kind == "data" and direction == "":
            direction = "out"
        if direction not in DIRECTIONS:
            return _reject(header, number, fields, "direction", direction)
    if zone not in ZONES:
        zone = zone.strip().lower()
        if zone not in ZONES:
            return _reject(header, number, fields, "zone", zone)
    if not quantity.isdigit():
        quantity = quantity.strip()
        if quantity.startswith("-") and quantity[1:].isdigit():
            return _reject(header, number, fields, "negative_quantity", quantity)
        if not quantity.isdigit():
            return _reject(header, number, fields, "quantity", quantity)
    if not quantity.isascii():
        return _reject(header, number, fields, "quantity", quantity)
    amount = int(quantity)
    if amount > MAX_QUANTITY[kind]:
        return _reject(header, number, fields, "quantity_range", quantity)
    if header.delimiter == ";":
        charge = charge.replace(",", ".")
    price = _charges.get(charge)
    if price is None:
        if len(_charges) > 100_000:
            _charges.clear()
        price = _charges[charge] = _parse_charge(charge)
    if type(price) is str:
        return _reject(header, number, fields, price, charge)
    return Event(number, msisdn, when, warsaw_day(when), kind, direction, zone, amount, price)


def latest_allowed() -> datetime:
    """Events may not start in the future (a day's slack for clocks and time zones)."""
    return datetime.now(UTC) + timedelta(days=1)
