"""What the portal's and the console's report pages share: reading the period and grouping
from the query string, building the page context, and answering an export (a download at
once, or a task for a large one). The caller has already loaded the customer through its own
scope and authorised the user; these functions only take a ``FleetScope``.
"""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, send_file
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from core.web import db, runtime
from services.fleet_query import FleetScope
from services.reports import documents, period, tables, usage_report
from services.reports.period import PeriodError

PERIOD_ERRORS = {
    "bad_month": _l("Enter the month as YYYY-MM, for example 2026-11."),
    "bad_date": _l("Enter both dates of the range as YYYY-MM-DD."),
    "end_before_start": _l("The end of the period is before its start."),
    "too_long": _l("The period may be at most 13 months long."),
}


def today():
    return datetime.now(ZoneInfo("Europe/Warsaw")).date()


def locale() -> str:
    return str(get_locale() or "pl")


def inline_limit() -> int:
    """Rows that download at once (settings: REPORT_INLINE_ROWS; the app config's
    REPORT_EXPORT_INLINE_LIMIT overrides it, as tests do)."""
    configured = current_app.config.get("REPORT_EXPORT_INLINE_LIMIT")
    return int(configured if configured is not None else runtime().settings.report_inline_rows)


def read_usage_args(args) -> tuple[str, period.Period | None, str | None]:
    """(group, period or None, error message or None)."""
    group = args.get("group", "unit")
    if group not in usage_report.GROUPS:
        group = "unit"
    try:
        return group, period.parse(args, today()), None
    except PeriodError as err:
        return group, None, str(PERIOD_ERRORS[err.code])


def usage_context(scope: FleetScope, args) -> tuple[dict, int]:
    group, per, error = read_usage_args(args)
    ctx = {
        "group": group,
        "groups": documents.GROUP_LABELS,
        "period": per,
        "error": error,
        "args": {k: v for k, v in args.items() if k in ("month", "from", "to")},
        "month_value": args.get("month") or (per.start.strftime("%Y-%m") if per else ""),
        "zones": documents.ZONE_LABELS,
        "report": None,
    }
    if per is None:
        return ctx, 400
    report = usage_report.build(db(), scope, per, group)
    ctx.update(
        report=report,
        title=documents.usage_title(group),
        chart=documents.usage_chart(report),
        months_chart=documents.months_chart(report),
        group_label=lambda g: documents.group_label(g, group),
        formats=tables.FORMATS,
    )
    return ctx, 200


def usage_params(scope: FleetScope, args, fmt: str) -> dict | None:
    group, per, _error = read_usage_args(args)
    if per is None:
        return None
    return {
        "report": "usage",
        "scope": documents.scope_params(scope),
        "period": per.as_params(),
        "group_by": group,
        "fmt": fmt,
        "locale": locale(),
    }


def sim_params(scope: FleetScope, fmt: str, with_codes: bool) -> dict:
    return {
        "report": "sim",
        "scope": documents.scope_params(scope),
        "fmt": fmt,
        "with_codes": with_codes,
        "locale": locale(),
    }


def check_format(fmt: str) -> None:
    if fmt not in tables.FORMATS:
        abort(404)


def is_small(params: dict) -> bool:
    return documents.row_count(db(), params) <= inline_limit()


def download(params: dict, customer_name: str):
    out = io.BytesIO()
    documents.write(db(), params, out)
    out.seek(0)
    response = send_file(
        out,
        mimetype=tables.CONTENT_TYPES[params["fmt"]],
        as_attachment=True,
        download_name=documents.file_name(params, customer_name),
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
