"""Reports in the portal as users meet them: numbers, scope, PIN/PUK rules and audit, exports
and bad period input."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import AuditEvent, BackgroundTask, PortalRole, TaskStatus
from tests.conftest import csrf_token, login_portal, press_export
from tests.factories import PASSWORD, make_portal_user
from tests.reports_factories import independent_sum, usage_fleet

NOV = "2026-11"
START, END = date(2026, 11, 1), date(2026, 12, 1)


@pytest.fixture
def world(db, redis_clean):
    f = usage_fleet(db)
    c = f["customer"]
    f["admin"] = make_portal_user(db, c)
    f["sales_admin"] = make_portal_user(db, c, scope_unit=f["sales"])
    f["viewer"] = make_portal_user(db, c, role=PortalRole.viewer)
    f["employee"] = make_portal_user(db, c, role=PortalRole.employee, employee_id=f["people"][0].id)
    f["other_admin"] = make_portal_user(db, f["other"])
    return f


def _login(client, user):
    client.get("/lang/en")
    assert login_portal(client, user.email, PASSWORD).status_code == 302


def _csv(response):
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))


def _codes_events(db):
    """The audit events of PIN/PUK reads, in the order they were recorded."""
    return db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "sim_report.codes_read")
        .order_by(AuditEvent.id)
    ).all()


def test_usage_page_shows_totals_and_chart(client, world):
    _login(client, world["admin"])
    r = client.get(f"/reports/usage?group=unit&month={NOV}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    total = independent_sum(world["rows"], START, END)["charge"]
    assert f"{total:,.2f}" in html
    assert "<svg" in html and 'role="img"' in html and 'id="usage-table"' in html
    assert "Top spenders" in html and "Month over month" in html
    # Every grouping renders.
    for group in ("line", "tariff", "employee"):
        assert client.get(f"/reports/usage?group={group}&month={NOV}").status_code == 200


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2026-03-01&to=2026-02-01", "The end of the period is before its start."),
        ("from=2025-01-01&to=2026-03-01", "The period may be at most 13 months long."),
        ("month=2026-13", "Enter the month as YYYY-MM"),
        ("from=yesterday&to=2026-02-01", "Enter both dates of the range as YYYY-MM-DD."),
    ],
)
def test_bad_period_refused_with_a_message(client, world, query, message):
    _login(client, world["admin"])
    r = client.get(f"/reports/usage?{query}")
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    # The page offers no export then; a hand-made request gets the same message.
    token = csrf_token(client.get("/reports/sim").get_data(as_text=True))
    fields = dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair)
    r = client.post(
        "/reports/usage/export",
        data={**fields, "fmt": "csv", "csrf_token": token},
        follow_redirects=True,
    )
    assert message in r.get_data(as_text=True)


def test_subtree_admin_sees_only_the_subtree(client, world):
    _login(client, world["sales_admin"])
    rows = _csv(press_export(client, f"/reports/usage?group=unit&month={NOV}", "csv"))
    assert [r[0].lstrip("· ") for r in rows[1:-1]] == ["Sprzedaż", "Północ"]
    sales_lines = {line.id for line in world["lines"][:3]}
    expected = independent_sum(world["rows"], START, END, lambda r: r[0].id in sales_lines)
    cost = rows[0].index("Cost (PLN net)")
    assert Decimal(rows[-1][cost]) == expected["charge"]
    sim = _csv(press_export(client, "/reports/sim", "csv"))
    numbers = {r[0].replace(" ", "") for r in sim[1:]}
    assert len(numbers) == 3 and world["lines"][3].msisdn.replace("+48", "") not in str(numbers)
    html = client.get("/reports/sim").get_data(as_text=True)
    assert world["lines"][3].iccid not in html and world["lines"][0].iccid in html


def test_other_customer_sees_nothing_of_ours(client, world):
    _login(client, world["other_admin"])
    html = client.get(f"/reports/usage?group=line&month={NOV}").get_data(as_text=True)
    assert world["lines"][0].msisdn not in html
    sim = client.get("/reports/sim").get_data(as_text=True)
    assert world["lines"][0].iccid not in sim


def test_employee_has_no_reports(client, world):
    _login(client, world["employee"])
    assert client.get("/reports/usage").status_code == 403
    assert client.get("/reports/sim").status_code == 403


def test_viewer_never_sees_codes(client, db, world):
    _login(client, world["viewer"])
    page = client.get("/reports/sim")
    html = page.get_data(as_text=True)
    assert "PUK1" not in html and "Show PIN/PUK" not in html
    token = csrf_token(client.get("/reports/usage").get_data(as_text=True))
    assert client.post("/reports/sim/reveal", data={"csrf_token": token}).status_code == 403
    r = client.post("/reports/sim/export", data={"csrf_token": token, "fmt": "csv", "codes": "1"})
    assert r.status_code == 403
    rows = _csv(press_export(client, "/reports/sim", "csv"))
    assert "PIN1" not in rows[0] and "11112222" not in str(rows)
    assert _codes_events(db) == []


def test_admin_reveal_and_export_with_codes_are_audited(client, db, world):
    _login(client, world["admin"])
    html = client.get("/reports/sim").get_data(as_text=True)
    assert "11112222" not in html and "Show PIN/PUK" in html
    token = csrf_token(html)
    assert client.post("/reports/sim/reveal", data={}).status_code == 400  # no CSRF token
    r = client.post("/reports/sim/reveal", data={"csrf_token": token})
    assert r.status_code == 200 and "11112222" in r.get_data(as_text=True)
    assert r.headers["Cache-Control"].startswith("private")
    events = _codes_events(db)
    assert [e.after["how"] for e in events] == ["reveal"]
    assert events[0].actor_id == world["admin"].id and events[0].after["lines"] == 5

    r = press_export(client, "/reports/sim", "xlsx", hidden={"codes": "1"})
    sheet = load_workbook(io.BytesIO(r.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][-4:] == ("PIN1", "PUK1", "PIN2", "PUK2")
    assert values[1][-4:] == ("1111", "11112222", "2222", "22223333")
    assert [e.after["how"] for e in _codes_events(db)] == ["reveal", "export:xlsx"]
    # The plain export has no codes and records nothing.
    rows = _csv(press_export(client, "/reports/sim", "csv"))
    assert "PIN1" not in rows[0]
    assert len(_codes_events(db)) == 2


def test_exports_parse_back(client, world):
    _login(client, world["admin"])
    expected = independent_sum(world["rows"], START, END)["charge"]
    rows = _csv(press_export(client, f"/reports/usage?group=tariff&month={NOV}", "csv"))
    cost = rows[0].index("Cost (PLN net)")
    assert sum(Decimal(r[cost]) for r in rows[1:-1]) == expected
    r = press_export(client, f"/reports/usage?group=employee&month={NOV}", "xlsx")
    assert r.headers["Content-Disposition"].endswith(".xlsx")
    values = list(load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    col = values[0].index("Cost (PLN net)")
    assert Decimal(str(values[-1][col])) == expected
    r = press_export(client, f"/reports/usage?group=unit&month={NOV}", "pdf")
    assert r.data.startswith(b"%PDF") and r.mimetype == "application/pdf"
    r = press_export(client, "/reports/sim", "pdf")
    assert r.data.startswith(b"%PDF")
    token = csrf_token(client.get("/reports/sim").get_data(as_text=True))
    assert (
        client.post("/reports/sim/export", data={"csrf_token": token, "fmt": "exe"}).status_code
        == 404
    )
    # Exports are POSTs with a CSRF token: a link or a forged form starts nothing.
    assert client.get(f"/reports/usage/export?fmt=csv&month={NOV}").status_code == 405
    assert (
        client.post("/reports/usage/export", data={"fmt": "csv", "month": NOV}).status_code == 400
    )


def test_large_export_becomes_a_task(client, db, app, world):
    app.config["REPORT_EXPORT_INLINE_LIMIT"] = 2
    _login(client, world["admin"])
    r = press_export(client, f"/reports/usage?group=line&month={NOV}", "csv")
    assert r.status_code == 302 and "/files/" in r.headers["Location"]
    task = db.scalars(select(BackgroundTask).order_by(BackgroundTask.id.desc())).first()
    assert task.kind == "report_export" and task.status == TaskStatus.queued
    assert task.portal_user_id == world["admin"].id
