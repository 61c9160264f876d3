"""A report as a plain table (translated headers, typed cells) and its three file formats.

CSV: UTF-8 with BOM and ";" (what Excel in Polish opens), formula-like text made inert.
XLSX: the streaming writer of services/fleet_io/xlsx.py. PDF: templates/pdf/report.html
through WeasyPrint (core.pdf), rendered by a Jinja environment of its own (no Flask here).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

import jinja2

from core.settings import PROJECT_ROOT
from services.fleet_io import xlsx
from services.fleet_io.export import FORMULA_START

TEXT, MONEY, NUMBER = xlsx.TEXT, xlsx.MONEY, xlsx.NUMBER
FORMATS = ("csv", "xlsx", "pdf")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    width: int = 14


@dataclass
class Table:
    title: str
    subtitle: str
    columns: list[Column]
    rows: Iterable[list]  # may be a generator (read once)
    notes: list[str] = field(default_factory=list)
    chart_svg: str | None = None  # an inline SVG for the PDF


def _cell_text(value, kind: str, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if kind in (MONEY, NUMBER):
        text = f"{Decimal(value):.2f}" if kind == MONEY else f"{Decimal(value):f}"
        return text.replace(".", ",") if decimal_comma else text
    text = str(value)
    return "'" + text if text and text[0] in FORMULA_START else text


def write_csv(out: BinaryIO, table: Table, *, decimal_comma: bool) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    kinds = [c.kind for c in table.columns]
    count = 0
    for row in table.rows:
        writer.writerow([_cell_text(v, k, decimal_comma) for v, k in zip(row, kinds, strict=True)])
        count += 1
    text.flush()
    text.detach()
    return count


def write_xlsx(out: BinaryIO, table: Table) -> int:
    return xlsx.write(
        out,
        table.title,
        [c.header for c in table.columns],
        [c.kind for c in table.columns],
        [c.width for c in table.columns],
        table.rows,
    )


_env: jinja2.Environment | None = None


def _environment() -> jinja2.Environment:
    global _env
    if _env is None:
        _env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(PROJECT_ROOT / "templates" / "pdf"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return _env


def render_html(table: Table, *, decimal_comma: bool) -> str:
    kinds = [c.kind for c in table.columns]
    rows = [
        [(_cell_text(v, k, decimal_comma).lstrip("'"), k) for v, k in zip(row, kinds, strict=True)]
        for row in table.rows
    ]
    return _environment().get_template("report.html").render(table=table, rows=rows)


def write_pdf(out: BinaryIO, table: Table, *, decimal_comma: bool) -> int:
    from core.pdf import render_pdf

    html = render_html(table, decimal_comma=decimal_comma)
    out.write(render_pdf(html))
    return html.count('<tr class="row">')


def write(out: BinaryIO, table: Table, fmt: str, *, decimal_comma: bool) -> int:
    """The table in ``fmt``; returns the number of data rows."""
    if fmt == "xlsx":
        return write_xlsx(out, table)
    if fmt == "pdf":
        return write_pdf(out, table, decimal_comma=decimal_comma)
    return write_csv(out, table, decimal_comma=decimal_comma)
