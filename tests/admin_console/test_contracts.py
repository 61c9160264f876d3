"""Contracts through the console pages: a draft, its terms and items, activation, amendment,
termination, the PDF for signature; refusals; and who may see and change what."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from models import Contract, ContractState, ContractVersion, StaffRole
from services import contracts as ct
from services.audit import Actor
from tests.conftest import csrf_token, login_console, post_form
from tests.factories import PASSWORD, make_customer, make_staff
from tests.fleet_factories import make_handset, make_tariff

SYSTEM = Actor.system("test")


@pytest.fixture
def world(db):
    manager = make_staff(db, full_name="Ewa Opiekun")
    other_manager = make_staff(db)
    customer = make_customer(db, name="Alfa Logistyka S.A.", account_manager_id=manager.id)
    foreign = make_customer(db, name="Beta Serwis Sp. z o.o.", account_manager_id=other_manager.id)
    return SimpleNamespace(
        manager=manager,
        customer=customer,
        foreign=foreign,
        t_m=make_tariff(db, code="BIZ-M", name="Biznes M", fee="49.99"),
        t_l=make_tariff(db, code="BIZ-L", name="Biznes L", fee="79.99"),
        phone=make_handset(db, name="Galaxy S25", price="4299.00"),
        today=ct.today(),
    )


def sign_in(client, staff):
    login_console(client, staff.email, PASSWORD)
    client.get("/admin/lang/en")


def draft(db, customer, *, item=None, price=None):
    contract = ct.create_draft(db, SYSTEM, customer, valid_from=ct.today(), valid_to=None)
    if item is not None:
        ct.set_item(db, SYSTEM, contract, ct.versions(db, contract)[0], tariff=item, price=price)
    return contract


def text_of(response) -> str:
    return response.get_data(as_text=True).replace("\xa0", " ")


TERMS = {
    "valid_from": "",
    "valid_to": "",
    "subsidy_budget": "10 000",
    "approval_threshold": "5000",
    "repair_time_hours": "48",
    "response_time_hours": "4",
    "tariff_discount_percent": "0",
    "handset_discount_percent": "5",
    "accessory_discount_percent": "0",
    "note": "",
}


def test_contract_lifecycle_through_the_console(client, db, world):
    w = world
    sign_in(client, w.manager)
    page = client.get(f"/admin/contracts/new?customer_id={w.customer.id}")
    assert page.status_code == 200 and f'value="{w.customer.number}"' in page.text

    r = post_form(
        client,
        "/admin/contracts/new",
        {
            "customer": w.customer.number,
            "valid_from": w.today.isoformat(),
            "valid_to": (w.today + timedelta(days=730)).isoformat(),
        },
    )
    assert r.status_code == 302
    contract = db.scalar(select(Contract).where(Contract.customer_id == w.customer.id))
    base = f"/admin/contracts/{contract.id}"
    assert r.headers["Location"].endswith(base)
    assert contract.state == ContractState.draft and contract.created_by_id == w.manager.id

    terms = {
        **TERMS,
        "valid_from": w.today.isoformat(),
        "valid_to": (w.today + timedelta(days=730)).isoformat(),
    }
    assert post_form(client, f"{base}/terms", terms, form_url=base).status_code == 302
    item = {"item": f"t:{w.t_m.id}", "price": "39,00", "discount_percent": ""}
    assert post_form(client, f"{base}/items", item, form_url=base).status_code == 302
    item = {"item": f"p:{w.phone.id}", "price": "", "discount_percent": "12,5"}
    assert post_form(client, f"{base}/items", item, form_url=base).status_code == 302

    page = text_of(client.get(base))
    assert "PLN49.99" in page.replace(" ", "") and "PLN39.00" in page.replace(" ", "")
    assert "PLN3,761.63" in page.replace(" ", "")  # 4,299.00 less 12.5 %
    assert "individual price" in page and "discount 12.5 %" in page

    r = post_form(client, f"{base}/activate", {}, form_url=base)
    assert r.status_code == 302
    db.refresh(contract)
    assert contract.state == ContractState.active and contract.signed_at is not None
    page = text_of(client.get(base))
    assert "Terms in force (version 1)" in page and 'name="subsidy_budget"' not in page

    tomorrow = (w.today + timedelta(days=1)).isoformat()
    r = post_form(
        client,
        f"{base}/amend",
        {"effective_from": tomorrow, "amendment_note": "Lower price of Biznes M"},
        form_url=base,
    )
    assert r.status_code == 302
    item = {"item": f"t:{w.t_m.id}", "price": "35", "discount_percent": ""}
    assert post_form(client, f"{base}/items", item, form_url=base).status_code == 302
    _v1, v2 = ct.versions(db, contract)
    assert (v2.number, v2.effective_from.isoformat()) == (2, tomorrow)
    assert v2.note == "Lower price of Biznes M" and v2.created_by_id == w.manager.id

    old = text_of(client.get(f"{base}/versions/1")).replace(" ", "")
    new = text_of(client.get(f"{base}/versions/2")).replace(" ", "")
    assert "PLN39.00" in old and "PLN35.00" not in old
    assert "PLN35.00" in new and "LowerpriceofBiznesM" in new
    timeline = text_of(client.get(base))
    assert "Version 1 — the agreement" in timeline and "Version 2 — amendment 1" in timeline
    assert "Ewa Opiekun" in timeline

    r = post_form(client, f"{base}/terminate", {"reason": ""}, form_url=base)
    assert r.status_code == 422 and "Give the reason for ending the contract." in r.text
    r = post_form(client, f"{base}/terminate", {"reason": "Customer moved"}, form_url=base)
    assert r.status_code == 302
    db.refresh(contract)
    assert contract.state == ContractState.terminated


def test_activation_is_refused_clearly(client, db, world):
    w = world
    sign_in(client, w.manager)
    empty = draft(db, w.customer)
    base = f"/admin/contracts/{empty.id}"
    r = post_form(client, f"{base}/activate", {}, form_url=base)
    assert r.status_code == 422
    assert "Add at least one tariff or product before activating." in r.text
    db.refresh(empty)
    assert empty.state == ContractState.draft

    first = draft(db, w.customer, item=w.t_m)
    ct.activate(db, SYSTEM, first)
    second = draft(db, w.customer, item=w.t_l)
    base = f"/admin/contracts/{second.id}"
    r = post_form(client, f"{base}/activate", {}, form_url=base)
    assert r.status_code == 422
    assert f"The customer already has an active contract ({first.number}); end it first." in (
        r.text
    )
    db.refresh(second)
    assert second.state == ContractState.draft


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"subsidy_budget": "-1"}, "The subsidy budget cannot be negative."),
        ({"subsidy_budget": "dużo"}, "Enter an amount such as 10000.00."),
        ({"subsidy_budget": ""}, "Enter the subsidy budget (0 if none)."),
        ({"approval_threshold": "-100"}, "The approval threshold cannot be negative."),
        ({"handset_discount_percent": "120"}, "A discount is between 0 and 100 %."),
        ({"tariff_discount_percent": "5,555"}, "Use at most 2 decimal places."),
        ({"repair_time_hours": "0"}, "Enter a number of hours between 1 and 1440."),
        ({"response_time_hours": "4h"}, "Enter a whole number."),
        ({"valid_to": "2020-01-01"}, "The end date is before the start date."),
        ({"valid_from": "yesterday"}, "Enter a date such as 31.12.2026."),
    ],
)
def test_bad_terms_are_refused_and_nothing_changes(client, db, world, changes, message):
    w = world
    sign_in(client, w.manager)
    contract = draft(db, w.customer)
    base = f"/admin/contracts/{contract.id}"
    form = {**TERMS, "valid_from": w.today.isoformat(), **changes}
    r = post_form(client, f"{base}/terms", form, form_url=base)
    assert r.status_code == 422
    assert message in r.text
    version = db.scalar(select(ContractVersion).where(ContractVersion.contract_id == contract.id))
    db.refresh(version)
    assert version.subsidy_budget == Decimal("0") and version.approval_threshold is None


def test_every_bad_term_is_shown_at_once(client, db, world):
    w = world
    sign_in(client, w.manager)
    contract = draft(db, w.customer)
    base = f"/admin/contracts/{contract.id}"
    form = {
        **TERMS,
        "valid_from": w.today.isoformat(),
        "subsidy_budget": "-1",
        "handset_discount_percent": "120",
        "repair_time_hours": "5000",
    }
    r = post_form(client, f"{base}/terms", form, form_url=base)
    assert r.status_code == 422
    for field in ("subsidy_budget", "handset_discount_percent", "repair_time_hours"):
        assert f'id="{field}-errors"' in r.text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"item": "", "price": "", "discount_percent": ""}, "Choose a tariff or a product"),
        (
            {"item": "t:999999", "price": "1", "discount_percent": ""},
            "Choose a tariff or a product",
        ),
        ({"item": "x:1", "price": "", "discount_percent": ""}, "Choose a tariff or a product"),
        ({"item": "T", "price": "-5", "discount_percent": ""}, "The price cannot be negative."),
        ({"item": "T", "price": "abc", "discount_percent": ""}, "Enter an amount such as 39.00."),
        ({"item": "T", "price": "10", "discount_percent": "5"}, "either an individual price"),
        ({"item": "T", "price": "", "discount_percent": "101"}, "between 0 and 100 %"),
    ],
)
def test_bad_items_are_refused(client, db, world, form, message):
    w = world
    sign_in(client, w.manager)
    contract = draft(db, w.customer)
    base = f"/admin/contracts/{contract.id}"
    if form["item"] == "T":
        form = {**form, "item": f"t:{w.t_m.id}"}
    r = post_form(client, f"{base}/items", form, form_url=base)
    assert r.status_code == 422
    assert message in r.text
    assert ct.items_of(db, ct.versions(db, contract)[0]) == []


def test_withdrawn_product_cannot_be_added(client, db, world):
    w = world
    w.phone.is_active = False
    db.flush()
    sign_in(client, w.manager)
    contract = draft(db, w.customer)
    base = f"/admin/contracts/{contract.id}"
    form = {"item": f"p:{w.phone.id}", "price": "", "discount_percent": ""}
    r = post_form(client, f"{base}/items", form, form_url=base)
    assert r.status_code == 422 and "Galaxy S25 is no longer sold" in r.text


def test_amendment_must_start_in_the_future(client, db, world):
    w = world
    sign_in(client, w.manager)
    contract = draft(db, w.customer, item=w.t_m)
    ct.activate(db, SYSTEM, contract)
    base = f"/admin/contracts/{contract.id}"
    r = post_form(client, f"{base}/amend", {"effective_from": w.today.isoformat()}, form_url=base)
    assert r.status_code == 422
    assert "An amendment takes effect from tomorrow at the earliest." in r.text
    assert len(ct.versions(db, contract)) == 1
    # The version in force cannot be edited: the form is not offered and a POST is refused.
    r = post_form(client, f"{base}/items", {"item": f"t:{w.t_m.id}", "price": "1"}, form_url=base)
    assert r.status_code == 422 and "create an amendment" in r.text


def test_new_draft_refuses_unknown_customer_and_reversed_dates(client, db, world):
    w = world
    sign_in(client, w.manager)
    r = post_form(client, "/admin/contracts/new", {"customer": "NOPE", "valid_from": "2026-01-01"})
    assert r.status_code == 422 and "No customer of yours has this number or NIP." in r.text
    r = post_form(
        client,
        "/admin/contracts/new",
        {"customer": w.customer.nip, "valid_from": "2026-05-01", "valid_to": "2026-04-01"},
    )
    assert r.status_code == 422 and "The end date is before the start date." in r.text
    r = post_form(client, "/admin/contracts/new", {"customer": w.customer.number, "valid_from": ""})
    assert r.status_code == 422 and "Enter the date the contract starts." in r.text
    assert db.scalar(select(Contract)) is None


def test_account_manager_cannot_reach_another_managers_customer(client, db, world):
    w = world
    theirs = draft(db, w.foreign, item=w.t_m)
    mine = draft(db, w.customer, item=w.t_m)
    sign_in(client, w.manager)
    base = f"/admin/contracts/{theirs.id}"
    for url in (base, f"{base}/versions/1", f"{base}/versions/1.pdf"):
        assert client.get(url).status_code == 404, url
    token = csrf_token(client.get(f"/admin/contracts/{mine.id}").text)
    for action, data in (
        ("terms", TERMS),
        ("items", {"item": f"t:{w.t_l.id}"}),
        ("activate", {}),
        ("amend", {"effective_from": "2030-01-01"}),
        ("terminate", {"reason": "x"}),
    ):
        r = client.post(f"{base}/{action}", data={**data, "csrf_token": token})
        assert r.status_code == 404, action
    assert client.get(f"/admin/contracts/new?customer_id={w.foreign.id}").status_code == 404
    r = post_form(
        client,
        "/admin/contracts/new",
        {"customer": w.foreign.number, "valid_from": w.today.isoformat()},
    )
    assert r.status_code == 422 and "No customer of yours" in r.text
    listing = client.get("/admin/contracts/").text
    assert mine.number in listing and theirs.number not in listing
    db.refresh(theirs)
    assert theirs.state == ContractState.draft


def test_sales_admin_reads_contracts_but_may_not_change_them(client, db, world):
    w = world
    contract = draft(db, w.customer, item=w.t_m)
    sign_in(client, make_staff(db, StaffRole.sales_admin))
    base = f"/admin/contracts/{contract.id}"
    page = client.get(base)
    assert page.status_code == 200 and 'name="subsidy_budget"' not in page.text
    assert client.get("/admin/contracts/new").status_code == 403
    token = csrf_token(client.get("/admin/contracts/").text)
    assert client.post(f"{base}/activate", data={"csrf_token": token}).status_code == 403
    db.refresh(contract)
    assert contract.state == ContractState.draft


def test_list_filters_by_state_and_search(client, db, world):
    w = world
    active = draft(db, w.customer, item=w.t_m)
    ct.activate(db, SYSTEM, active)
    pending = draft(db, w.customer)
    sign_in(client, w.manager)
    page = client.get("/admin/contracts/?state=draft").text
    assert pending.number in page and active.number not in page
    page = client.get("/admin/contracts/?q=alfa").text
    assert pending.number in page and active.number in page
    page = client.get(f"/admin/contracts/?q={active.number}").text
    assert active.number in page and pending.number not in page


def pdf_text(data: bytes) -> str:
    """The text of a PDF: with pdftotext when installed; otherwise what can be read from the
    bytes alone — the document information and bookmarks in the decompressed streams."""
    if shutil.which("pdftotext"):
        done = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
        )
        return done.stdout.decode()
    chunks = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(m.group(1)))
        except zlib.error:
            chunks.append(m.group(1))
    blob = b"\n".join(chunks)
    texts = [s.decode("latin-1") for s in re.findall(rb"\(([^()]*)\)", blob)]
    texts += [
        bytes.fromhex(h.decode()).decode("utf-16-be")
        for h in re.findall(rb"<feff((?:[0-9a-f]{4})+)>", blob)
    ]
    return "\n".join(texts)


def test_contract_pdf_renders_for_any_version(client, db, world):
    w = world
    contract = draft(db, w.customer, item=w.t_m, price=Decimal("39.00"))
    ct.activate(db, SYSTEM, contract)
    ct.amend(db, SYSTEM, contract, w.today + timedelta(days=5), "Nowe ceny")
    sign_in(client, w.manager)
    for n in (1, 2):
        r = client.get(f"/admin/contracts/{contract.id}/versions/{n}.pdf")
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        assert r.data.startswith(b"%PDF-") and r.data.rstrip().endswith(b"%%EOF")
        assert f"v{n}.pdf" in r.headers["Content-Disposition"]
        text = pdf_text(r.data)
        assert contract.number in text
        assert w.customer.name in text
    assert "Aneks nr 1" in text
    assert client.get(f"/admin/contracts/{contract.id}/versions/3.pdf").status_code == 404


def test_daily_job_expires_contracts_past_their_end(app, client, db, world):
    from workers.contract_jobs import expire_contracts

    w = world
    contract = draft(db, w.customer, item=w.t_m)
    ct.activate(db, SYSTEM, contract)
    contract.valid_from = w.today - timedelta(days=30)
    contract.valid_to = w.today - timedelta(days=1)
    db.flush()
    with app.app_context():
        assert expire_contracts() == 1
        assert expire_contracts() == 0  # safe to run twice
    db.refresh(contract)
    assert contract.state == ContractState.expired
    sign_in(client, w.manager)
    page = client.get(f"/admin/contracts/{contract.id}").text
    assert "Expired" in page and "Prepare an amendment" not in page


def test_contract_pdf_names_the_operator_from_the_settings(db, rt, world):
    """The seller's party comes from OPERATOR_* settings, not from the code."""
    import dataclasses

    import wsgi
    from core.runtime import Runtime
    from core.settings import OperatorParty

    w = world
    contract = draft(db, w.customer, item=w.t_m, price=Decimal("39.00"))
    party = OperatorParty(
        name="Sieć Komórkowa S.A.",
        street="ul. Sienna 39",
        postal_code="00-121",
        city="Warszawa",
        nip="5260250274",
        krs="0000012345",
    )
    other = Runtime(dataclasses.replace(rt.settings, operator_party=party), database=rt.db)
    try:
        client = wsgi.create_app(other).test_client()
        sign_in(client, w.manager)
        text = pdf_text(client.get(f"/admin/contracts/{contract.id}/versions/1.pdf").data)
    finally:
        rt.db.session_info["runtime"] = rt
    assert "Sieć Komórkowa S.A." in text and "Asystent Mobile" not in text  # author, letterhead
    if shutil.which("pdftotext"):  # the body text, where it can be read
        assert "ul. Sienna 39" in text and "5260250274" in text and "0000012345" in text
