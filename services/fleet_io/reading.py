"""Reading an import file: CSV (";" or "," separated; UTF-8 with or without BOM, or
Windows-1250) or XLSX (the first sheet). Columns are found by their header, in Polish or
English, in any letter case. What cannot be read raises ``ImportFileError`` with a sentence
for the user; problems in single rows are left to the check (services/fleet_io/checking.py).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from openpyxl import load_workbook

from core.i18n import _l
from services import ServiceError

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000

FIELDS = ("number", "unit", "cost_centre", "email", "name", "position")
CHANGING = ("unit", "cost_centre", "email")

FIELD_LABELS = {
    "number": _l("Number"),
    "unit": _l("Unit"),
    "cost_centre": _l("Cost centre"),
    "email": _l("E-mail"),
    "name": _l("Employee"),
    "position": _l("Position"),
}

# Accepted headers (compared without letter case, diacritics, extra spaces, ":" or "*").
# They include the export's own headers in both languages, so an export can be edited and
# imported again (tests/services/test_fleet_io.py holds the two lists together).
ALIASES = {
    "number": [
        "number", "phone number", "phone", "mobile number", "msisdn", "number (e.164)",
        "e.164", "numer", "numer telefonu", "nr telefonu", "nr tel.", "telefon",
        "numer (e.164)", "numer komórkowy",
    ],
    "unit": [
        "unit", "unit path", "department", "organisational unit", "organizational unit",
        "jednostka", "ścieżka jednostki", "dział", "jednostka organizacyjna", "komórka",
    ],
    "cost_centre": [
        "cost centre", "cost center", "cost centre code", "cost center code", "mpk",
        "kod mpk", "centrum kosztów", "miejsce powstawania kosztów",
    ],
    "email": [
        "e-mail", "email", "e-mail address", "email address", "employee e-mail",
        "employee email", "e-mail pracownika", "email pracownika", "adres e-mail", "mail",
    ],
    "name": [
        "employee", "employee name", "name", "full name", "user", "pracownik",
        "imię i nazwisko", "nazwisko i imię", "imię i nazwisko pracownika", "użytkownik",
    ],
    "position": [
        "position", "employee position", "job title", "title", "stanowisko",
        "stanowisko pracownika",
    ],
}  # fmt: skip


class ImportFileError(ServiceError):
    """The whole file cannot be imported. ``code`` names the reason for the check's report."""

    def __init__(self, code: str, **params) -> None:
        super().__init__(file_error_message(code, **params), field="file", **params)
        self.code = code
        self.params = params


def file_error_message(code: str, **params):
    messages = {
        "no_file": _l("Choose a file to import."),
        "wrong_type": _l(
            "This type of file cannot be imported. Save it as XLSX (Excel) or CSV and try again."
        ),
        "old_excel": _l(
            "This is the old Excel format (XLS). In Excel choose File › Save as › "
            "Excel Workbook (*.xlsx) and import that file."
        ),
        "too_big": _l(
            "The file is larger than %(limit)s MB. Split it into smaller files.",
            limit=MAX_BYTES // (1024 * 1024),
        ),
        "empty": _l("The file is empty."),
        "unreadable": _l(
            "The file could not be read. Save it as XLSX (Excel) or CSV (UTF-8) and try again."
        ),
        "no_rows": _l("The file has a header row but no data rows."),
        "too_many_rows": _l(
            "The file has more than %(limit)s rows. Split it into smaller files.",
            limit=f"{MAX_ROWS:,}".replace(",", " "),
        ),
        "no_number_column": _l(
            "The file has no column with phone numbers. The first row must name the columns, "
            "for example Number, Unit, Cost centre, E-mail (or Numer, Jednostka, MPK, E-mail)."
        ),
        "no_change_columns": _l(
            "The file has numbers but nothing to change. Add a Unit, Cost centre or E-mail column."
        ),
    }
    return messages.get(code, messages["unreadable"])


def _norm(text: str) -> str:
    text = " ".join(str(text).replace("\u00a0", " ").split()).strip(" :*").casefold()
    text = text.replace("ł", "l")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def header_map() -> dict[str, str]:
    return {_norm(name): fld for fld, names in ALIASES.items() for name in names}


@dataclass
class Sheet:
    """What was read: the columns found, the ignored ones, and the data rows."""

    columns: dict[str, str] = field(default_factory=dict)  # field -> header as in the file
    ignored: list[str] = field(default_factory=list)
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (row number, values)


# --- the file as a whole ---------------------------------------------------------------------


def detect_format(filename: str, data: bytes) -> str:
    """ "csv" or "xlsx" from the name and the first bytes; ImportFileError when it is neither."""
    name = (filename or "").strip().lower()
    if not name:
        raise ImportFileError("no_file")
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    if ext == "xls":
        raise ImportFileError("old_excel")
    if ext not in ("csv", "txt", "xlsx"):
        raise ImportFileError("wrong_type")
    if len(data) > MAX_BYTES:
        raise ImportFileError("too_big")
    if not data.strip():
        raise ImportFileError("empty")
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"  # an Excel workbook, whatever its name says
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("old_excel")
    if ext == "xlsx" or b"\x00" in data[:65536]:
        raise ImportFileError("unreadable")
    return "csv"


def read_sheet(
    data: bytes, fmt: str, progress: Callable[[int, int | None], None] | None = None
) -> Sheet:
    raw_rows, estimate = _xlsx_rows(data) if fmt == "xlsx" else _csv_rows(data)
    return _collect(raw_rows, estimate, progress)


def _collect(raw_rows, estimate, progress) -> Sheet:
    sheet = Sheet()
    headers = None
    known = header_map()
    positions: dict[str, int] = {}
    count = 0
    for number, values in raw_rows:
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        if headers is None:
            headers = cells
            for i, h in enumerate(cells):
                fld = known.get(_norm(h)) if h else None
                if fld and fld not in positions:
                    positions[fld] = i
                    sheet.columns[fld] = h
                elif h:
                    sheet.ignored.append(h)
            if "number" not in positions:
                raise ImportFileError("no_number_column")
            if not any(f in positions for f in CHANGING):
                raise ImportFileError("no_change_columns")
            continue
        count += 1
        if count > MAX_ROWS:
            raise ImportFileError("too_many_rows")
        row = {f: (cells[i] if i < len(cells) else "") for f, i in positions.items()}
        if any(row.values()):
            sheet.rows.append((number, row))
        if progress and count % 2000 == 0:
            progress(count, estimate)
    if headers is None:
        raise ImportFileError("empty")
    if not sheet.rows:
        raise ImportFileError("no_rows")
    if progress:
        progress(count, count)
    return sheet


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = " ".join(str(value).replace("\u00a0", " ").split())
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]  # our own export's guard against formulas
    return text


def _csv_rows(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1250")
        except UnicodeDecodeError as exc:
            raise ImportFileError("unreadable") from exc
    controls = sum(1 for c in text[:65536] if ord(c) < 32 and c not in "\r\n\t")
    if controls > max(3, len(text[:65536]) // 200):
        raise ImportFileError("unreadable")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(";,\t", key=first.count) if first else ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    estimate = text.count("\n") or None

    def rows():
        try:
            yield from enumerate(reader, start=1)
        except csv.Error as exc:
            raise ImportFileError("unreadable") from exc

    return rows(), estimate


def _xlsx_rows(data: bytes):
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = next(iter(wb.worksheets))
    except Exception as exc:  # zip, XML or openpyxl errors: not a workbook we can read
        raise ImportFileError("unreadable") from exc
    estimate = ws.max_row if isinstance(ws.max_row, int) else None

    def rows():
        try:
            yield from enumerate(ws.iter_rows(values_only=True), start=1)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise ImportFileError("unreadable") from exc
        finally:
            wb.close()

    return rows(), estimate


def template_headers() -> list[str]:
    """The header row of the downloadable template, in the current language."""
    return [str(FIELD_LABELS[f]) for f in FIELDS]


_SPLIT = re.compile(r"\s*/\s*")


def path_segments(value: str) -> list[str]:
    """ "Sprzedaż / Północ" -> ["sprzedaz", "polnoc"] (normalised for comparison)."""
    return [_norm(p) for p in _SPLIT.split(value.strip().strip("/")) if p.strip()]


def normalised(value: str) -> str:
    return _norm(value)
