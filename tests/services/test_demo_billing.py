"""Demo invoices: the demo lines are active through the demo usage months, each full month is
billed for every demo customer with its usage, the documents validate, and the demo fleet
administrator finds the invoices in the portal."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from models import Customer, Invoice, Line, UsageDaily
from services import billing, invoices, usage_rollup
from services.billing_period import Period
from services.demo import load_demo
from services.demo.billing import bill_demo_period, demo_periods
from services.demo.usage import demo_start
from services.einvoice import documents
from services.usage import local_today
from tests.conftest import login_portal
from tests.einvoice_checks import fa3_errors, ubl_errors


def test_demo_periods_are_the_full_months_of_usage():
    assert demo_periods(date(2026, 12, 6)) == [
        Period.month(2026, 9),
        Period.month(2026, 10),
        Period.month(2026, 11),
    ]
    assert demo_start(date(2026, 12, 6)).date() == date(2026, 8, 31)  # midnight Warsaw in UTC


def test_the_demo_bills_its_usage_months_and_the_fleet_admin_reads_them(db, client):
    load_demo(db, "Demo-2026!")
    today = local_today()
    polmarket = db.scalar(select(Customer).where(Customer.name.like("Polmarket%")))
    line = db.scalar(
        select(Line).where(Line.customer_id == polmarket.id, Line.status == "active").limit(1)
    )
    periods = demo_periods(today)
    assert len(periods) == 3
    # world roaming in the last full month: 10 min at the demo's 8.99 PLN
    db.add(
        UsageDaily(
            line_id=line.id,
            customer_id=polmarket.id,
            day=periods[-1].start + timedelta(days=4),
            kind="voice",
            zone="world",
            direction="out",
            quantity=600,
            events=2,
        )
    )
    usage_rollup.refresh(db, line_ids=[line.id])
    numbers = []
    for period in periods:
        for customer_id in billing.billable_customers(db, period):
            numbers.append(bill_demo_period(db, customer_id, period))
    customers = db.scalars(select(Customer.id)).all()
    assert len([n for n in numbers if n]) == 3 * len(customers)
    # billing again issues nothing new
    assert bill_demo_period(db, polmarket.id, periods[-1]) == numbers[-len(customers) :][0]
    invoice = db.scalar(
        select(Invoice).where(
            Invoice.customer_id == polmarket.id, Invoice.period_start == periods[-1].start
        )
    )
    assert invoice.issue_date == periods[-1].end + timedelta(days=1)
    usage = [li for li in invoices.lines_of(db, invoice) if li.category == "usage"]
    assert [(li.line_id, str(li.net)) for li in usage] == [(line.id, "89.90")]
    nowak = db.scalar(select(Invoice).where(Invoice.customer_id != polmarket.id).limit(1))
    assert fa3_errors(documents.fa3_xml(db, nowak)) == []
    assert ubl_errors(documents.ubl_xml(db, nowak)) == []

    login_portal(client, "admin@polmarket.example", "Demo-2026!")
    page = client.get("/invoices/").get_data(as_text=True)
    assert invoice.number in page
    assert client.get(f"/invoices/{invoice.id}").status_code == 200
