"""The billing run: pro-rated fees from the lines' history, one-off charges from orders,
contract prices, VAT per rate, totals recomputed independently, idempotence."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import func, select

from models import BillingRun, Contract, ContractState, ContractVersion, Invoice, RunStatus
from services import billing, invoices
from services.billing_charges import charges_for
from services.billing_period import Period
from tests.billing_factories import at, billing_customer, completed_handset, history

NOV = Period.month(2026, 11)
ISSUE = date(2026, 12, 1)


def grosz(x) -> Decimal:
    return Decimal(x).quantize(Decimal("0.01"), ROUND_HALF_UP)


def run_for(db, customer, period=NOV):
    run = billing.request_run(db, customer, period, "test")
    assert billing.claim(db, run.id)
    return billing.execute(db, run, issue_date=ISSUE)


def test_fees_are_pro_rated_by_the_lines_history(db):
    customer, tariff, (full, suspended, new) = billing_customer(db, 3, fee="62.00")
    # Suspended on 11 Nov, resumed on 21 Nov: charged 1–10 and 21–30 = 20 days.
    history(
        db,
        suspended,
        at(date(2026, 11, 11)),
        "suspend",
        {"status": "active", "tariff_id": tariff.id},
        {"status": "suspended", "tariff_id": tariff.id},
    )
    history(
        db,
        suspended,
        at(date(2026, 11, 21)),
        "resume",
        {"status": "suspended", "tariff_id": tariff.id},
        {"status": "active", "tariff_id": tariff.id},
    )
    # Activated on 25 Nov: 6 days.
    new.activated_at = at(date(2026, 11, 25))
    new.created_at = at(date(2026, 11, 20))
    db.flush()

    charges = {c.line_id: c for c in charges_for(db, customer.id, NOV)}
    assert charges[full.id].net == Decimal("62.00")
    assert charges[suspended.id].net == grosz(Decimal("62.00") * 20 / 30)
    assert charges[new.id].net == grosz(Decimal("62.00") * 6 / 30)


def test_termination_and_tariff_change_split_the_month(db):
    customer, tariff, (changed, ended) = billing_customer(db, 2, fee="30.00")
    from tests.fleet_factories import make_tariff

    bigger = make_tariff(db, fee="90.00")
    history(
        db,
        changed,
        at(date(2026, 11, 16)),
        "change_tariff",
        {"status": "active", "tariff_id": tariff.id},
        {"status": "active", "tariff_id": bigger.id},
    )
    changed.tariff_id = bigger.id
    ended.terminated_at = at(date(2026, 11, 11))  # 1–10 charged
    db.flush()

    charges = charges_for(db, customer.id, NOV)
    by_line = {}
    for c in charges:
        by_line.setdefault(c.line_id, []).append(c.net)
    assert sorted(by_line[changed.id]) == sorted(
        [grosz(Decimal(30) * 15 / 30), grosz(Decimal(90) * 15 / 30)]
    )
    assert by_line[ended.id] == [grosz(Decimal(30) * 10 / 30)]


def test_contract_price_and_one_off_charges(db):
    customer, tariff, lines = billing_customer(db, 2, fee="100.00")
    contract = Contract(
        number="UM/T/1",
        customer_id=customer.id,
        state=ContractState.active,
        valid_from=date(2026, 1, 1),
    )
    db.add(contract)
    db.flush()
    db.add(
        ContractVersion(
            contract_id=contract.id,
            number=1,
            effective_from=date(2026, 1, 1),
            tariff_discount_percent=Decimal("15"),
        )
    )
    db.flush()
    from models import ContractItem

    version = db.scalar(select(ContractVersion).where(ContractVersion.contract_id == contract.id))
    db.add(ContractItem(version_id=version.id, tariff_id=tariff.id))
    db.flush()
    completed_handset(db, customer, lines[0], at(date(2026, 11, 5)), price="1234.56", qty=2)
    completed_handset(db, customer, None, at(date(2026, 10, 31)), price="500.00")  # October

    invoice = run_for(db, customer)
    lines_ = invoices.lines_of(db, invoice)
    fees = [li for li in lines_ if li.category == "fee"]
    assert [li.net for li in fees] == [Decimal("85.00"), Decimal("85.00")]
    one_off = [li for li in lines_ if li.category == "one_off"]
    assert [li.net for li in one_off] == [Decimal("2469.12")]
    assert invoice.contract_version_id == version.id


def test_totals_match_an_independent_recomputation(db):
    customer, _tariff, lines = billing_customer(db, 7, fee="33.33")
    for i, line in enumerate(lines[:4]):
        line.activated_at = at(date(2026, 11, 3 + i * 5))
    completed_handset(db, customer, lines[1], at(date(2026, 11, 9)), price="0.07", qty=3)
    db.flush()
    invoice = run_for(db, customer)

    # Recompute from the inputs alone: days of each line, prices, quantities.
    nets = (
        [Decimal("33.33")] * 3
        + [grosz(Decimal("33.33") * (30 - (3 + i * 5) + 1) / 30) for i in range(4)]
        + [grosz(Decimal("0.07") * 3)]
    )
    net = sum(nets)
    tax = grosz(net * Decimal("0.23"))
    assert (invoice.total_net, invoice.total_vat, invoice.total_gross) == (net, tax, net + tax)
    lines_ = invoices.lines_of(db, invoice)
    assert sum(li.vat for li in lines_) == invoice.total_vat
    assert sum(li.gross for li in lines_) == invoice.total_gross
    assert all(li.gross == li.net + li.vat for li in lines_)


def test_running_twice_issues_nothing_twice(db):
    customer, _t, _l = billing_customer(db, 2)
    first = run_for(db, customer)
    run = db.scalar(select(BillingRun).where(BillingRun.customer_id == customer.id))
    assert run.status == RunStatus.done and run.invoice_id == first.id
    # Asked again: the same run, nothing queued, nothing issued.
    again = billing.request_run(db, customer, NOV, "again")
    assert again.id == run.id
    assert not billing.claim(db, run.id)
    # Executed again anyway (a job delivered twice): the same invoice.
    assert billing.execute(db, run, issue_date=ISSUE).id == first.id
    count = db.scalar(
        select(func.count()).select_from(Invoice).where(Invoice.customer_id == customer.id)
    )
    assert count == 1


def test_a_second_invoice_for_the_month_is_refused_by_the_database(db):
    from sqlalchemy.exc import IntegrityError

    customer, _t, _l = billing_customer(db, 1)
    run_for(db, customer)
    with pytest.raises(IntegrityError), db.begin_nested():
        invoices.new_draft(db, customer, NOV.start, NOV.end)


def test_the_current_month_cannot_be_billed(db):
    from models.base import utcnow
    from services import ServiceError

    customer, _t, _l = billing_customer(db, 1)
    with pytest.raises(ServiceError):
        billing.request_run(db, customer, Period.of(utcnow().date()))


def test_a_customer_without_charges_gets_no_invoice(db):
    customer, _t, lines = billing_customer(db, 1)
    lines[0].activated_at = at(date(2026, 12, 2))
    db.flush()
    assert run_for(db, customer) is None


def test_the_sweep_finds_runs_whose_job_was_lost(db):
    from datetime import timedelta

    from models.base import utcnow

    a, _t, _l = billing_customer(db, 1)
    b, _t, _l = billing_customer(db, 1)
    c, _t, _l = billing_customer(db, 1)
    queued = billing.request_run(db, a, NOV)
    dead = billing.request_run(db, b, NOV)
    busy = billing.request_run(db, c, NOV)
    for run in (dead, busy):
        assert billing.claim(db, run.id)
    db.refresh(dead)
    dead.started_at = utcnow() - timedelta(hours=1)  # its worker was killed
    db.flush()
    lost = set(billing.lost_runs(db))
    assert {queued.id, dead.id} <= lost and busy.id not in lost


def test_changes_before_the_month_decide_how_it_begins(db):
    customer, tariff, (stopped, upgraded, back, quiet) = billing_customer(db, 4, fee="30.00")
    from tests.fleet_factories import make_tariff

    bigger = make_tariff(db, fee="90.00")
    active = {"status": "active", "tariff_id": tariff.id}
    suspended = {"status": "suspended", "tariff_id": tariff.id}
    # Suspended in October and never resumed: nothing to pay in November.
    history(db, stopped, at(date(2026, 8, 3)), "suspend", active, suspended)
    history(db, stopped, at(date(2026, 9, 1)), "resume", suspended, active)
    history(db, stopped, at(date(2026, 10, 5)), "suspend", active, suspended)
    # Moved to the bigger tariff in September: all of November at its price.
    history(db, upgraded, at(date(2026, 8, 20)), "suspend", active, suspended)
    history(db, upgraded, at(date(2026, 8, 27)), "resume", suspended, active)
    history(
        db,
        upgraded,
        at(date(2026, 9, 10)),
        "change_tariff",
        active,
        {"status": "active", "tariff_id": bigger.id},
    )
    upgraded.tariff_id = bigger.id
    # Suspended in October, resumed on 21 November: 10 days.
    history(db, back, at(date(2026, 10, 20)), "suspend", active, suspended)
    history(db, back, at(date(2026, 11, 21)), "resume", suspended, active)
    # Activated long ago, nothing since.
    history(db, quiet, at(date(2025, 1, 1)), "activate", {"status": "pendingActive"}, active)
    db.flush()

    charges = {}
    for c in charges_for(db, customer.id, NOV):
        charges.setdefault(c.line_id, []).append((c.unit_price, c.net))
    assert stopped.id not in charges
    assert charges[upgraded.id] == [(Decimal("90.00"), Decimal("90.00"))]
    assert charges[back.id] == [(Decimal("30.00"), Decimal("10.00"))]
    assert charges[quiet.id] == [(Decimal("30.00"), Decimal("30.00"))]


def test_every_line_of_a_large_customer_is_charged_by_its_own_history(db):
    customer, tariff, lines = billing_customer(db, 1000, fee="31.00")
    active = {"status": "active", "tariff_id": tariff.id}
    suspended = {"status": "suspended", "tariff_id": tariff.id}
    for line in (lines[0], lines[950]):  # in the first and in the last thousand's tail
        history(db, line, at(date(2026, 11, 1)), "suspend", active, suspended)
        history(db, line, at(date(2026, 11, 16)), "resume", suspended, active)
    lines[999].terminated_at = at(date(2026, 11, 2))
    db.flush()

    invoice = run_for(db, customer)
    fees = {li.line_id: li.net for li in invoices.lines_of(db, invoice) if li.category == "fee"}
    assert len(fees) == 1000
    assert fees[lines[0].id] == fees[lines[950].id] == grosz(Decimal(31) * 15 / 30)
    assert fees[lines[999].id] == grosz(Decimal(31) * 1 / 30)
    assert invoice.total_net == 997 * Decimal(31) + 2 * Decimal("15.50") + Decimal("1.03")
