"""Customer records as services: validated company data, addresses, contacts, notes, managers,
the timeline, portal users with their links, and the rules of staff management."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from models import (
    AuditEvent,
    Customer,
    MailStatus,
    OutgoingMail,
    PortalRole,
    PortalUser,
    StaffRole,
    StaffUser,
)
from models.base import utcnow
from services import ServiceError, account_links, customer_timeline, portal_users
from services import customer_records as records
from services import customers as svc
from services import staff as staff_svc
from services.account_links import INVITE, RESET, Links
from services.audit import Actor
from tests.factories import make_customer, make_portal_user, make_staff, make_unit, valid_nip
from tests.fleet_factories import make_employee

ACTOR = Actor("staff", None, "opiekun@operator.example")
SECRET = "test-secret-key-for-links"
LINKS = Links(SECRET, "https://asystent.example/", "https://asystent.example/admin/")


def company(**kw) -> dict:
    data = {
        "name": "Hurtownia Zdrowia Sp. z o.o.",
        "nip": valid_nip(901),
        "street": "ul. Piękna 7",
        "postal_code": "00-549",
        "city": "Warszawa",
    }
    data.update(kw)
    return data


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


# --- company data -------------------------------------------------------------------------------


def test_create_customer_normalises_and_audits(db):
    manager = make_staff(db)
    nip = valid_nip(902)
    customer = svc.create_customer(
        db,
        ACTOR,
        **company(
            nip=f"{nip[:3]}-{nip[3:6]}-{nip[6:8]}-{nip[8:]}",
            regon="012345675",
            krs="0000 123 456",
            email=" Biuro@Firma.PL ",
            phone="601 234 567",
        ),
        account_manager_id=manager.id,
    )
    assert customer.nip == nip
    assert customer.krs == "0000123456"
    assert customer.email == "Biuro@firma.pl"  # the domain is case-insensitive, the name not
    assert customer.phone == "+48601234567"
    assert customer.number.startswith("K")
    event = db.scalar(select(AuditEvent).where(AuditEvent.customer_id == customer.id))
    assert event.action == "customer.created" and event.after["nip"] == nip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "   "}, "name"),
        ({"nip": "1234567890"}, "nip"),
        ({"regon": "123456789"}, "regon"),
        ({"krs": "12345"}, "krs"),
        ({"krs": "00001234ab"}, "krs"),
        ({"postal_code": "00549"}, "postal_code"),
        ({"email": "biuro@"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"street": ""}, "street"),
        ({"city": ""}, "city"),
    ],
)
def test_bad_company_data_is_refused_on_its_field(db, change, field):
    before = count(db, Customer)
    with pytest.raises(ServiceError) as err:
        svc.create_customer(db, ACTOR, **company(**change))
    assert err.value.field == field
    assert count(db, Customer) == before


def test_duplicate_nip_is_refused_on_create_and_update(db):
    first = make_customer(db)
    with pytest.raises(ServiceError) as err:
        svc.create_customer(db, ACTOR, **company(nip=first.nip))
    assert err.value.field == "nip"
    other = svc.create_customer(db, ACTOR, **company())
    data = svc.CompanyData(**{**company(), "nip": first.nip})
    with pytest.raises(ServiceError):
        svc.update_customer(db, ACTOR, other, data)


def test_update_records_only_what_changed(db):
    customer = svc.create_customer(db, ACTOR, **company())
    changed = svc.update_customer(
        db, ACTOR, customer, svc.CompanyData(**company(city="Kraków", postal_code="31-147"))
    )
    assert sorted(changed) == ["city", "postal_code"]
    event = db.scalar(
        select(AuditEvent).where(
            AuditEvent.customer_id == customer.id, AuditEvent.action == "customer.updated"
        )
    )
    assert event.before == {"city": "Warszawa", "postal_code": "00-549"}
    assert event.after == {"city": "Kraków", "postal_code": "31-147"}
    assert (
        svc.update_customer(
            db, ACTOR, customer, svc.CompanyData(**company(city="Kraków", postal_code="31-147"))
        )
        == []
    )


def test_managers_are_active_account_managers(db):
    customer = make_customer(db)
    sales = make_staff(db, StaffRole.sales_admin)
    gone = make_staff(db, is_active=False)
    for bad in (sales, gone):
        with pytest.raises(ServiceError):
            svc.assign_manager(db, ACTOR, [customer], bad.id)
    manager = make_staff(db, full_name="Anna Opiekun")
    assert svc.assign_manager(db, ACTOR, [customer], manager.id) == 1
    assert svc.assign_manager(db, ACTOR, [customer], manager.id) == 0  # nothing to change
    assert svc.assign_manager(db, ACTOR, [customer], None) == 1
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "customer.manager_changed")
    ).all()
    assert [e.after["manager"] for e in events] == ["Anna Opiekun", None]


# --- addresses, contacts, notes -------------------------------------------------------------------


def test_addresses_and_contacts_are_validated_and_audited(db):
    customer = make_customer(db)
    address = records.add_address(
        db, ACTOR, customer, records.AddressData("invoice", "ul. Długa 1", "80-001", "Gdańsk")
    )
    with pytest.raises(ServiceError) as err:
        records.update_address(
            db, ACTOR, address, records.AddressData("invoice", "ul. Długa 1", "80 001", "Gdańsk")
        )
    assert err.value.field == "postal_code"
    with pytest.raises(ServiceError) as err:
        records.add_contact(db, ACTOR, customer, records.ContactData("Jan Nowak", "finance"))
    assert err.value.field == "email"  # neither e-mail nor phone
    with pytest.raises(ServiceError) as err:
        records.add_contact(
            db, ACTOR, customer, records.ContactData("Jan Nowak", "finance", phone="+48 12")
        )
    assert err.value.field == "phone"
    contact = records.add_contact(
        db,
        ACTOR,
        customer,
        records.ContactData("Jan Nowak", "decision_maker", "jan@firma.pl", "22 123 45 67"),
    )
    assert contact.phone == "+48221234567"
    records.delete_contact(db, ACTOR, contact)
    records.delete_address(db, ACTOR, address)
    actions = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.customer_id == customer.id)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "customer_address.added",
        "contact.added",
        "contact.deleted",
        "customer_address.deleted",
    ]


def test_notes_need_a_kind_and_text(db):
    customer = make_customer(db)
    with pytest.raises(ServiceError):
        records.add_note(db, ACTOR, customer, "gossip", "x")
    with pytest.raises(ServiceError):
        records.add_note(db, ACTOR, customer, "call", "   ")
    note = records.add_note(db, ACTOR, customer, "call", "  Rozmowa o przedłużeniu umowy. ")
    assert note.body == "Rozmowa o przedłużeniu umowy."


# --- timeline -------------------------------------------------------------------------------------


def _event_rows(customer_id: int, action: str, n: int, when, object_type="line"):
    return [
        {
            "created_at": when,
            "actor_kind": "portal",
            "actor_id": 7,
            "actor_label": "admin@firma.pl",
            "customer_id": customer_id,
            "action": action,
            "object_type": object_type,
            "object_id": i,
        }
        for i in range(n)
    ]


def test_timeline_merges_sources_newest_first_and_pages_without_gaps(db):
    customer = make_customer(db)
    other = make_customer(db)
    start = utcnow() - timedelta(days=10)
    for i in range(12):
        db.add(
            OutgoingMail(
                customer_id=customer.id,
                recipient="a@firma.pl",
                subject=f"mail {i}",
                body_text="-",
                status=MailStatus.sent,
                created_at=start + timedelta(hours=3 * i),
            )
        )
        records.add_note(db, ACTOR, customer, "note", f"note {i}").created_at = start + timedelta(
            hours=3 * i + 1
        )
        db.execute(
            insert(AuditEvent),
            _event_rows(customer.id, "line.moved", 1, start + timedelta(hours=3 * i + 2)),
        )
    # the same instant for all three sources: the order must still be total
    same = start + timedelta(days=5)
    db.add(
        OutgoingMail(
            customer_id=customer.id,
            recipient="x@firma.pl",
            subject="tie",
            body_text="-",
            created_at=same,
        )
    )
    records.add_note(db, ACTOR, customer, "note", "tie").created_at = same
    db.execute(insert(AuditEvent), _event_rows(customer.id, "unit.created", 1, same, "org_unit"))
    records.add_note(db, ACTOR, other, "note", "someone else's")  # never shown
    db.flush()

    seen, cursor, pages = [], None, 0
    while True:
        page = customer_timeline.page(db, customer.id, cursor=cursor, size=7)
        seen += page.entries
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    keys = [(e.source, e.id) for e in seen]
    assert len(keys) == len(set(keys)) == 12 * 3 + 3
    assert [e.key for e in seen] == sorted((e.key for e in seen), reverse=True)
    assert pages == 6
    assert all(e.note is None or e.note.customer_id == customer.id for e in seen)


def test_timeline_collapses_bulk_events_and_filters_by_kind(db):
    customer = make_customer(db)
    when = utcnow() - timedelta(hours=1)
    db.execute(insert(AuditEvent), _event_rows(customer.id, "line.moved", 5000, when))
    db.execute(
        insert(AuditEvent),
        _event_rows(customer.id, "portal.login", 3, when + timedelta(minutes=1), "portal_user"),
    )
    records.add_note(db, ACTOR, customer, "meeting", "Spotkanie")
    db.flush()
    everything = customer_timeline.page(db, customer.id)
    assert [(e.kind, e.count) for e in everything.entries] == [("notes", 1), ("service", 5000)]
    signins = customer_timeline.page(db, customer.id, kind="signins")
    assert [(e.kind, e.count) for e in signins.entries] == [("signins", 3)]
    assert customer_timeline.page(db, customer.id, kind="notes").entries[0].note.body == "Spotkanie"
    assert customer_timeline.page(db, customer.id, kind="contracts").entries == []
    # a cursor that is not ours starts from the top instead of failing
    assert len(customer_timeline.page(db, customer.id, cursor="garbage!").entries) == 2


# --- portal users and their links -----------------------------------------------------------------


def test_invitation_queues_a_mail_with_a_link_that_works_once(db):
    customer = make_customer(db, name="Zielona Energia S.A.")
    user = portal_users.invite(
        db,
        ACTOR,
        customer,
        LINKS,
        email="Ewa.Nowak@Zielona.PL",
        full_name="Ewa Nowak",
        role="fleet_admin",
    )
    assert user.email == "ewa.nowak@zielona.pl" and user.password_hash is None
    mail = db.scalar(select(OutgoingMail).where(OutgoingMail.recipient == user.email))
    assert mail.customer_id == customer.id and mail.status == MailStatus.queued
    token = mail.body_text.split("https://asystent.example/welcome/")[1].split()[0]
    assert account_links.read_token(db, SECRET, PortalUser, INVITE, token) is user
    with pytest.raises(ServiceError):  # not for a reset, not for staff, not with another key
        account_links.read_token(db, SECRET, PortalUser, RESET, token)
    with pytest.raises(ServiceError):
        account_links.read_token(db, SECRET, StaffUser, INVITE, token)
    with pytest.raises(ServiceError):
        account_links.read_token(db, "another-key", PortalUser, INVITE, token)
    account_links.set_password(db, user, "Zielone-pole-2026", INVITE, None)
    with pytest.raises(ServiceError) as err:
        account_links.read_token(db, SECRET, PortalUser, INVITE, token)
    assert err.value.details["reason"] == "used"


def test_links_expire(db):
    user = make_portal_user(db, make_customer(db))
    invite = account_links.make_token(SECRET, user, INVITE)
    reset = account_links.make_token(SECRET, user, RESET)
    later = utcnow() + timedelta(hours=2)
    assert account_links.read_token(db, SECRET, PortalUser, INVITE, invite, now=later) is user
    with pytest.raises(ServiceError) as err:
        account_links.read_token(db, SECRET, PortalUser, RESET, reset, now=later)
    assert err.value.details["reason"] == "expired"
    with pytest.raises(ServiceError):
        account_links.read_token(
            db, SECRET, PortalUser, INVITE, invite, now=utcnow() + timedelta(hours=73)
        )


def test_locked_users_links_do_not_work(db):
    user = make_portal_user(db, make_customer(db))
    token = account_links.make_token(SECRET, user, RESET)
    portal_users.set_locked(db, ACTOR, user, True)
    with pytest.raises(ServiceError):
        account_links.read_token(db, SECRET, PortalUser, RESET, token)


@pytest.mark.parametrize("password", ["short-1", "anna@firma.pl", "ANNA@firma.pl ", "anna"])
def test_password_rules(password):
    with pytest.raises(ServiceError):
        account_links.check_password(password, "anna@firma.pl")


def test_invitation_checks_email_role_and_scope(db):
    customer = make_customer(db)
    other_unit = make_unit(db, make_customer(db))
    make_portal_user(db, customer, email="taken@firma.pl")
    cases = [
        ({"email": "TAKEN@firma.pl"}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"role": "owner"}, "role"),
        ({"scope_unit_id": other_unit.id}, "scope_unit_id"),
        ({"role": "employee"}, "role"),  # nobody with that e-mail in the employee register
        ({"role": "employee", "can_approve_orders": True}, "can_approve_orders"),
        ({"full_name": " "}, "full_name"),
    ]
    for change, field in cases:
        args = {"email": "nowy@firma.pl", "full_name": "Nowy", "role": "viewer", **change}
        with pytest.raises(ServiceError) as err:
            portal_users.invite(db, ACTOR, customer, LINKS, **args)
        assert err.value.field == field, change
    make_employee(db, customer, email="Jan@Firma.pl", name="Jan")
    user = portal_users.invite(
        db, ACTOR, customer, LINKS, email="jan@firma.pl", full_name="Jan", role="employee"
    )
    assert user.role == PortalRole.employee and user.employee_id is not None


def test_forgotten_password_mail_is_not_sent_twice_in_a_row(db):
    user = make_portal_user(db, make_customer(db), email="anna@firma.pl")
    assert portal_users.request_reset(db, " ANNA@firma.pl", LINKS, "10.0.0.1")
    assert not portal_users.request_reset(db, "anna@firma.pl", LINKS, "10.0.0.1")
    assert not portal_users.request_reset(db, "nobody@firma.pl", LINKS, "10.0.0.1")
    portal_users.set_locked(db, ACTOR, user, True)
    assert (
        db.scalar(
            select(func.count())
            .select_from(OutgoingMail)
            .where(OutgoingMail.recipient == user.email)
        )
        == 1
    )


# --- staff ----------------------------------------------------------------------------------


def test_staff_rules(db):
    for existing in db.scalars(select(StaffUser).where(StaffUser.role == StaffRole.operator_admin)):
        existing.is_active = False
    admin = make_staff(db, StaffRole.operator_admin)
    me = Actor("staff", admin.id, admin.email)
    with pytest.raises(ServiceError):
        staff_svc.set_active(db, me, admin, False)  # not yourself
    with pytest.raises(ServiceError):
        staff_svc.change_role(db, me, admin, "sales_admin")
    with pytest.raises(ServiceError):  # the last active operator admin stays
        staff_svc.set_active(db, Actor.system(), admin, False)
    manager = staff_svc.create(
        db,
        me,
        LINKS,
        email="Nowy.Opiekun@operator.example",
        full_name="Nowy",
        role="account_manager",
    )
    assert db.scalar(select(OutgoingMail.body_text).where(OutgoingMail.recipient == manager.email))
    with pytest.raises(ServiceError):
        staff_svc.create(
            db, me, LINKS, email="nowy.opiekun@operator.example", full_name="X", role="sales_admin"
        )
    customer = make_customer(db, account_manager_id=manager.id)
    with pytest.raises(ServiceError) as err:
        staff_svc.set_active(db, me, manager, False)
    assert err.value.details["customers"] == 1
    with pytest.raises(ServiceError):
        staff_svc.change_role(db, me, manager, "sales_admin")
    svc.assign_manager(db, me, [customer], None)
    assert staff_svc.set_active(db, me, manager, False)
    assert staff_svc.set_active(db, me, manager, True)
    assert staff_svc.change_role(db, me, manager, "operator_admin")
    assert staff_svc.set_active(db, me, manager, False)  # another admin remains


def test_totp_reset_makes_the_admin_enrol_again(db):
    admin = make_staff(
        db,
        StaffRole.operator_admin,
        totp_secret="JBSWY3DPEHPK3PXP",
        totp_enabled=True,
        totp_last_counter=5,
    )
    assert staff_svc.reset_totp(db, ACTOR, admin)
    assert admin.totp_secret is None and not admin.totp_enabled and admin.requires_totp
    assert not staff_svc.reset_totp(db, ACTOR, admin)
