"""Bar charts as plain geometry; templates/portal/reports/_chart.html (and the PDF, through
``svg``) draw them as inline SVG — no script, no style attributes (the CSP forbids both).
Each chart comes with a data table on the page, so the SVG is labelled and otherwise hidden
from assistive technology."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

WIDTH = 900
LABEL_WIDTH = 240
ROW_HEIGHT = 22
BAR_HEIGHT = 14
VALUE_ROOM = 90
LABEL_CHARS = 34


@dataclass(frozen=True)
class Bar:
    y: float
    width: float
    label: str
    full_label: str
    value: str


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    label_width: int
    bars: list[Bar]


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def bar_chart(title: str, items: list[tuple[str, Decimal]], fmt, limit: int = 20) -> Chart:
    """Horizontal bars for ``items`` (label, value), the first ``limit`` of them."""
    items = items[:limit]
    top = max((v for _l, v in items), default=Decimal(0))
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    bars = []
    for i, (label, value) in enumerate(items):
        width = float(value / top * room) if top > 0 and value > 0 else 0.0
        bars.append(Bar(i * ROW_HEIGHT + 4, round(width, 1), _short(label), label, fmt(value)))
    return Chart(title, WIDTH, len(items) * ROW_HEIGHT + 8, LABEL_WIDTH, bars)


def svg(chart: Chart) -> str:
    """The chart as a standalone SVG string (for the PDF)."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {chart.width} {chart.height}" '
        f'role="img" aria-label="{escape(chart.title)}">'
    ]
    for bar in chart.bars:
        y_text = bar.y + BAR_HEIGHT - 3
        parts.append(
            f'<text x="{chart.label_width - 6}" y="{y_text}" text-anchor="end" '
            f'font-size="11">{escape(bar.label)}</text>'
            f'<rect x="{chart.label_width}" y="{bar.y}" width="{bar.width}" '
            f'height="{BAR_HEIGHT}" fill="#1f5fa8"/>'
            f'<text x="{chart.label_width + bar.width + 4}" y="{y_text}" '
            f'font-size="11">{escape(bar.value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
