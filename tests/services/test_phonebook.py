"""The phone book service: who is found by what, hidden entries, keyset pages, file formats."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from models import AuditEvent, LineStatus
from services import phonebook
from services.audit import Actor
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_employee, make_line, make_tariff


@pytest.fixture
def co(db):
    """A company: root > Sprzedaż > Region Łódź, and IT; people with lines; a second company."""
    c = make_customer(db, name="Polmarket S.A.")
    root = make_unit(db, c, "Polmarket S.A.")
    sales = make_unit(db, c, "Sprzedaż", root)
    lodz = make_unit(db, c, "Region Łódź", sales)
    it = make_unit(db, c, "IT", root)
    tariff = make_tariff(db)
    people = {
        "zofia": make_employee(
            db, c, lodz, "Zofia Żółkiewska", position="Kierownik regionu", email="z@pm.example"
        ),
        "lukasz": make_employee(db, c, it, "Łukasz Nowak", position="Programista"),
        "adam": make_employee(db, c, sales, "Adam Kowalski", position="Przedstawiciel handlowy"),
        "ghost": make_employee(db, c, it, "Greta Ukryta", phonebook_hidden=True),
    }
    make_line(db, c, lodz, tariff, people["zofia"], msisdn="+48601200300")
    make_line(db, c, it, tariff, people["lukasz"], msisdn="+48502111222")
    make_line(db, c, it, tariff, people["lukasz"], msisdn="+48502999000")
    make_line(
        db, c, sales, tariff, people["adam"], msisdn="+48777000111", status=LineStatus.terminated
    )
    make_line(db, c, it, tariff, people["ghost"], msisdn="+48666555444")
    other = make_customer(db, name="Konkurencja Sp. z o.o.")
    other_unit = make_unit(db, other, "Sprzedaż")
    stranger = make_employee(db, other, other_unit, "Zofia Żółkiewska", position="Programista")
    make_line(db, other, other_unit, tariff, stranger, msisdn="+48601200399")
    return {"customer": c, "sales": sales, "lodz": lodz, "it": it, "stranger": stranger, **people}


def names(db, co, q="", unit=None, **kw):
    search = phonebook.Search(db, co["customer"].id, q, unit.path if unit else None, **kw)
    return [e.full_name for e in search.page(db, limit=1000).entries]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Zofia", ["Zofia Żółkiewska"]),
        ("ŻÓŁKIEWSKA", ["Zofia Żółkiewska"]),
        ("zolkiewska", ["Zofia Żółkiewska"]),  # without diacritics
        ("łukasz", ["Łukasz Nowak"]),
        ("LUKASZ", ["Łukasz Nowak"]),
        ("programista", ["Łukasz Nowak"]),  # position
        ("przedstawiciel kowal", ["Adam Kowalski"]),  # every word must match somewhere
        ("lodz", ["Zofia Żółkiewska"]),  # department
        ("sprzedaz", ["Adam Kowalski", "Zofia Żółkiewska"]),  # a division finds its subtree
        ("601 200 300", ["Zofia Żółkiewska"]),  # number with spaces
        ("+48 601-200-300", ["Zofia Żółkiewska"]),
        ("0048601200300", ["Zofia Żółkiewska"]),
        ("200", ["Zofia Żółkiewska"]),  # any part of the number
        ("502", ["Łukasz Nowak"]),  # one entry, two numbers
        ("nowak 999", ["Łukasz Nowak"]),  # a word and part of a number
        ("nowak 300", []),
        ("777000111", []),  # a terminated line finds nobody
        ("666555444", []),  # a hidden entry's number
        ("601200399", []),  # another customer's number
        ("polmarket", []),  # the company root is not part of anyone's department
        ("%", []),
        ("_", []),
        ("Zofia%", []),
        ("\\", []),
        ("zo\x00fia", ["Zofia Żółkiewska"]),  # control characters are dropped
    ],
)
def test_search_criteria(db, co, q, expected):
    assert names(db, co, q) == expected


def test_everyone_listed_in_name_order_with_listed_numbers_and_labels(db, co):
    entries = phonebook.Search(db, co["customer"].id).page(db).entries
    assert [e.full_name for e in entries] == ["Adam Kowalski", "Łukasz Nowak", "Zofia Żółkiewska"]
    adam, lukasz, zofia = entries
    assert adam.numbers == ()  # only a terminated line
    assert lukasz.numbers == ("+48502111222", "+48502999000")
    assert zofia.unit_label == "Sprzedaż › Region Łódź"  # the company root left out


def test_unit_filter_is_a_subtree(db, co):
    assert names(db, co, unit=co["sales"]) == ["Adam Kowalski", "Zofia Żółkiewska"]
    assert names(db, co, unit=co["lodz"]) == ["Zofia Żółkiewska"]
    assert names(db, co, "adam", unit=co["lodz"]) == []


def test_hidden_entry_only_for_the_person_and_for_admins_who_ask(db, co):
    ghost = co["ghost"]
    assert "Greta Ukryta" not in names(db, co)
    assert "Greta Ukryta" not in names(db, co, "greta")
    own = phonebook.Search(db, co["customer"].id, "greta", viewer_employee_id=ghost.id)
    [entry] = own.page(db).entries
    assert entry.hidden and entry.numbers == ("+48666555444",)
    assert own.count(db) == 1
    assert names(db, co, "greta", reveal_hidden=True) == ["Greta Ukryta"]
    assert names(db, co, "greta", reveal_hidden=True, manage_path=co["it"].path) == ["Greta Ukryta"]
    assert names(db, co, "greta", reveal_hidden=True, manage_path=co["sales"].path) == []


def test_another_customers_people_never_appear(db, co):
    assert names(db, co, "zofia") == ["Zofia Żółkiewska"]
    search = phonebook.Search(db, co["customer"].id, viewer_employee_id=co["stranger"].id)
    assert co["stranger"].id not in {e.employee_id for e in search.page(db).entries}


def test_keyset_pages_walk_everyone_once_in_order(db, co):
    c = co["customer"]
    for i in range(230):
        make_employee(db, c, co["it"], f"{'ŁAĆEŚ'[i % 5]}osoba {i:03d}", position="Tester")
    search = phonebook.Search(db, c.id, "tester")
    first = search.page(db, with_total=True)
    assert first.total == 230 and len(first.entries) == phonebook.PAGE_SIZE
    seen, after, pages = [], None, 0
    while True:
        page = search.page(db, after, with_total=True)
        assert page.total == 230
        seen += page.entries
        pages += 1
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert pages == 3 and len({e.employee_id for e in seen}) == 230
    keys = [phonebook.fold(e.full_name) for e in seen]
    assert keys == sorted(keys)  # Ł among the L's, not after Z


def test_cursor_after_a_long_foreign_name(db, co):
    c = co["customer"]
    for i in range(3):
        make_employee(db, c, co["it"], f"Ünal {i} " + "Щербаков" * 24, position="Tester")
    search = phonebook.Search(db, c.id, "tester")
    first = search.page(db, limit=2)
    assert len(first.next_cursor) < 2000
    second = search.page(db, first.next_cursor, limit=2)
    assert [e.full_name[:6] for e in first.entries + second.entries] == [
        "Ünal 0",
        "Ünal 1",
        "Ünal 2",
    ]


@pytest.mark.parametrize("cursor", ["", "garbage", "W10", "WyJhIiwgIngiXQ", "!!!", "x" * 5000])
def test_bad_cursor_is_the_first_page(db, co, cursor):
    page = phonebook.Search(db, co["customer"].id).page(db, cursor)
    assert page.entries[0].full_name == "Adam Kowalski"


def test_very_long_query_is_cut_not_refused(db, co):
    assert names(db, co, "zofia " * 200) == ["Zofia Żółkiewska"]
    assert names(db, co, "a" * 10_000) == []


def test_set_hidden_is_audited_and_idempotent(db, co):
    actor = Actor("portal", 7, "jan@pm.example", "10.0.0.1")
    zofia = co["zofia"]
    assert phonebook.set_hidden(db, actor, zofia, True) is True
    assert phonebook.set_hidden(db, actor, zofia, True) is False
    assert "Zofia Żółkiewska" not in names(db, co)
    assert phonebook.set_hidden(db, actor, zofia, False) is True
    events = list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "employee", AuditEvent.object_id == zofia.id)
            .order_by(AuditEvent.id)
        )
    )
    assert [e.action for e in events] == ["phonebook.entry_hidden", "phonebook.entry_shown"]
    assert events[0].customer_id == co["customer"].id and events[0].actor_label == "jan@pm.example"
    assert events[0].before == {"phonebook_hidden": False}
    assert events[0].after == {"phonebook_hidden": True}


def _entry(**kw):
    values = {
        "employee_id": 1,
        "full_name": "Zofia Żółkiewska",
        "position": "Kierownik; regionu, Łódź",
        "email": "z@pm.example",
        "hidden": False,
        "unit_id": 1,
        "unit_tree_path": "/1/",
        "unit_names": ("Sprzedaż", "Region Łódź"),
        "numbers": ("+48601200300",),
    }
    return phonebook.Entry(**{**values, **kw})


def test_vcard_is_rfc2426_with_escaping_and_polish_letters():
    card = phonebook.vcard(_entry(), "Polmarket S.A.")
    assert card.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n") and card.endswith("END:VCARD\r\n")
    assert "\n" not in card.replace("\r\n", "")
    lines = card.split("\r\n")
    assert "N:Żółkiewska;Zofia;;;" in lines
    assert "FN:Zofia Żółkiewska" in lines
    assert "ORG:Polmarket S.A.;Sprzedaż;Region Łódź" in lines
    assert "TITLE:Kierownik\\; regionu\\, Łódź" in lines
    assert "TEL;TYPE=WORK,CELL,VOICE:+48 601 200 300" in lines
    assert "EMAIL;TYPE=INTERNET,WORK:z@pm.example" in lines


def test_vcard_names_line_breaks_and_long_lines():
    card = phonebook.vcard(
        _entry(full_name="Anna Maria Nowak-Kowalska", position="Ą\\b\r\nc" + "ż" * 80),
        "Firma",
    )
    assert "N:Nowak-Kowalska;Anna;Maria;;" in card.split("\r\n")
    for line in card.split("\r\n"):
        assert len(line.encode()) <= 75
    unfolded = card.replace("\r\n ", "")
    assert "TITLE:Ą\\\\b\\nc" + "ż" * 80 + "\r\n" in unfolded
    unfolded.encode().decode("utf-8")  # folding never splits a character


def test_csv_has_bom_semicolons_and_formula_guard():
    entries = [
        _entry(),
        _entry(full_name="=HYPERLINK(1)", position="+Dyrektor", email="@x", unit_names=("-A",)),
    ]
    text = "".join(
        phonebook.csv_chunks([entries[:1], entries[1:]], ["Name", "Position", "D", "P", "E"])
    )
    assert text.startswith("\ufeffName;Position;D;P;E\r\n")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[1] == [
        "Zofia Żółkiewska",
        "Kierownik; regionu, Łódź",
        "Sprzedaż › Region Łódź",
        "'+48 601 200 300",
        "z@pm.example",
    ]
    assert rows[2][:3] == ["'=HYPERLINK(1)", "'+Dyrektor", "'-A"] and rows[2][4] == "'@x"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Polmarket S.A.", "polmarket"),
        ("Transkom Sp. z o.o.", "transkom"),
        ("Biuro Rachunkowe Nowak", "biuro-rachunkowe-nowak"),
        ("Łódzka Spółdzielnia Mleczarska", "lodzka-spoldzielnia-mleczarska"),
        ("Kowalski i Wspólnicy sp.j.", "kowalski-i-wspolnicy"),
        ("«»", "firma"),
    ],
)
def test_file_slug(name, slug):
    assert phonebook.file_slug(name) == slug
