"""The fleet's text search through its indexes (trigram GIN on PostgreSQL, FTS5 on SQLite):
the same answers as a plain "contains", kept in step with every change, within the customer;
and the list's count, exact up to a limit and "over" beyond it."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from models import Employee, Line, LineStatus
from services import fleet as fl
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_employee, make_handset, make_line, make_tariff


@pytest.fixture
def fleet(db):
    c = make_customer(db, name="Szukajka")
    root = make_unit(db, c, "Centrala")
    it = make_unit(db, c, "IT", root)
    tariff = make_tariff(db, name="Biznes S")
    phone = make_handset(db, name="Telefon Szukany")
    people = {
        "kowalewska": make_employee(
            db, c, root, name="Anna Kowalewska", email="a.kow@szuk.example"
        ),
        "kowalski": make_employee(db, c, it, name="Jan Kowalski", email="jan.k@szuk.example"),
        "lukasz": make_employee(db, c, it, name="Łukasz Żółć", email="lz@szuk.example"),
        "nowak": make_employee(db, c, root, name="Ewa Nowak", email="ewa@szuk.example"),
    }
    lines = {
        "kowalewska": make_line(db, c, root, tariff, people["kowalewska"], msisdn="+48601234567"),
        "kowalski": make_line(db, c, it, tariff, people["kowalski"], handset=phone),
        "lukasz": make_line(db, c, it, tariff, people["lukasz"]),
        "nowak": make_line(db, c, root, tariff, people["nowak"], msisdn="+48698765432"),
        "free": make_line(db, c, root, tariff),
    }
    # Another customer with look-alike names and numbers: never found.
    other = make_customer(db, name="Obcy")
    o_unit = make_unit(db, other, "Obca")
    o_emp = make_employee(db, other, o_unit, name="Piotr Kowalski", email="p.kow@obcy.example")
    foreign = make_line(db, other, o_unit, tariff, o_emp, msisdn="+48601234999")
    return {
        "customer": c,
        "scope": fl.FleetScope(c.id),
        "it": it,
        "people": people,
        "lines": lines,
        "foreign": foreign,
    }


def found(db, fleet, q, scope=None) -> set[int]:
    scope = scope or fleet["scope"]
    page = fl.page(db, scope, fl.FleetFilter(q=q), size=200)
    ids = {row[0].id for row in page.rows}
    assert page.total == len(ids)  # the count and the rows agree
    return ids


def ids(fleet, *keys) -> set[int]:
    return {fleet["lines"][k].id for k in keys}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("kowal", ("kowalewska", "kowalski")),  # a surname fragment, not only its start
        ("WALEW", ("kowalewska",)),  # from the middle, any case
        ("jan kowal", ("kowalski",)),  # every word must match, in any order
        ("kowal jan", ("kowalski",)),
        ("łukasz", ("lukasz",)),  # Polish letters, lower case finds the capital
        ("ŁUKASZ", ("lukasz",)),
        ("żółć", ("lukasz",)),
        ("ko", ("kowalewska", "kowalski")),  # shorter than the index's trigrams
        ("a.kow@", ("kowalewska",)),  # an e-mail address
        ("szuk.example", ()),  # no "@": names only
        ("nobody", ()),
        ("100%_", ()),  # LIKE's wildcards are literal
    ],
)
def test_search_by_name_and_e_mail(db, fleet, q, expected):
    assert found(db, fleet, q) == ids(fleet, *expected)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("123456", ("kowalewska",)),  # digits from the middle of the number
        ("601 234", ("kowalewska",)),  # typed with a space
        ("48601234567", ("kowalewska",)),  # eleven digits: still a part
        ("+48 601 234 567", ("kowalewska",)),  # the whole number with the country code
        ("987", ("nowak",)),
    ],
)
def test_search_by_digits_of_the_number(db, fleet, q, expected):
    assert found(db, fleet, q) == ids(fleet, *expected)


def test_search_by_iccid_and_imei_from_the_start(db, fleet):
    line = fleet["lines"]["kowalski"]
    assert found(db, fleet, line.iccid) == {line.id}
    assert found(db, fleet, line.iccid[:10]) >= {line.id}
    assert found(db, fleet, line.imei[:8]) == {line.id}
    assert found(db, fleet, line.imei) == {line.id}


def test_search_stays_within_the_customer_and_the_subtree(db, fleet):
    foreign = fleet["foreign"]
    assert foreign.id not in found(db, fleet, "piotr kowalski")
    assert found(db, fleet, "piotr") == set()
    assert foreign.id not in found(db, fleet, "601234")
    subtree = fl.FleetScope(fleet["customer"].id, unit_path=fleet["it"].path)
    assert found(db, fleet, "kowal", scope=subtree) == ids(fleet, "kowalski")


def test_search_follows_changes(db, fleet):
    """The search index is kept in step: renamed people, new and removed lines."""
    nowak = fleet["people"]["nowak"]
    nowak.full_name = "Ewa Zielińska"
    db.flush()
    assert found(db, fleet, "nowak") == set()
    assert found(db, fleet, "zielińska") == ids(fleet, "nowak")

    tariff_id = fleet["lines"]["free"].tariff_id
    unit = fleet["it"]
    line = Line(
        customer_id=fleet["customer"].id,
        unit_id=unit.id,
        unit_path=unit.path,
        msisdn="+48605555123",
        status=LineStatus.active,
        tariff_id=tariff_id,
        iccid="8948019999999999991",
        imsi="260019999999991",
    )
    db.add(line)
    db.flush()
    assert found(db, fleet, "5555") == {line.id}
    line.msisdn = "+48605777123"
    db.flush()
    assert found(db, fleet, "5555") == set()
    assert found(db, fleet, "5777") == {line.id}

    db.execute(delete(Line).where(Line.id == line.id))
    db.execute(delete(Employee).where(Employee.id == fleet["people"]["kowalewska"].id))
    db.expire_all()
    assert found(db, fleet, "5777") == set()
    assert found(db, fleet, "kowal") == ids(fleet, "kowalski")


def test_search_results_page_in_number_order(db, fleet):
    scope, flt = fleet["scope"], fl.FleetFilter(q="a")  # every line with a person
    seen, after = [], None
    while True:
        page = fl.page(db, scope, flt, after=after, size=2)
        seen += [row[0].msisdn for row in page.rows]
        if page.is_last:
            break
        after = page.next_cursor
    assert seen == sorted(seen)
    assert len(seen) == 4


def test_count_is_exact_up_to_the_limit_then_over(db, fleet):
    scope, flt = fleet["scope"], fl.FleetFilter()
    exact = fl.page(db, scope, flt, count_limit=5)
    assert (exact.total, exact.total_capped) == (5, False)  # five lines: exactly the limit
    over = fl.page(db, scope, flt, count_limit=4)
    assert over.total_capped and over.count_limit == 4
    assert len(over.rows) == 5  # the rows are all there; only the count stops
    assert fl.count_up_to(db, scope, fl.FleetFilter(q="kowal"), 4) == 2
    assert not fl.page(db, scope, flt).total_capped  # no limit: always exact
