"""A report as a plain table (translated headers, typed cells) and its three file formats.

CSV: UTF-8 with BOM and ";" (what Excel in Polish opens), formula-like text made inert.
XLSX: the streaming writer of services/fleet_io/xlsx.py. PDF: templates/pdf/report.html
through WeasyPrint (core.pdf), rendered by a Jinja environment of its own (no Flask here).

The PDF is A4 landscape with rows one line high (static/css/pdf-table.css), so it paginates
itself and ``core.pdf.render_pdf_pages`` lays out chunks of pages in parallel. Consecutive
numeric columns print as one cell of fixed-width fields under headings of the same widths
(a cell costs WeasyPrint about a millisecond; a 500-row report of twelve columns had 6,000).
"""

from __future__ import annotations

import csv
import io
import math
import re
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


# Page geometry of report.html (A4 landscape, millimetres; see pdf-table.css): the heading
# line of each page, the column headings (up to three lines), rows of ROW_MM; on the first
# page the title block, one line per note and the chart.
PAGE_WIDTH_MM = 297 - 12 - 12
PAGE_BODY_MM = 210 - 10 - 10 - 6
ROW_MM = 4
HEADINGS_MM = 3 * ROW_MM
TITLE_MM = 16
SPARE_MM = 3
CHART_WIDTH_MM = 190
MONO_CHAR_MM = 7 * 0.6 * 25.4 / 72
FIELD_MIN_CHARS = 9


@dataclass
class Segment:
    """What one cell of a printed row holds: a text column, or a run of numeric columns."""

    columns: list[int]
    figures: bool
    width_mm: float = 0.0
    chars: list[int] = field(default_factory=list)  # figures: the width of each field


def _segments(table: Table, rows: list[list[str]]) -> list[Segment]:
    segments: list[Segment] = []
    for n, column in enumerate(table.columns):
        figures = column.kind != TEXT
        if figures and segments and segments[-1].figures:
            segments[-1].columns.append(n)
        else:
            segments.append(Segment([n], figures))
    texts = [s for s in segments if not s.figures]
    weight = sum(table.columns[s.columns[0]].width for s in texts)
    for segment in segments:
        if segment.figures:
            segment.chars = [
                max(
                    FIELD_MIN_CHARS,
                    _heading_chars(table.columns[n].header),
                    max((len(r[n]) for r in rows), default=0),
                )
                + 2
                for n in segment.columns
            ]
            segment.width_mm = sum(segment.chars) * MONO_CHAR_MM
    # Text columns share what is left (less their padding), by their XLSX widths; the first
    # one is left "auto" in the template and takes any rounding.
    room = PAGE_WIDTH_MM - sum(s.width_mm for s in segments if s.figures) - 2.4 * len(texts)
    for segment in texts:
        segment.width_mm = max(10.0, room * table.columns[segment.columns[0]].width / weight)
    return segments


def _heading_chars(header: str) -> int:
    """Fixed-width characters a field needs for its heading to fit in three lines (the
    heading's letters are narrower than the figures': about nine tenths)."""
    longest_word = max((len(w) for w in header.split()), default=0)
    return max(math.ceil(longest_word * 0.9), math.ceil(len(header) * 0.9 / 3) + 1)


def _chart_size(svg: str | None) -> tuple[float, float]:
    """(width, height) in mm of the chart printed CHART_WIDTH_MM wide."""
    found = re.search(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"', svg or "")
    if not found:
        return 0.0, 0.0
    width, height = float(found[1]), float(found[2])
    return CHART_WIDTH_MM, round(CHART_WIDTH_MM * height / width, 2)


def _pages(count: int, first: int, per_page: int) -> list[tuple[int, int]]:
    bounds = [(0, min(count, first))]
    while bounds[-1][1] < count:
        start = bounds[-1][1]
        bounds.append((start, min(count, start + per_page)))
    return bounds


def _document(table: Table, decimal_comma: bool):
    """Everything the template needs, the rows cut into pages."""
    rows = [
        [
            _cell_text(v, c.kind, decimal_comma).lstrip("'")
            for v, c in zip(row, table.columns, strict=True)
        ]
        for row in table.rows
    ]
    segments = _segments(table, rows)
    printed = [
        [
            (
                "".join(row[n].rjust(w) for n, w in zip(s.columns, s.chars, strict=True))
                if s.figures
                else row[s.columns[0]],
                s.figures,
                len(s.columns),
            )
            for s in segments
        ]
        for row in rows
    ]
    chart_w, chart_h = _chart_size(table.chart_svg)
    head_mm = TITLE_MM + ROW_MM * len(table.notes) + (chart_h + 2 if chart_h else 0)
    per_page = math.floor((PAGE_BODY_MM - HEADINGS_MM - SPARE_MM) / ROW_MM)
    first = max(1, math.floor((PAGE_BODY_MM - head_mm - HEADINGS_MM - SPARE_MM) / ROW_MM))
    pages = _pages(len(rows), first, per_page)
    context = {
        "table": table,
        "segments": segments,
        "mono_mm": MONO_CHAR_MM,
        "chart": {"width": chart_w, "height": chart_h} if chart_h else None,
        "total_pages": len(pages),
    }
    return printed, pages, context


def _render(rows, pages, context, start: int, stop: int) -> str:
    return (
        _environment()
        .get_template("report.html")
        .render(
            pages=[rows[a:b] for a, b in pages[start:stop]],
            first_page=start + 1,
            **context,
        )
    )


def render_html(table: Table, *, decimal_comma: bool) -> str:
    """The whole PDF document as one HTML document."""
    rows, pages, context = _document(table, decimal_comma)
    return _render(rows, pages, context, 0, len(pages))


def write_pdf(out: BinaryIO, table: Table, *, decimal_comma: bool) -> int:
    from core.pdf import chunk_bounds, render_pdf_pages

    rows, pages, context = _document(table, decimal_comma)
    chunks = [_render(rows, pages, context, a, b) for a, b in chunk_bounds(len(pages))]
    out.write(render_pdf_pages(chunks))
    return len(rows)


def write(out: BinaryIO, table: Table, fmt: str, *, decimal_comma: bool) -> int:
    """The table in ``fmt``; returns the number of data rows."""
    if fmt == "xlsx":
        return write_xlsx(out, table)
    if fmt == "pdf":
        return write_pdf(out, table, decimal_comma=decimal_comma)
    return write_csv(out, table, decimal_comma=decimal_comma)
