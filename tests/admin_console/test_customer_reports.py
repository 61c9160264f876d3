"""A customer's reports in the console: an account manager's own customers only."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from models import StaffRole
from tests.conftest import csrf_token, login_console, press_export
from tests.factories import PASSWORD, make_staff
from tests.reports_factories import independent_sum, usage_fleet


@pytest.fixture
def world(db):
    f = usage_fleet(db)
    f["manager"] = make_staff(db, StaffRole.account_manager)
    f["other_manager"] = make_staff(db, StaffRole.account_manager)
    f["customer"].account_manager_id = f["manager"].id
    f["other"].account_manager_id = f["other_manager"].id
    db.flush()
    return f


def _sign_in(client, staff):
    client.get("/admin/lang/en")
    assert login_console(client, staff.email, PASSWORD).status_code == 302


def test_manager_reads_own_customers_reports(client, world):
    _sign_in(client, world["manager"])
    cid = world["customer"].id
    r = client.get(f"/admin/customers/{cid}/reports/?group=unit&month=2026-11")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    total = independent_sum(world["rows"], date(2026, 11, 1), date(2026, 12, 1))["charge"]
    assert f"{total:,.2f}" in html and "<svg" in html
    r = press_export(client, f"/admin/customers/{cid}/reports/?group=line&month=2026-11", "csv")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig")), delimiter=";"))
    cost = rows[0].index("Cost (PLN net)")
    assert Decimal(rows[-1][cost]) == total
    sim = client.get(f"/admin/customers/{cid}/reports/sim")
    assert sim.status_code == 200
    assert world["lines"][0].iccid in sim.get_data(as_text=True)
    assert "11112222" not in sim.get_data(as_text=True)  # no codes in the console
    pdf = press_export(client, f"/admin/customers/{cid}/reports/sim", "pdf")
    assert pdf.data.startswith(b"%PDF")
    bad = client.get(f"/admin/customers/{cid}/reports/?from=2026-05-01&to=2026-04-01")
    assert bad.status_code == 400
    assert "The end of the period is before its start." in bad.get_data(as_text=True)


def test_another_managers_customer_is_404(client, world):
    _sign_in(client, world["other_manager"])
    cid = world["customer"].id
    for path in ("/", "/sim"):
        assert client.get(f"/admin/customers/{cid}/reports{path}").status_code == 404
    own = client.get(f"/admin/customers/{world['other'].id}/reports/sim").get_data(as_text=True)
    token = csrf_token(own)
    for path in ("/usage/export", "/sim/export"):
        r = client.post(
            f"/admin/customers/{cid}/reports{path}",
            data={"csrf_token": token, "fmt": "csv", "month": "2026-11"},
        )
        assert r.status_code == 404
    assert client.get(f"/admin/customers/{world['other'].id}/reports/sim").status_code == 200


def test_sales_admin_reads_any_customer(client, db, world):
    _sign_in(client, make_staff(db, StaffRole.sales_admin))
    r = client.get(f"/admin/customers/{world['customer'].id}/reports/sim")
    assert r.status_code == 200
