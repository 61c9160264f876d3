"""The portal-adoption bar chart as plain geometry; templates/admin_console/reports/_chart.html
draws it as inline SVG (no script, no style attributes: the CSP forbids both)."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.console_reports import CustomerFigures

WIDTH = 960
LABEL_WIDTH = 230
ROW_HEIGHT = 24
BAR_HEIGHT = 14
TOP = 34
VALUE_ROOM = 56  # space kept right of the longest bar for its value
LABEL_CHARS = 32


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    tone: str  # "primary" (the part that counts) or "muted" (the whole)


@dataclass
class Panel:
    key: str  # users | logins | orders
    x: float
    width: float
    scale: int  # the value a full-width bar stands for


@dataclass
class Row:
    y: float
    label: str
    full_label: str
    figures: CustomerFigures
    bars: dict[str, list[Bar]] = field(default_factory=dict)
    value_x: dict[str, float] = field(default_factory=dict)


@dataclass
class Chart:
    width: int
    height: int
    panels: list[Panel]
    rows: list[Row]
    total_customers: int

    @property
    def truncated(self) -> bool:
        return len(self.rows) < self.total_customers


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _length(value: int, scale: int, width: float) -> float:
    if value <= 0 or scale <= 0:
        return 0.0
    return max(1.5, round(width * value / scale, 1))


def adoption_chart(figures: list[CustomerFigures], limit: int = 30) -> Chart:
    """Bars for the ``limit`` customers with the most portal users (then sign-ins)."""
    chosen = sorted(
        figures, key=lambda f: (-f.portal_users, -f.logins, f.name.lower(), f.customer_id)
    )[:limit]
    panels = [
        Panel("users", LABEL_WIDTH + 10, 250, max([f.portal_users for f in chosen] + [1])),
        Panel("logins", LABEL_WIDTH + 280, 200, max([f.logins for f in chosen] + [1])),
        Panel(
            "orders",
            LABEL_WIDTH + 500,
            WIDTH - LABEL_WIDTH - 510,
            max([f.orders_portal + f.orders_other for f in chosen] + [1]),
        ),
    ]
    by_key = {p.key: p for p in panels}
    rows = []
    for i, f in enumerate(chosen):
        row = Row(TOP + i * ROW_HEIGHT, _short(f.name), f.name, f)
        p = by_key["users"]
        room = p.width - VALUE_ROOM
        row.bars["users"] = [
            Bar(p.x, _length(f.portal_users, p.scale, room), "muted"),
            Bar(p.x, _length(f.active_users, p.scale, room), "primary"),
        ]
        p = by_key["logins"]
        room = p.width - VALUE_ROOM
        row.bars["logins"] = [Bar(p.x, _length(f.logins, p.scale, room), "primary")]
        p = by_key["orders"]
        room = p.width - VALUE_ROOM
        portal = _length(f.orders_portal, p.scale, room)
        other = _length(f.orders_other, p.scale, room)
        row.bars["orders"] = [Bar(p.x, portal, "primary"), Bar(p.x + portal, other, "muted")]
        for key, bars in row.bars.items():
            row.value_x[key] = max(b.x + b.width for b in bars) + 6
        rows.append(row)
    height = TOP + max(1, len(rows)) * ROW_HEIGHT + 8
    return Chart(WIDTH, height, panels, rows, len(figures))
