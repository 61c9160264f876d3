"""Console invoices: the manager's customers' invoices only (others 404), a correction issued
from the browser with CSRF — changed line amounts and an extra credit, with the reason — that
validates as FA(3) and UBL, is audited and queued for KSeF; bad input issues nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from models import AuditEvent, Invoice, InvoiceKind, StaffRole
from services import invoices
from services.einvoice import documents
from tests.admin_console.test_reports import _login
from tests.billing_factories import billing_customer
from tests.conftest import post_form
from tests.einvoice_checks import cen_rules_fired, fa3_errors, ubl_errors
from tests.factories import make_staff
from tests.services.test_billing import run_for


def _world(db):
    manager = make_staff(db, StaffRole.account_manager)
    own, _t, _l = billing_customer(db, 3, fee="100.00", account_manager_id=manager.id)
    other, _t2, _l2 = billing_customer(db, 1)
    return manager, run_for(db, own), run_for(db, other)


def _count_corrections(db) -> int:
    return db.scalar(
        select(func.count()).select_from(Invoice).where(Invoice.kind == InvoiceKind.correction)
    )


def test_manager_lists_and_opens_own_customers_invoices_only(client, db):
    manager, own, other = _world(db)
    _login(client, manager)
    page = client.get("/admin/billing/invoices/").get_data(as_text=True)
    assert own.number in page and other.number not in page
    assert client.get(f"/admin/billing/invoices/{own.id}").status_code == 200
    assert client.get(f"/admin/billing/invoices/{other.id}").status_code == 404
    r = post_form(
        client,
        f"/admin/billing/invoices/{other.id}/correct",
        {"reason": "x"},
        form_url=f"/admin/billing/invoices/{own.id}",
    )
    assert r.status_code == 404 and _count_corrections(db) == 0


def test_a_correction_from_the_browser(client, db, redis_clean):
    manager, own, _other = _world(db)
    first, second, _third = invoices.lines_of(db, own)
    _login(client, manager)
    url = f"/admin/billing/invoices/{own.id}"
    r = post_form(
        client,
        f"{url}/correct",
        {
            f"net-{first.id}": "80,00",  # 100.00 → 80.00
            f"net-{second.id}": "100.00",  # unchanged
            "extra-desc-0": "Rabat za awarię sieci",
            "extra-net-0": "-15.50",
            "reason": "Błędna stawka abonamentu i rabat za awarię",
        },
        form_url=url,
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    kor = db.scalar(select(Invoice).where(Invoice.kind == InvoiceKind.correction))
    assert kor.corrects_id == own.id and kor.number.startswith("FK/")
    assert kor.total_net == Decimal("-35.50")
    assert kor.total_vat == Decimal("-8.17")  # 8.165 half-up, away from zero
    assert kor.correction_reason.startswith("Błędna stawka")
    lines = invoices.lines_of(db, kor)
    assert [(li.quantity, li.unit_price, li.net) for li in lines] == [
        (Decimal(-1), Decimal("20.00"), Decimal("-20.00")),
        (Decimal(-1), Decimal("15.50"), Decimal("-15.50")),
    ]
    assert fa3_errors(documents.fa3_xml(db, kor)) == []
    ubl = documents.ubl_xml(db, kor)
    assert ubl_errors(ubl) == [] and cen_rules_fired(ubl) > 10
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "invoice.corrected"))
    assert audit.actor_label == manager.email and audit.after["correction"] == kor.number
    assert redis_clean.exists(f"rq:job:ksef-{kor.id}")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert kor.number in page and own.number in page
    # A second correction starts from the corrected amount: 80.00 → 90.00 is +10.00.
    r = post_form(
        client,
        f"{url}/correct",
        {f"net-{first.id}": "90.00", "reason": "Jednak 90"},
        form_url=url,
    )
    assert r.status_code == 302
    last = db.scalar(select(Invoice).order_by(Invoice.id.desc()).limit(1))
    assert last.total_net == Decimal("10.00")
    assert fa3_errors(documents.fa3_xml(db, last)) == []


def test_bad_corrections_issue_nothing(client, db):
    manager, own, _other = _world(db)
    first = invoices.lines_of(db, own)[0]
    _login(client, manager)
    url = f"/admin/billing/invoices/{own.id}"
    cases = [
        {f"net-{first.id}": "80.00", "reason": ""},  # no reason
        {f"net-{first.id}": "100.00", "reason": "Nic"},  # nothing changes
        {f"net-{first.id}": "abc", "reason": "Zła kwota"},
        {f"net-{first.id}": "80.001", "reason": "Za dużo miejsc"},
        {f"net-{first.id}": "-5.00", "reason": "Zmiana znaku"},
        {f"net-{first.id}": "9999999999", "reason": "Za dużo"},
        {"net-999999999": "1.00", "reason": "Obca pozycja"},
        {"extra-desc-0": "", "extra-net-0": "5.00", "reason": "Bez opisu"},
        {"extra-desc-0": "Zero", "extra-net-0": "0", "reason": "Zero"},
    ]
    for data in cases:
        r = post_form(client, f"{url}/correct", data, form_url=url)
        assert r.status_code == 400, data
        assert 'role="alert"' in r.get_data(as_text=True) or "invalid-feedback" in r.get_data(
            as_text=True
        )
    assert _count_corrections(db) == 0
    # Without the CSRF token.
    r = client.post(f"{url}/correct", data={f"net-{first.id}": "1.00", "reason": "x"})
    assert r.status_code == 400 and _count_corrections(db) == 0
    # Sales admins do not correct invoices.
    sales = make_staff(db, StaffRole.sales_admin)
    client.get("/admin/logout")
    other_client = client.application.test_client()
    _login(other_client, sales)
    assert other_client.get(url).status_code == 403
