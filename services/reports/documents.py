"""Reports as tables and files, the same for a download, a background export and a monthly
e-mail. ``params`` describe a report completely in plain JSON values, so a job can rebuild it:

    {"report": "sim" | "usage", "scope": {customer_id, unit_path, employee_id},
     "fmt": "csv" | "xlsx" | "pdf", "with_codes": bool,            # sim
     "period": {"start", "end"}, "group_by": "line" | "unit" | …}  # usage

Strings are translated in the current locale (the caller sets it: a request, or
``force_locale`` in a job).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from sqlalchemy.orm import Session

from core.i18n import _l, _ln
from services.fleet_query import FleetScope
from services.reports import chart, sim_report, tables, usage_report
from services.reports.period import Period
from services.reports.tables import MONEY, NUMBER, TEXT, Column, Table

REPORTS = ("sim", "usage")
# A PDF is for reading, not for 50,000 rows (WeasyPrint lays out about 5 pages a second): it
# holds at most PDF_MAX_ROWS rows, and the unit summary the top PDF_UNIT_LEVELS levels of the
# tree under the scope; the note says so, and CSV and XLSX carry everything.
PDF_MAX_ROWS = 500
PDF_UNIT_LEVELS = 3
GROUP_LABELS = {
    "line": _l("Line"),
    "unit": _l("Unit"),
    "tariff": _l("Tariff"),
    "employee": _l("Employee"),
}
TITLES = {
    "line": _l("Usage by line"),
    "unit": _l("Usage by unit"),
    "tariff": _l("Usage by tariff"),
    "employee": _l("Usage by employee"),
}
CHART_TITLES = {
    "line": _l("Cost by line"),
    "unit": _l("Cost by unit (with the units below)"),
    "tariff": _l("Cost by tariff"),
    "employee": _l("Cost by employee"),
}
ZONE_LABELS = {"eu": _l("Roaming EU"), "europe": _l("Roaming Europe"), "world": _l("Roaming world")}


def scope_params(scope: FleetScope) -> dict:
    return {
        "customer_id": scope.customer_id,
        "unit_path": scope.unit_path,
        "employee_id": scope.employee_id,
    }


def scope_from(params: dict) -> FleetScope:
    return FleetScope(**params)


def row_count(session: Session, params: dict) -> int:
    """How many rows the export will have (decides between a download and a task)."""
    scope = scope_from(params["scope"])
    if params["report"] == "sim":
        return sim_report.count(session, scope)
    if params["group_by"] == "unit":
        return len(usage_report._unit_rows(session, scope))
    return sim_report.count(session, scope)  # at most one row per line


# --- SIM configuration ------------------------------------------------------------------------


def sim_columns(with_codes: bool) -> list[Column]:
    cols = [
        Column(str(_l("Number")), TEXT, 16),
        Column(str(_l("Employee")), TEXT, 24),
        Column(str(_l("Unit")), TEXT, 34),
        Column(str(_l("Tariff")), TEXT, 18),
        Column(str(_l("Services")), TEXT, 30),
        Column("ICCID", TEXT, 22),
        Column("IMSI", TEXT, 17),
        Column("IMEI", TEXT, 17),
        Column(str(_l("Handset")), TEXT, 24),
    ]
    if with_codes:
        cols += [Column(label, TEXT, 10) for label in ("PIN1", "PUK1", "PIN2", "PUK2")]
    return cols


def sim_cells(row: sim_report.SimRow) -> list:
    cells = [
        row.number,
        row.employee,
        row.unit,
        row.tariff,
        row.services,
        row.iccid,
        row.imsi,
        row.imei,
        row.handset,
    ]
    return cells + list(row.codes) if row.codes is not None else cells


def sim_table(session: Session, params: dict, progress=None) -> Table:
    scope, with_codes = scope_from(params["scope"]), bool(params.get("with_codes"))
    pdf = params.get("fmt") == "pdf"
    rows = sim_report.rows(
        session,
        scope,
        with_codes=with_codes,
        progress=progress,
        limit=PDF_MAX_ROWS if pdf else None,
    )
    notes = []
    if pdf and sim_report.count(session, scope) > PDF_MAX_ROWS:
        notes.append(pdf_cut_note())
    return Table(
        title=str(_l("SIM configuration")),
        subtitle=date.today().isoformat(),
        columns=sim_columns(with_codes),
        rows=(sim_cells(r) for r in rows),
        notes=notes,
    )


def pdf_cut_note() -> str:
    return str(
        _ln(
            "The PDF shows the first %(num)d row; the CSV and XLSX exports have them all.",
            "The PDF shows the first %(num)d rows; the CSV and XLSX exports have them all.",
            PDF_MAX_ROWS,
        )
    )


# --- usage ------------------------------------------------------------------------------------


def usage_columns(group_by: str) -> list[Column]:
    first = [Column(str(GROUP_LABELS[group_by]), TEXT, 30)]
    if group_by in ("line", "employee", "unit"):
        detail = {"line": _l("Employee"), "employee": _l("E-mail"), "unit": _l("Path")}
        first.append(Column(str(detail[group_by]), TEXT, 24))
    return [
        *first,
        Column(str(_l("Voice (min)")), NUMBER, 11),
        Column(str(_l("SMS")), NUMBER, 9),
        Column(str(_l("MMS")), NUMBER, 9),
        Column(str(_l("Data (MB)")), NUMBER, 11),
        *[Column(str(label), MONEY, 13) for label in ZONE_LABELS.values()],
        Column(str(_l("Cost (PLN net)")), MONEY, 13),
        Column(str(_l("Previous period (PLN)")), MONEY, 13),
        Column(str(_l("Change on previous period")), NUMBER, 10),
    ]


def group_label(group: usage_report.Group, group_by: str) -> str:
    if group.label:
        return ("· " * group.depth + group.label) if group_by == "unit" else group.label
    return str(_l("No employee")) if group_by == "employee" else "—"


def usage_cells(group: usage_report.Group, group_by: str) -> list:
    f = group.figures
    cells = [group_label(group, group_by)]
    if group_by in ("line", "employee", "unit"):
        cells.append(group.detail)
    return [
        *cells,
        f.voice_minutes,
        f.sms,
        f.mms,
        f.data_mb,
        *[f.roaming.get(zone, Decimal("0.00")) for zone in ZONE_LABELS],
        f.charge,
        group.previous,
        group.change,
    ]


def usage_title(group_by: str) -> str:
    return str(TITLES[group_by])


def money_text(value: Decimal) -> str:
    return f"{value:,.2f} PLN".replace(",", " ")


def usage_chart(report: usage_report.UsageReport) -> chart.Chart:
    groups = sorted(report.groups, key=lambda g: -g.figures.charge)
    return chart.bar_chart(
        str(CHART_TITLES[report.group_by]),
        [(group_label(g, report.group_by).lstrip("· "), g.figures.charge) for g in groups],
        money_text,
    )


def months_chart(report: usage_report.UsageReport) -> chart.Chart:
    return chart.bar_chart(
        str(_l("Cost month over month")),
        [(m.strftime("%Y-%m"), v) for m, v in report.months],
        money_text,
    )


def usage_table(session: Session, params: dict, progress=None) -> Table:
    scope = scope_from(params["scope"])
    period = Period.from_params(params["period"])
    group_by = params["group_by"]
    report = usage_report.build(session, scope, period, group_by)
    total = usage_report.Group(None, str(_l("Total")), "", 0, report.total)
    total.previous = report.previous_total
    groups = report.groups
    notes = []
    if params.get("fmt") == "pdf":
        if group_by == "unit" and groups:
            top = min(g.depth for g in groups)
            shown = [g for g in groups if g.depth < top + PDF_UNIT_LEVELS]
            if len(shown) < len(groups):
                notes.append(
                    str(
                        _ln(
                            "The PDF shows the top %(num)d level of units; the CSV and XLSX "
                            "exports have every unit.",
                            "The PDF shows the top %(num)d levels of units; the CSV and XLSX "
                            "exports have every unit.",
                            PDF_UNIT_LEVELS,
                        )
                    )
                )
            groups = shown
        if len(groups) > PDF_MAX_ROWS:
            groups = groups[:PDF_MAX_ROWS]
            notes.append(pdf_cut_note())

    def cells() -> Iterator[list]:
        if progress:
            progress(0, len(groups))
        for n, group in enumerate(groups, start=1):
            yield usage_cells(group, group_by)
            if progress and n % 2000 == 0:
                progress(n, len(groups))
        yield usage_cells(total, group_by)

    if group_by == "unit":
        notes.append(str(_l("Each unit's figures include all units below it.")))
    return Table(
        title=usage_title(group_by),
        subtitle=period.label(),
        columns=usage_columns(group_by),
        rows=cells(),
        notes=notes,
        chart_svg=chart.svg(usage_chart(report)) if params.get("fmt") == "pdf" else None,
    )


# --- files ------------------------------------------------------------------------------------


def table(session: Session, params: dict, progress=None) -> Table:
    if params["report"] == "sim":
        return sim_table(session, params, progress)
    return usage_table(session, params, progress)


def write(session: Session, params: dict, out: BinaryIO, progress=None) -> int:
    return tables.write(
        out,
        table(session, params, progress),
        params["fmt"],
        decimal_comma=params.get("locale", "pl") == "pl",
    )


def file_name(params: dict, customer_name: str) -> str:
    from services.fleet_io.export import slug

    if params["report"] == "sim":
        stem = f"{slug(str(_l('SIM configuration')))}-{date.today().isoformat()}"
    else:
        period = Period.from_params(params["period"])
        label = period.label().replace(" – ", "_")
        stem = f"{slug(usage_title(params['group_by']))}-{label}"
    return f"{stem}-{slug(customer_name)}.{params['fmt']}"
