"""The employee register: finding people and adding them with a valid, unique e-mail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditEvent
from services import ServiceError
from services import employees as emp
from services.audit import Actor
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_employee

ACTOR = Actor("portal", 1, "admin@test")


@pytest.fixture
def customer(db):
    c = make_customer(db)
    make_employee(db, c, name="Łukasz Żółtowski", email="lukasz.z@firma.example")
    make_employee(db, c, name="Anna Nowak", email="anna.nowak@firma.example")
    make_employee(db, c, name="Anna Kowalska", email="a.kowalska@firma.example")
    return c


def test_search_by_words_of_name_or_email_in_any_case(db, customer):
    names = lambda q: [e.full_name for e in emp.search(db, customer.id, q)]  # noqa: E731
    assert names("anna") == ["Anna Kowalska", "Anna Nowak"]
    assert names("anna now") == ["Anna Nowak"]
    assert names("łukasz") == ["Łukasz Żółtowski"]  # Polish capitals, SQLite too
    assert names("KOWALSKA@") == ["Anna Kowalska"]
    assert names("100%") == [] and names("   ") == []


def test_another_customers_people_are_not_found(db, customer):
    other = make_customer(db)
    stranger = make_employee(db, other, name="Anna Obca")
    assert [e.full_name for e in emp.search(db, customer.id, "obca")] == []
    assert emp.get(db, customer.id, stranger.id) is None
    assert emp.get(db, other.id, stranger.id) is stranger


def test_create_tidies_validates_and_audits(db, customer):
    unit = make_unit(db, customer, "Dział")
    e = emp.create(
        db,
        ACTOR,
        customer.id,
        emp.NewEmployee("  Jan   Nowy ", "jan.nowy@FIRMA.example", " Kierowca "),
        unit,
    )
    assert (e.full_name, e.email, e.position, e.unit_id) == (
        "Jan Nowy",
        "jan.nowy@firma.example",
        "Kierowca",
        unit.id,
    )
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "employee.created"))
    assert event.object_id == e.id and event.after["email"] == "jan.nowy@firma.example"
    assert emp.create(db, ACTOR, customer.id, emp.NewEmployee("Bez Maila")).email is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (emp.NewEmployee(""), "full_name"),
        (emp.NewEmployee("x" * 201), "full_name"),
        (emp.NewEmployee("Jan", "jan@"), "email"),
        (emp.NewEmployee("Jan", "jan kowalski@firma.example"), "email"),
        (emp.NewEmployee("Jan", "ANNA.NOWAK@firma.example"), "email"),  # taken, any case
        (emp.NewEmployee("Jan", None, "p" * 121), "position"),
    ],
)
def test_create_refuses_bad_data(db, customer, data, field):
    before = db.scalar(select(AuditEvent.id).limit(1))
    with pytest.raises(ServiceError) as err:
        emp.create(db, ACTOR, customer.id, data)
    assert err.value.field == field
    assert db.scalar(select(AuditEvent.id).limit(1)) == before


def test_the_same_email_may_exist_at_another_customer(db, customer):
    other = make_customer(db)
    e = emp.create(db, ACTOR, other.id, emp.NewEmployee("Anna", "anna.nowak@firma.example"))
    assert e.customer_id == other.id


def test_unit_of_another_customer_is_refused(db, customer):
    with pytest.raises(ServiceError):
        emp.create(db, ACTOR, customer.id, emp.NewEmployee("Jan"), make_unit(db, make_customer(db)))
