"""Fleet export: the lines a filter selects, as rows, written to CSV or XLSX.

Rows are read in batches of ids (the ids first, in the order of the fleet list, then the
details of ``BATCH`` lines at a time), so 50,000 lines never become 50,000 ORM objects. Values
keep their types (text, booleans, Decimal); each writer renders them its own way. PIN and PUK
codes are never exported.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import _l, lazy_pgettext
from models import Employee, Line, LineStatus, OrgUnit, Product, Service, TariffPlan
from services import fleet as fl
from services.fleet_io import xlsx

BATCH = 2000
TEXT, BOOL, MONEY = xlsx.TEXT, xlsx.BOOL, xlsx.MONEY

STATUS_LABELS = {
    LineStatus.pendingActive: _l("Pending activation"),
    LineStatus.active: lazy_pgettext("line status", "Active"),
    LineStatus.suspended: _l("Suspended"),
    LineStatus.pendingTerminate: _l("Pending termination"),
    LineStatus.terminated: _l("Terminated"),
}

SERVICE_LABELS = {
    Service.roaming: _l("Roaming"),
    Service.data: _l("Mobile data"),
    Service.intl_calls: _l("International calls"),
    Service.premium_barring: _l("Premium-rate barring"),
    Service.location: _l("Location service"),
}


@dataclass(frozen=True)
class Column:
    key: str
    label: object  # a lazy string (or plain text for codes such as ICCID)
    width: int
    kind: str = TEXT


COLUMNS: list[Column] = [
    Column("number", _l("Number"), 18),
    Column("e164", _l("Number (E.164)"), 16),
    Column("status", _l("Status"), 16),
    Column("employee", _l("Employee"), 28),
    Column("email", _l("E-mail"), 32),
    Column("position", _l("Position"), 24),
    Column("unit", _l("Unit"), 48),
    Column("cost_centre", _l("Cost centre"), 14),
    Column("tariff", _l("Tariff plan"), 22),
    Column("iccid", "ICCID", 23),
    Column("imsi", "IMSI", 17),
    Column("handset", _l("Handset"), 30),
    Column("imei", "IMEI", 17),
    *[Column(f"svc_{s.value}", SERVICE_LABELS[s], 12, BOOL) for s in Service],
    Column("monthly_limit", _l("Monthly limit (PLN)"), 14, MONEY),
]


def headers() -> list[str]:
    """Column headers in the current language."""
    return [str(c.label) for c in COLUMNS]


# --- reading ---------------------------------------------------------------------------------


class NumberFormat:
    """``format_msisdn`` for many numbers: the grouping depends only on the leading digits, so
    it is worked out once per prefix and reused (phonenumbers takes ~80 µs a number)."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, int], list[int] | None] = {}

    def __call__(self, msisdn: str) -> str:
        key = (msisdn[:7], len(msisdn))
        groups = self.groups.get(key, False)
        if groups is False:
            text = fl.format_msisdn(msisdn)
            parts = text.split(" ")
            ok = "".join(parts) == msisdn and all(p.lstrip("+").isdigit() for p in parts)
            groups = self.groups[key] = [len(p) for p in parts] if ok else None
            return text
        if groups is None:
            return fl.format_msisdn(msisdn)
        out, start = [], 0
        for size in groups:
            out.append(msisdn[start : start + size])
            start += size
        return " ".join(out)


def unit_paths(session: Session, customer_id: int) -> dict[int, str]:
    """Every unit of the customer -> its path of names, "Polmarket S.A. / Sprzedaż / Północ"."""
    units = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.path).where(OrgUnit.customer_id == customer_id)
    ).all()
    names = {uid: name for uid, name, _p in units}
    return {
        uid: " / ".join(names.get(int(p), "?") for p in path.strip("/").split("/") if p)
        for uid, _n, path in units
    }


@dataclass
class ExportData:
    total: int
    rows: Iterator[list]


def export_rows(
    session: Session,
    scope: fl.FleetScope,
    flt: fl.FleetFilter,
    *,
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> ExportData:
    """The filtered lines in scope, in the fleet list's order, as rows of typed values.

    One query, read through a server-side cursor ``batch`` rows at a time (plain rows, no ORM
    objects); names of units, tariffs and handsets come from small lookups made once.
    """
    total = fl.count(session, scope, flt)
    return ExportData(total=total, rows=_rows(session, scope, flt, total, batch, progress))


def _rows(session, scope, flt, total, batch, progress) -> Iterator[list]:
    paths = unit_paths(session, scope.customer_id)
    handsets = {
        pid: f"{maker} {name}" if maker and not name.startswith(maker) else name
        for pid, maker, name in session.execute(
            select(Product.id, Product.manufacturer, Product.name).where(
                Product.id.in_(
                    select(Line.handset_id)
                    .where(Line.customer_id == scope.customer_id, Line.handset_id.is_not(None))
                    .distinct()
                )
            )
        )
    }
    statuses = {status: str(label) for status, label in STATUS_LABELS.items()}
    sort = fl.SORTS[flt.sort][0]
    order = (sort.desc(), Line.id.desc()) if flt.desc else (sort.asc(), Line.id.asc())
    query = fl.filtered(session, scope, flt).with_only_columns(
        Line.msisdn,
        Line.status,
        Employee.full_name,
        Employee.email,
        Employee.position,
        Line.unit_id,
        OrgUnit.cost_centre,
        TariffPlan.name,
        Line.iccid,
        Line.imsi,
        Line.handset_id,
        Line.imei,
        Line.monthly_limit,
        *[getattr(Line, f"svc_{s.value}") for s in Service],
    )
    if flt.sort == "handset":
        query = query.outerjoin(fl.Handset, fl.Handset.id == Line.handset_id)
    result = session.execute(query.order_by(*order).execution_options(yield_per=batch))
    number = NumberFormat()
    done = 0
    for part in result.partitions():
        for r in part:
            (msisdn, status, name, email, position, unit_id, centre, tariff) = r[:8]
            (iccid, imsi, handset_id, imei, limit) = r[8:13]
            yield [
                number(msisdn),
                msisdn,
                statuses.get(status, status),
                name or "",
                email or "",
                position or "",
                paths.get(unit_id, ""),
                centre or "",
                tariff or "",
                iccid,
                imsi,
                handsets.get(handset_id, "") if handset_id else "",
                imei or "",
                *r[13:],
                limit,
            ]
        done += len(part)
        if progress:
            progress(done, max(total, done))


# --- writers ---------------------------------------------------------------------------------

FORMULA_START = "=+-@\t\r"


def guard(value: str) -> str:
    """A text a spreadsheet would run as a formula, made inert (OWASP: CSV injection)."""
    return "'" + value if value and value[0] in FORMULA_START else value


def write_csv(out: BinaryIO, rows, *, yes: str, no: str, decimal_comma: bool) -> int:
    """UTF-8 with BOM, ";" between fields: what Excel in Polish opens without a wizard."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers())
    booleans = [i for i, c in enumerate(COLUMNS) if c.kind == BOOL]
    money = [i for i, c in enumerate(COLUMNS) if c.kind == MONEY]
    texts = [i for i, c in enumerate(COLUMNS) if c.kind == TEXT]
    count = 0
    for row in rows:
        cells = list(row)
        for i in texts:
            v = cells[i]
            if v is None:
                cells[i] = ""
            elif not isinstance(v, str):
                cells[i] = guard(str(v))
            elif v and v[0] in FORMULA_START:
                cells[i] = "'" + v
        for i in booleans:
            cells[i] = yes if cells[i] else no
        for i in money:
            v = cells[i]
            if v is None:
                cells[i] = ""
            else:
                v = f"{Decimal(v):.2f}"
                cells[i] = v.replace(".", ",") if decimal_comma else v
        writer.writerow(cells)
        count += 1
    text.flush()
    text.detach()
    return count


def write_xlsx(out: BinaryIO, rows, *, sheet_title: str) -> int:
    """A typed sheet: text stays text (ICCID keeps every digit), booleans, money as numbers;
    frozen header row, column widths and an autofilter (services/fleet_io/xlsx.py)."""
    return xlsx.write(
        out,
        sheet_title,
        headers(),
        [c.kind for c in COLUMNS],
        [c.width for c in COLUMNS],
        rows,
    )


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

_LEGAL_FORMS = re.compile(
    r"\b(s\.?\s?a\.?|sp\.?\s*z\s*o\.?\s*o\.?|sp\.?\s*k\.?|sp\.?\s*j\.?|s\.?\s?c\.?|"
    r"sp\.?\s*p\.?|spółka akcyjna|spółka z ograniczoną odpowiedzialnością)(?=\s|$|,)",
    re.IGNORECASE,
)


def slug(text: str) -> str:
    """ASCII for file names: "Polmarket S.A." -> "polmarket"."""
    text = _LEGAL_FORMS.sub(" ", text or "")
    text = text.replace("ł", "l").replace("Ł", "L")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "firma"


def file_name(prefix: str, customer_name: str, day: date, fmt: str) -> str:
    """ "flota-polmarket-2026-11-23.csv"."""
    return f"{slug(prefix)}-{slug(customer_name)}-{day.isoformat()}.{fmt}"
