"""Spend as the portal shows it: the employee's month on "my line" (own line only), and the
fleet admin's lines near their limit and alerts sent, within the admin's subtree."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from models import Zone
from services import policies, spend_alerts
from services.usage import local_today
from tests.conftest import login_portal, post_form
from tests.factories import PASSWORD
from tests.fleet_factories import make_employee, make_line, make_tariff
from tests.selfservice_factories import make_company
from tests.spend_factories import charge_days


def _login(client, email):
    login_portal(client, email, PASSWORD)
    client.get("/lang/en")


def _recent_usage(db, line, amount, zone=Zone.domestic):
    today = local_today()
    charge_days(db, line, today - timedelta(days=14), today, amount, zone)


def test_employee_sees_own_month_and_projection_only(client, db):
    co = make_company(db, monthly_limit=Decimal("10000"))
    colleague = make_employee(db, co.customer, co.team)
    other = make_line(db, co.customer, co.team, make_tariff(db), colleague, monthly_limit=50)
    _recent_usage(db, co.line, "3.00")
    _recent_usage(db, co.line, "7.00", Zone.europe)
    _recent_usage(db, other, "99.00")
    _login(client, co.user.email)
    page = client.get(f"/my/lines/{co.line.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This month" in html and "Projection for the whole month" in html
    assert 'data-roaming="europe"' in html
    today = local_today()
    spent = Decimal("10.00") * (today.day)  # 3 + 7 a day from the 1st through today
    assert f'data-spend-to-date="{spent:.2f}"' in html
    assert "99.00" not in html  # the colleague's figures are not here
    assert client.get(f"/my/lines/{other.id}").status_code == 404


def test_near_limit_and_alerts_are_scoped_to_the_admins_subtree(client, db):
    co = make_company(db, monthly_limit=Decimal("20"))
    outside = make_line(db, co.customer, co.other, make_tariff(db), monthly_limit=20)
    calm = make_line(db, co.customer, co.team, make_tariff(db), monthly_limit=100000)
    for line in (co.line, outside, calm):
        _recent_usage(db, line, "5.00")
    spend_alerts.evaluate(db)

    _login(client, co.sales_admin.email)
    html = client.get("/selfservice/").get_data(as_text=True)
    near = html.split('id="near-limit"')[1].split("</table>")[0]
    assert f'data-line="{co.line.id}"' in near
    assert f'/fleet/{co.line.id}"' in near
    assert f'data-line="{outside.id}"' not in near
    assert f'data-line="{calm.id}"' not in near
    sent = html.split('id="spend-alerts"')[1].split("</table>")[0]
    assert f"/fleet/{co.line.id}" in sent and f"/fleet/{outside.id}" not in sent

    admin_client = client.application.test_client()
    _login(admin_client, co.admin.email)
    html = admin_client.get("/selfservice/").get_data(as_text=True)
    near = html.split('id="near-limit"')[1].split("</table>")[0]
    assert f'data-line="{co.line.id}"' in near and f'data-line="{outside.id}"' in near


def test_policy_form_sets_the_roaming_switches(client, db):
    co = make_company(db)
    _login(client, co.admin.email)
    url = f"/selfservice/units/{co.sales.id}/policy"
    html = client.get(url).get_data(as_text=True)
    assert 'name="rule:spend.roaming_off"' in html and 'name="rule:roaming.cap_off"' in html
    data = {"set:spend.roaming_off": "1", "rule:spend.roaming_off": "1"}
    assert post_form(client, url, data).status_code == 302
    eff = policies.effective(db, co.team)["spend.roaming_off"]
    assert eff.value is True and eff.unit.id == co.sales.id
    bad = {"set:roaming.cap_off": "1", "rule:roaming.cap_off": "maybe"}
    page = post_form(client, url, bad)
    assert page.status_code == 422 and "Choose yes or no." in page.get_data(as_text=True)
    assert policies.effective(db, co.team)["roaming.cap_off"].value is False
