"""Finding and changing lines: keyset pages, filters, search, scope, bulk moves."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Employee, Line, LineStatus, ProvisioningRequest, Service
from services import ServiceError
from services import fleet as fl
from services.audit import Actor
from services.employees import NewEmployee
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
    before = last.prev_cursor
    back = [r[0].id for r in last.rows]
    while True:
        p = fl.page(db, company["scope"], flt, before=before, size=5)
        back = [r[0].id for r in p.rows] + back
        if p.is_first:
            break
        before = p.prev_cursor
    # Back at the start, the page is the real first page (full), not a short remainder.
    assert [r[0].id for r in p.rows] == forward[:5]
    assert list(dict.fromkeys(back)) == forward


def test_a_cursor_that_is_not_ours_shows_the_first_page(db, company):
    flt = fl.FleetFilter(sort="limit")
    first = [r[0].id for r in fl.page(db, company["scope"], flt, size=5).rows]
    for bad in ("garbage", fl.encode_cursor([{"x": 1}, 5]), fl.encode_cursor(["1e999", 5])):
        p = fl.page(db, company["scope"], flt, after=bad, size=5)
        assert [r[0].id for r in p.rows] == first and p.is_first
        p = fl.page(db, company["scope"], flt, before=bad, size=5)
        assert [r[0].id for r in p.rows] == first and p.is_first


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


def test_terminated_lines_are_hidden_unless_the_filter_asks(db, company):
    company["lines"][0].status = LineStatus.terminated
    db.flush()
    scope = company["scope"]
    assert fl.count(db, scope, fl.FleetFilter()) == 22
    assert fl.count(db, scope, fl.FleetFilter(status="terminated")) == 1
    assert fl.count(db, scope, fl.FleetFilter(status="any")) == 23
    assert fl.FleetFilter.from_params({"status": "gone"}).status is None


def test_search_by_imei_and_e_mail(db, company):
    scope = company["scope"]
    line = company["lines"][4]
    line.imei = "490154203237518"
    db.flush()
    assert fl.count(db, scope, fl.FleetFilter(q="49015420")) == 1
    email = db.get(Employee, line.employee_id).email
    assert fl.count(db, scope, fl.FleetFilter(q=email.upper())) == 1


def test_allowed_tariffs_are_the_active_ones_on_sale(db, company):
    retired = make_tariff(db)
    retired.is_active = False
    ended = make_tariff(db)
    ended.valid_to = date.today() - timedelta(days=1)
    db.flush()
    allowed = fl.allowed_tariff_ids(db, company["customer"].id)
    assert {company["t1"].id, company["t2"].id} <= allowed
    assert retired.id not in allowed and ended.id not in allowed
    with pytest.raises(ServiceError) as err:
        fl.preview(
            db,
            company["scope"],
            [company["lines"][0].id],
            fl.Change("tariff", tariff_id=retired.id),
        )
    assert err.value.field == "tariff_id"


def test_preview_counts_what_apply_changes(db, company):
    scope = company["scope"]
    ids = [ln.id for ln in company["lines"][:6]]  # 2 in IT already
    change = fl.Change("move", unit_id=company["it"].id)
    before = fl.preview(db, scope, ids, change)
    assert (before.selected, before.changing) == (6, 4)
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 0
    done = fl.apply(db, ACTOR, scope, ids, change)
    assert done.changing == 4
    assert fl.preview(db, scope, ids, change).changing == 0


def test_a_service_change_counts_with_what_is_already_pending(db, company):
    scope = company["scope"]
    line = company["lines"][0]  # roaming on
    off = fl.Change("service", service="roaming", on=False)
    on = fl.Change("service", service="roaming", on=True)
    assert fl.preview(db, scope, [line.id], on).changing == 0
    assert fl.apply(db, ACTOR, scope, [line.id], off).changing == 1
    assert fl.preview(db, scope, [line.id], off).changing == 0  # already on its way
    assert fl.apply(db, ACTOR, scope, [line.id], on).changing == 1  # back on, after the off
    reqs = db.scalars(select(ProvisioningRequest).order_by(ProvisioningRequest.id)).all()
    assert [r.params["on"] for r in reqs] == [False, True]


def test_assign_new_employee_creates_and_assigns_in_one_go(db, company):
    scope = company["scope"]
    ids = [company["lines"][1].id, company["lines"][4].id]  # both in Sprzedaż
    change = fl.Change("assign_new", new_employee=NewEmployee("Nowa Osoba", "nowa@firma.example"))
    done = fl.apply(db, ACTOR, scope, ids, change)
    assert done.changing == 2
    person = done.resolved.employee
    assert person.unit_id == company["sales"].id
    assert {db.get(Line, i).employee_id for i in ids} == {person.id}


@pytest.mark.parametrize(
    "change",
    [
        fl.Change("limit", limit=Decimal("-0.01")),
        fl.Change("limit", limit=Decimal("100000.01")),
        fl.Change("move", unit_id=None),
        fl.Change("assign", employee_id=None),
        fl.Change("service", service="teleport", on=True),
        fl.Change("service", service="roaming", on=None),
        fl.Change("assign_new", new_employee=NewEmployee("Jan", "not-an-email")),
        fl.Change("reboot"),
    ],
)
def test_invalid_changes_are_refused_before_anything_changes(db, company, change):
    with pytest.raises(ServiceError):
        fl.apply(db, ACTOR, company["scope"], [company["lines"][0].id], change)
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert db.scalar(select(func.count()).select_from(ProvisioningRequest)) == 0


def test_a_subtree_admin_cannot_move_lines_out_of_the_subtree(db, company):
    scope = fl.FleetScope(company["customer"].id, unit_path=company["sales"].path)
    with pytest.raises(ServiceError):
        fl.move_lines(db, ACTOR, scope, [company["lines"][0].id], company["it"])
    assert fl.move_lines(db, ACTOR, scope, [company["lines"][0].id], company["sales"]) == 1


def test_empty_selection_is_refused(db, company):
    for selection in ([], fl.filtered_ids(db, company["scope"], fl.FleetFilter(q="nobody"))):
        with pytest.raises(ServiceError):
            fl.apply(db, ACTOR, company["scope"], selection, fl.Change("unassign"))


def test_a_whole_number_with_country_code_finds_the_line(db, company):
    line = company["lines"][6]
    digits = line.msisdn.lstrip("+")
    for q in (digits, line.msisdn, f"+{digits[:2]} {digits[2:5]} {digits[5:8]} {digits[8:]}"):
        assert fl.count(db, company["scope"], fl.FleetFilter(q=q)) == 1, q


def test_audit_events_say_what_changed(db, company):
    scope = company["scope"]
    line = company["lines"][1]  # Sprzedaż, roaming off
    old_unit = line.unit_id
    fl.apply(db, ACTOR, scope, [line.id], fl.Change("move", unit_id=company["it"].id))
    fl.apply(db, ACTOR, scope, [line.id], fl.Change("limit", limit=Decimal("150.5")))
    fl.apply(db, ACTOR, scope, [line.id], fl.Change("limit", limit=Decimal("99")))
    fl.apply(db, ACTOR, scope, [line.id], fl.Change("service", service="roaming", on=True))
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == [
        "line.moved",
        "line.limit_changed",
        "line.limit_changed",
        "provisioning.set_service",
    ]
    assert {e.object_type for e in events} == {"line"} and {e.object_id for e in events} == {
        line.id
    }
    assert (events[0].before, events[0].after) == (
        {"unit_id": old_unit},
        {"unit_id": company["it"].id},
    )
    assert events[1].before == {"monthly_limit": None}
    assert Decimal(events[2].before["monthly_limit"]) == Decimal("150.5")
    assert events[2].after == {"monthly_limit": "99"}
    req = db.scalar(select(ProvisioningRequest))
    assert events[3].after == {"request": req.id, "service": "roaming", "on": True}
    assert events[3].actor_label == ACTOR.label and events[3].created_at is not None
