"""Changing lines through the portal: bulk changes with their confirmation step, changes to one
line, who may change what, and bad input that must change nothing."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from integrations.network import SimulatedHLR
from models import (
    AuditEvent,
    Employee,
    Line,
    LineStatus,
    ProvisioningRequest,
    RequestStatus,
)
from services import provisioning
from tests.conftest import csrf_token, login_portal
from tests.factories import PASSWORD
from tests.fleet_factories import make_employee, make_tariff
from tests.portal.test_fleet_list import build_world, get, sign_in
from tests.workers.test_provisioning import run_worker

HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


@pytest.fixture
def world(db):
    return build_world(db)


def preview(client, data: dict, list_qs: str = "", ids=()):
    page = get(client, "/fleet/?" + list_qs)
    form = MultiDict({"csrf_token": csrf_token(page), "list_qs": list_qs, **data})
    for i in ids:
        form.add("ids", str(i))
    return client.post("/fleet/bulk", data=form)


def confirm(client, confirm_page: str, **extra):
    """Press "Yes, change" on the confirmation page (its hidden fields, as a browser sends)."""
    form = MultiDict([(k, html.unescape(v)) for k, v in HIDDEN.findall(confirm_page)])
    for key, value in extra.items():
        form.setlist(key, [value])
    return client.post("/fleet/bulk/apply", data=form)


def change_line(client, line_id: int, data: dict):
    page = get(client, f"/fleet/{line_id}")
    return client.post(f"/fleet/{line_id}/change", data={"csrf_token": csrf_token(page), **data})


def audit_count(db, customer_id: int, action: str | None = None) -> int:
    query = (
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.customer_id == customer_id, AuditEvent.object_type != "portal_user")
    )
    if action:
        query = query.where(AuditEvent.action == action)
    return db.scalar(query)


def request_count(db) -> int:
    return db.scalar(select(func.count()).select_from(ProvisioningRequest))


def test_bulk_move_of_a_whole_filtered_result(client, db, world):
    sign_in(client, world["admin"])
    qs = f"unit_id={world['sales'].id}&sort=employee"
    r = preview(client, {"target": "all", "action": "move", "unit_id": world["it"].id}, qs)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Move 16 lines to Centrala / IT?" in page
    assert audit_count(db, world["a"].id) == 0  # asking changes nothing
    r = confirm(client, page)
    assert r.status_code == 302 and r.headers["Location"] == f"/fleet/?{qs}"
    done = get(client, r.headers["Location"])
    assert "16 lines moved to Centrala / IT." in done and "0 lines" in done
    db.expire_all()
    in_it = db.scalars(select(Line).where(Line.unit_id == world["it"].id)).all()
    assert len(in_it) == 23 and {ln.unit_path for ln in in_it} == {world["it"].path}
    assert audit_count(db, world["a"].id, "line.moved") == 16


def test_bulk_tariff_change_is_requested_and_pending_until_confirmed(client, db, world):
    sign_in(client, world["admin"])
    on_t2 = [ln for ln in world["lines"] if ln.tariff_id == world["t2"].id][:3]
    on_t1 = [ln for ln in world["lines"] if ln.tariff_id == world["t1"].id][:1]
    ids = [ln.id for ln in on_t2 + on_t1]
    r = preview(client, {"action": "tariff", "tariff_id": world["t1"].id}, ids=ids)
    page = r.get_data(as_text=True)
    assert "Change the tariff plan of 3 lines to Biznes M?" in page
    assert "1 selected line will not change" in page
    assert "show it as pending" in page
    r = confirm(client, page)
    done = get(client, r.headers["Location"])
    assert (
        "3 tariff changes requested; they will show as pending until the network confirms." in done
    )
    db.expire_all()
    assert all(db.get(Line, ln.id).tariff_id == world["t2"].id for ln in on_t2)
    reqs = db.scalars(select(ProvisioningRequest)).all()
    assert sorted(r.line_id for r in reqs) == sorted(ln.id for ln in on_t2)
    assert {r.status for r in reqs} == {RequestStatus.acknowledged}
    assert {r.params["tariff_id"] for r in reqs} == {world["t1"].id}
    assert audit_count(db, world["a"].id, "provisioning.change_tariff") == 3
    assert "→ Biznes M, pending" in get(client, "/fleet/?q=" + on_t2[0].msisdn)
    # Asking again: already on its way, nothing new.
    r = preview(client, {"action": "tariff", "tariff_id": world["t1"].id}, ids=ids)
    assert "Nothing to change" in r.get_data(as_text=True)
    assert "Yes, change" not in r.get_data(as_text=True)


def test_suspend_and_resume_one_line_through_the_network(client, db, rt, world):
    line = world["lines"][0]
    sign_in(client, world["admin"])
    r = change_line(client, line.id, {"action": "suspend"})
    assert r.status_code == 302
    page = get(client, r.headers["Location"])
    assert "1 suspension requested; it will show as pending" in page
    db.expire_all()
    assert db.get(Line, line.id).status == LineStatus.active  # not before the network says so
    req = provisioning.claim_next(db, line.id)
    assert provisioning.carry_out(db, req, SimulatedHLR(rt.redis)) == "completed"
    page = get(client, f"/fleet/{line.id}")
    assert "Suspended" in page and "Resume the line" in page
    assert "Suspension confirmed by the network" in page
    r = preview(client, {"action": "resume"}, ids=[line.id])
    assert "Resume 1 line?" in r.get_data(as_text=True)
    confirm(client, r.get_data(as_text=True))
    resume = db.scalar(select(ProvisioningRequest).where(ProvisioningRequest.action == "resume"))
    assert resume.line_id == line.id and resume.status == RequestStatus.acknowledged


def test_viewer_may_not_change_anything(client, db, world):
    sign_in(client, world["viewer"])
    token = csrf_token(get(client, "/fleet/"))
    line = world["lines"][0]
    base = {"csrf_token": token, "action": "move", "unit_id": world["it"].id, "ids": line.id}
    assert client.post("/fleet/bulk", data=base).status_code == 403
    assert client.post("/fleet/bulk/apply", data=base).status_code == 403
    assert client.post(f"/fleet/{line.id}/change", data=base).status_code == 403
    assert client.get("/fleet/employees?employee_q=osoba").status_code == 403
    db.expire_all()
    assert db.get(Line, line.id).unit_id == world["north"].id
    assert audit_count(db, world["a"].id) == 0


def test_subtree_admin_cannot_touch_lines_outside_the_subtree(client, db, world):
    sign_in(client, world["it_admin"])
    lines = world["lines"]
    outside = [lines[0].id, lines[1].id]  # Północ, Sprzedaż
    inside = lines[2].id  # IT
    r = preview(client, {"action": "limit", "limit": "10"}, ids=outside)
    assert r.status_code == 422 and "Select at least one line." in r.get_data(as_text=True)
    r = preview(client, {"action": "limit", "limit": "10"}, ids=[*outside, inside])
    page = r.get_data(as_text=True)
    assert "Set the monthly limit of 1 line to" in page
    confirm(client, page)
    db.expire_all()
    assert db.get(Line, inside).monthly_limit == Decimal("10")
    assert all(db.get(Line, i).monthly_limit is None for i in outside)
    # Even forging the hidden fields of the confirmation: outside ids are ignored.
    r = confirm(client, page, ids=str(outside[0]), limit="20")
    db.expire_all()
    assert r.status_code == 422 and db.get(Line, outside[0]).monthly_limit is None
    # A filter naming a unit outside the subtree selects nothing.
    r = preview(client, {"target": "all", "action": "unassign"}, f"unit_id={world['sales'].id}")
    assert r.status_code == 422
    # Moving lines out of the subtree is refused; a line outside is not found at all.
    r = preview(client, {"action": "move", "unit_id": world["sales"].id}, ids=[inside])
    assert r.status_code == 422 and "Choose one of your units." in r.get_data(as_text=True)
    token = csrf_token(get(client, "/fleet/"))
    r = client.post(f"/fleet/{outside[0]}/change", data={"csrf_token": token, "action": "suspend"})
    assert r.status_code == 404
    assert request_count(db) == 0


def test_another_customers_line_is_404_and_its_ids_are_ignored(client, db, world):
    sign_in(client, world["admin"])
    foreign = world["foreign"][0]
    token = csrf_token(get(client, "/fleet/"))
    r = client.post(f"/fleet/{foreign.id}/change", data={"csrf_token": token, "action": "suspend"})
    assert r.status_code == 404
    r = preview(client, {"action": "suspend"}, ids=[foreign.id])
    assert r.status_code == 422
    assert request_count(db) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "move", "unit_id": "{it}", "no_ids": True}, "Select at least one line."),
        ({"action": "move", "unit_id": "987654321"}, "Choose one of your units."),
        ({"action": "move", "unit_id": "{b_unit}"}, "Choose one of your units."),
        ({"action": "move", "unit_id": "north'; drop table line"}, "Choose one of your units."),
        ({"action": "tariff", "tariff_id": "{retired}"}, "not available under your contract"),
        ({"action": "tariff", "tariff_id": ""}, "Choose a tariff plan."),
        ({"action": "limit", "limit": "-5"}, "The limit must be between 0 and 100 000 PLN."),
        ({"action": "limit", "limit": "100001"}, "The limit must be between 0 and 100 000 PLN."),
        ({"action": "limit", "limit": "dużo"}, "Enter the limit as an amount in PLN"),
        ({"action": "assign_new", "new_name": "Jan Nowak", "new_email": "jan@"}, "valid e-mail"),
        (
            {"action": "assign_new", "new_name": "  ", "new_email": ""},
            "Enter the employee&#39;s name.",
        ),
        (
            {"action": "assign_new", "new_name": "Jan", "new_email": "P1@FIRMA.example"},
            "already exists",
        ),
        ({"action": "assign", "employee_q": "nikt-taki"}, "No employee matches"),
        (
            {"action": "assign", "employee_id": "{foreign_employee}"},
            "Choose one of your employees.",
        ),
        ({"action": "service", "service": "", "on": "on"}, "Choose a service."),
        ({"action": "explode"}, "Choose what to change."),
    ],
)
def test_bad_input_gets_a_message_and_changes_nothing(client, db, world, data, message):
    retired = make_tariff(db, name="Stara taryfa")
    retired.is_active = False
    make_employee(db, world["a"], email="p1@firma.example")
    values = {
        "it": world["it"].id,
        "b_unit": world["b_unit"].id,
        "retired": retired.id,
        "foreign_employee": make_employee(db, world["b"]).id,
    }
    db.flush()
    data = {k: (v.format(**values) if isinstance(v, str) else v) for k, v in data.items()}
    ids = [] if data.pop("no_ids", False) else [ln.id for ln in world["lines"][:3]]
    employees_before = db.scalar(select(func.count()).select_from(Employee))
    sign_in(client, world["admin"])
    for step in ("preview", "apply"):
        if step == "preview":
            r = preview(client, data, ids=ids)
        else:  # straight to "apply", skipping the question
            page = get(client, "/fleet/")
            form = MultiDict({"csrf_token": csrf_token(page), **data})
            for i in ids:
                form.add("ids", str(i))
            r = client.post("/fleet/bulk/apply", data=form)
        page = r.get_data(as_text=True)
        assert r.status_code == 422, step
        assert message in page, step
        for i in ids:  # the ticked lines stay ticked
            assert re.search(rf'value="{i}" form="bulk-form"\s+aria-label="[^"]*" checked', page)
    db.expire_all()
    assert audit_count(db, world["a"].id) == 0
    assert request_count(db) == 0
    assert db.scalar(select(func.count()).select_from(Employee)) == employees_before
    assert db.get(Line, world["lines"][0].id).unit_id == world["north"].id


def test_assign_an_employee_found_by_name_or_chosen_among_several(client, db, world):
    sign_in(client, world["admin"])
    lines = world["lines"]
    r = preview(client, {"action": "assign", "employee_q": "osoba b01"}, ids=[lines[5].id])
    page = r.get_data(as_text=True)
    assert "Assign 1 line to Osoba B01?" in page
    confirm(client, page)
    db.expire_all()
    assert db.get(Line, lines[5].id).employee_id == lines[1].employee_id
    # Several match: the user picks one on the confirmation page.
    r = preview(client, {"action": "assign", "employee_q": "osoba"}, ids=[lines[6].id])
    page = r.get_data(as_text=True)
    assert "Several employees match" in page and page.count('name="employee_id"') == 20
    r = confirm(client, page)
    assert r.status_code == 422 and "Choose the employee." in r.get_data(as_text=True)
    r = confirm(client, page, employee_id=str(lines[9].employee_id))
    assert r.status_code == 302
    db.expire_all()
    assert db.get(Line, lines[6].id).employee_id == lines[9].employee_id
    assert audit_count(db, world["a"].id, "line.employee_assigned") == 2
    # As the user types (htmx), matches come back as radio buttons.
    r = client.get("/fleet/employees?employee_q=B01")
    assert 'name="employee_id"' in r.get_data(as_text=True) and "Osoba B01" in r.get_data(
        as_text=True
    )


def test_one_line_new_employee_unassign_and_limit_with_history(client, db, world):
    line = world["lines"][3]
    sign_in(client, world["admin"])
    new = {"new_name": "Ewa  Nowa", "new_email": "ewa.nowa@a.example", "new_position": "CFO"}
    r = change_line(client, line.id, {"action": "assign_new", **new})
    assert r.status_code == 302
    page = get(client, r.headers["Location"])
    assert "Ewa Nowa added to your employees; 1 line assigned." in page
    emp = db.scalar(select(Employee).where(Employee.email == "ewa.nowa@a.example"))
    assert emp.full_name == "Ewa Nowa" and emp.position == "CFO" and emp.unit_id == line.unit_id
    assert audit_count(db, world["a"].id, "employee.created") == 1
    r = change_line(client, line.id, {"action": "limit", "limit": "150,50"})
    assert "Monthly limit changed on 1 line." in get(client, r.headers["Location"])
    r = change_line(client, line.id, {"action": "unassign"})
    page = get(client, r.headers["Location"])
    assert "Employee removed from 1 line." in page
    db.expire_all()
    assert db.get(Line, line.id).employee_id is None
    assert db.get(Line, line.id).monthly_limit == Decimal("150.50")
    # The history, newest first, in words.
    history = page[page.index('id="history-title"') :]
    order = [history.index(t) for t in ("Employee unassigned", "Monthly limit changed",
                                        "Employee assigned")]  # fmt: skip
    assert order == sorted(order)
    assert "Ewa Nowa" in history and "150.50" in history and "no limit" in history
    assert world["admin"].email in history
    # A refused change on the line page: message on the field, status 422.
    r = change_line(client, line.id, {"action": "assign_new", "new_name": "X", "new_email": "x@"})
    assert r.status_code == 422 and "This is not a valid e-mail address." in r.get_data(
        as_text=True
    )


def test_nothing_to_change_is_said_and_not_offered(client, db, world):
    sign_in(client, world["admin"])
    line = world["lines"][0]
    r = preview(client, {"action": "move", "unit_id": world["north"].id}, ids=[line.id])
    page = r.get_data(as_text=True)
    assert "Nothing to change" in page and "Yes, change" not in page


@pytest.mark.worker
def test_a_real_worker_turns_the_pending_change_into_the_confirmed_state(app, committed):
    world = build_world(committed)
    committed.commit()
    line_id, admin_email = world["lines"][1].id, world["admin"].email
    client = app.test_client()
    client.get("/lang/en")
    assert login_portal(client, admin_email, PASSWORD).status_code == 302
    r = change_line(client, line_id, {"action": "service", "service": "roaming", "on": "on"})
    page = get(client, r.headers["Location"])
    assert "1 service change requested; it will show as pending" in page
    assert "off → on" in page and "bi-hourglass-split" in page
    run_worker(committed)
    page = get(client, f"/fleet/{line_id}")
    assert "bi-hourglass-split" not in page  # nothing pending any more
    assert "Service change confirmed by the network" in page
    assert '<span class="badge text-bg-success">Confirmed</span>' in page
    listing = get(client, "/fleet/?service=roaming&service_on=1")
    assert f'href="/fleet/{line_id}"' in listing
    committed.expire_all()
    assert committed.get(Line, line_id).svc_roaming is True
    committed.rollback()
