"""Finding and changing lines: keyset pages, filters, search, scope, bulk moves."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEvent, LineStatus, ProvisioningRequest, Service
from services import ServiceError
from services import fleet as fl
from services.audit import Actor
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_employee, make_line, make_tariff

ACTOR = Actor("portal", 1, "admin@test")


@pytest.fixture
def company(db):
    c = make_customer(db)
    root = make_unit(db, c, "Centrala")
    sales = make_unit(db, c, "Sprzedaż", root)
    north = make_unit(db, c, "Północ", sales)
    it = make_unit(db, c, "IT", root)
    t1 = make_tariff(db, name="Biznes M")
    t2 = make_tariff(db, name="Biznes L")
    lines = []
    for i in range(23):
        unit = [north, sales, it][i % 3]
        emp = make_employee(db, c, unit, name=f"Osoba {chr(65 + i)}{i:02d}")
        lines.append(make_line(db, c, unit, t1 if i % 2 else t2, emp, svc_roaming=(i % 4 == 0)))
    return {
        "customer": c,
        "root": root,
        "sales": sales,
        "north": north,
        "it": it,
        "t1": t1,
        "t2": t2,
        "lines": lines,
        "scope": fl.FleetScope(c.id),
    }


def _walk_forward(db, scope, flt, size):
    seen, after = [], None
    while True:
        p = fl.page(db, scope, flt, after=after, size=size)
        seen += [r[0].id for r in p.rows]
        if p.is_last:
            return seen
        after = p.next_cursor


@pytest.mark.parametrize("sort", ["msisdn", "employee", "unit", "tariff", "status"])
@pytest.mark.parametrize("desc", [False, True])
def test_keyset_pages_cover_everything_once_in_order(db, company, sort, desc):
    flt = fl.FleetFilter(sort=sort, desc=desc)
    ids = _walk_forward(db, company["scope"], flt, size=5)
    assert len(ids) == len(set(ids)) == 23
    full = fl.page(db, company["scope"], flt, size=100)
    assert ids == [r[0].id for r in full.rows]


def test_last_page_and_walking_backwards(db, company):
    flt = fl.FleetFilter(sort="employee")
    forward = _walk_forward(db, company["scope"], flt, size=5)
    last = fl.page(db, company["scope"], flt, last=True, size=5)
    assert last.is_last and not last.is_first
    assert [r[0].id for r in last.rows] == forward[-5:]
    back, before = [], last.prev_cursor
    back = [r[0].id for r in last.rows]
    while True:
        p = fl.page(db, company["scope"], flt, before=before, size=5)
        back = [r[0].id for r in p.rows] + back
        if p.is_first:
            break
        before = p.prev_cursor
    assert back == forward


def test_filters_by_subtree_unit_tariff_and_service(db, company):
    scope = company["scope"]
    assert fl.count(db, scope, fl.FleetFilter(unit_id=company["sales"].id)) == 16
    assert fl.count(db, scope, fl.FleetFilter(unit_id=company["sales"].id, subtree=False)) == 8
    assert fl.count(db, scope, fl.FleetFilter(tariff_id=company["t1"].id)) == 11
    assert fl.count(db, scope, fl.FleetFilter(service="roaming", service_on=True)) == 6


def test_search_by_name_number_iccid(db, company):
    scope = company["scope"]
    line = company["lines"][7]
    assert fl.count(db, scope, fl.FleetFilter(q="osoba h07")) == 1
    assert fl.count(db, scope, fl.FleetFilter(q=line.msisdn[-6:])) == 1
    assert fl.count(db, scope, fl.FleetFilter(q=line.iccid)) == 1
    assert fl.count(db, scope, fl.FleetFilter(q="100%_")) == 0  # wildcards are literal


def test_subtree_scope_hides_other_lines(db, company):
    scope = fl.FleetScope(company["customer"].id, unit_path=company["it"].path)
    assert fl.count(db, scope, fl.FleetFilter()) == 7
    outside = company["lines"][0]  # in north
    assert fl.line_in_scope(db, scope, outside.id) is None


def test_other_customer_lines_are_invisible(db, company):
    other = make_customer(db)
    scope = fl.FleetScope(other.id)
    assert fl.count(db, scope, fl.FleetFilter()) == 0
    assert fl.line_in_scope(db, scope, company["lines"][0].id) is None


def test_bulk_move_of_a_filtered_result_is_audited_per_line(db, company):
    scope = company["scope"]
    flt = fl.FleetFilter(unit_id=company["sales"].id)
    moved = fl.move_lines(db, ACTOR, scope, fl.filtered_ids(db, scope, flt), company["it"])
    assert moved == 16
    assert fl.count(db, scope, fl.FleetFilter(unit_id=company["it"].id)) == 23
    events = db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "line.moved")
    )
    assert events == 16


def test_move_ignores_ids_outside_scope(db, company):
    other = make_customer(db)
    o_unit = make_unit(db, other, "Obcy")
    foreign = make_line(db, other, o_unit, company["t1"])
    moved = fl.move_lines(
        db, ACTOR, company["scope"], [foreign.id, company["lines"][0].id], company["it"]
    )
    assert moved == 1
    db.refresh(foreign)
    assert foreign.unit_id == o_unit.id


def test_move_to_foreign_unit_is_refused(db, company):
    other = make_customer(db)
    with pytest.raises(ServiceError):
        fl.move_lines(db, ACTOR, company["scope"], [company["lines"][0].id], make_unit(db, other))


def test_tariff_change_is_a_pending_request_not_a_change(db, company):
    line = company["lines"][0]  # on t2
    n = fl.request_tariff_change(
        db, ACTOR, company["scope"], [line.id], company["t1"], {company["t1"].id, company["t2"].id}
    )
    assert n == 1
    db.refresh(line)
    assert line.tariff_id == company["t2"].id
    req = db.scalar(select(ProvisioningRequest).where(ProvisioningRequest.line_id == line.id))
    assert req.action == "change_tariff" and req.params == {"tariff_id": company["t1"].id}
    # Asking again does not queue the same change twice.
    assert (
        fl.request_tariff_change(
            db, ACTOR, company["scope"], [line.id], company["t1"], {company["t1"].id}
        )
        == 0
    )


def test_tariff_outside_contract_is_refused(db, company):
    with pytest.raises(ServiceError):
        fl.request_tariff_change(
            db, ACTOR, company["scope"], [company["lines"][0].id], company["t1"], {company["t2"].id}
        )


def test_suspend_only_active_lines(db, company):
    company["lines"][1].status = LineStatus.suspended
    ids = [ln.id for ln in company["lines"][:4]]
    assert fl.request_status_change(db, ACTOR, company["scope"], ids, "suspend") == 3
    assert fl.request_service_change(db, ACTOR, company["scope"], ids, Service.roaming, True) == 2


def test_imei_and_msisdn_validation():
    assert fl.imei_valid("490154203237518")
    assert not fl.imei_valid("490154203237519")
    assert fl.normalise_msisdn("601 200 300") == "+48601200300"
    with pytest.raises(ServiceError):
        fl.normalise_msisdn("12345")
