"""The phone book as portal users meet it: search, hiding, exports, tenancy, hostile input."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from models import AuditEvent, LineStatus, PortalRole
from portal.phonebook import views
from tests.conftest import csrf_token, login_portal
from tests.factories import PASSWORD, make_customer, make_portal_user, make_unit
from tests.fleet_factories import make_employee, make_line, make_tariff


@pytest.fixture
def w(db):
    """Polmarket: root > Sprzedaż > Region Łódź, root > IT; users of every kind; and a rival."""
    c = make_customer(db, name="Polmarket S.A.")
    root = make_unit(db, c, "Polmarket S.A.")
    sales = make_unit(db, c, "Sprzedaż", root)
    lodz = make_unit(db, c, "Region Łódź", sales)
    it = make_unit(db, c, "IT", root)
    tariff = make_tariff(db)
    jan = make_employee(db, c, lodz, "Jan Kowalski", position="Przedstawiciel handlowy")
    zofia = make_employee(
        db, c, it, "Zofia Żółkiewska", position="Programistka", email="zofia@pm.example"
    )
    greta = make_employee(db, c, it, "Greta Ukryta", position="Analityk", phonebook_hidden=True)
    make_line(db, c, lodz, tariff, jan, msisdn="+48601200300")
    make_line(db, c, it, tariff, zofia, msisdn="+48502111222")
    make_line(db, c, it, tariff, zofia, msisdn="+48777000111", status=LineStatus.terminated)
    make_line(db, c, it, tariff, greta, msisdn="+48666555444")
    rival = make_customer(db, name="Konkurencja Sp. z o.o.")
    rival_unit = make_unit(db, rival, "Sprzedaż")
    stranger = make_employee(db, rival, rival_unit, "Zenon Obcy", position="Programista")
    make_line(db, rival, rival_unit, tariff, stranger, msisdn="+48601200399")
    return {
        "customer": c,
        "sales": sales,
        "lodz": lodz,
        "it": it,
        "rival_unit": rival_unit,
        "jan": jan,
        "zofia": zofia,
        "greta": greta,
        "stranger": stranger,
        "admin": make_portal_user(db, c),
        "it_admin": make_portal_user(db, c, scope_unit=it),
        "viewer": make_portal_user(db, c, role=PortalRole.viewer),
        "jan_user": make_portal_user(db, c, role=PortalRole.employee, employee_id=jan.id),
        "greta_user": make_portal_user(db, c, role=PortalRole.employee, employee_id=greta.id),
        "rival_admin": make_portal_user(db, rival),
    }


def sign_in(client, user):
    client.get("/lang/en")
    assert login_portal(client, user.email, PASSWORD).status_code == 302


def page(client, url="/phonebook/", status=200):
    r = client.get(url)
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    return r.get_data(as_text=True)


def listed(html: str) -> list[str]:
    return re.findall(r'<span class="fw-semibold">([^<]+)</span>', html)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("kowalski", ["Jan Kowalski"]),
        ("ZOLKIEWSKA", ["Zofia Żółkiewska"]),
        ("programistka", ["Zofia Żółkiewska"]),
        ("łódź", ["Jan Kowalski"]),
        ("it", ["Zofia Żółkiewska"]),
        ("+48 601 200 300", ["Jan Kowalski"]),
        ("601200", ["Jan Kowalski"]),
        ("777 000 111", []),
        ("601200399", []),
        ("obcy", []),
    ],
)
def test_search_by_each_criterion(client, w, q, expected):
    sign_in(client, w["viewer"])
    html = page(client, f"/phonebook/?q={q.replace('+', '%2B')}")
    assert listed(html) == expected


def test_entry_shows_formatted_numbers_as_links_and_path(client, w):
    sign_in(client, w["viewer"])
    html = page(client)
    assert listed(html) == ["Jan Kowalski", "Zofia Żółkiewska"]
    assert "3 entries" not in html and "2 entries" in html
    assert 'href="tel:+48502111222"' in html and "+48 502 111 222" in html
    assert "+48 777" not in html  # the terminated line
    assert 'href="mailto:zofia@pm.example"' in html
    assert "Sprzedaż › Region Łódź" in html and "Polmarket S.A. ›" not in html


def test_everyone_of_the_customer_reads_the_whole_company(client, w):
    for user in ("jan_user", "it_admin", "admin", "viewer"):
        c = client.application.test_client()
        sign_in(c, w[user])
        html = page(c)
        assert "Jan Kowalski" in html and "Zofia Żółkiewska" in html, user
        assert "Zenon Obcy" not in html and "Greta Ukryta" not in html, user


def test_unit_filter(client, w):
    sign_in(client, w["it_admin"])
    assert listed(page(client, f"/phonebook/?unit={w['sales'].id}")) == ["Jan Kowalski"]
    html = page(client, f"/phonebook/?unit={w['it'].id}")
    assert listed(html) == ["Zofia Żółkiewska"]
    assert f'<option selected value="{w["it"].id}">IT</option>' in html
    assert "Sprzedaż › Region Łódź</option>" in html  # the select names units with paths
    assert "Konkurencja" not in html
    page(client, f"/phonebook/?unit={w['rival_unit'].id}", 404)
    page(client, f"/phonebook/export.vcf?unit={w['rival_unit'].id}", 404)
    assert len(listed(page(client, "/phonebook/?unit=abc"))) == 2  # garbage: all units
    assert len(listed(page(client, "/phonebook/?unit=" + "9" * 40))) == 2


def test_hidden_entry_is_shown_only_to_its_owner(client, w):
    sign_in(client, w["greta_user"])
    html = page(client)
    assert "Greta Ukryta" in html and ">hidden</span>" in html
    assert 'id="own-hidden" name="hidden" value="y" checked' in html
    vcf = client.get("/phonebook/export.vcf").get_data(as_text=True)
    assert "FN:Greta Ukryta" in vcf


def test_employee_hides_and_shows_own_entry(client, db, w):
    sign_in(client, w["jan_user"])
    html = page(client, "/phonebook/?q=kowal")
    assert 'id="own-hidden" name="hidden" value="y">' in html  # switch off
    url = f"/phonebook/{w['jan'].id}/visibility"
    r = client.post(
        url, data={"csrf_token": csrf_token(html), "hidden": "y", "next": "/phonebook/?q=kowal"}
    )
    assert r.status_code == 302 and r.headers["Location"] == "/phonebook/?q=kowal"
    html = page(client, "/phonebook/?q=kowal")
    assert "Your entry is now hidden" in html and ">hidden</span>" in html
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "phonebook.entry_hidden"))
    assert event.object_id == w["jan"].id and event.actor_id == w["jan_user"].id

    other = client.application.test_client()
    sign_in(other, w["viewer"])
    assert "Jan Kowalski" not in page(other)
    assert "601 200 300" not in page(other, "/phonebook/?q=601200300")
    assert "Jan Kowalski" not in other.get("/phonebook/export.csv").get_data(as_text=True)

    client.post(url, data={"csrf_token": csrf_token(html), "next": "/phonebook/"})
    assert "Jan Kowalski" in page(other)


def test_after_a_change_only_pages_of_this_site_are_followed(client, w):
    sign_in(client, w["jan_user"])
    token = csrf_token(page(client))
    for target in ("https://evil.example/phonebook/", "//evil.example/", "javascript:alert(1)"):
        r = client.post(
            f"/phonebook/{w['jan'].id}/visibility", data={"csrf_token": token, "next": target}
        )
        assert r.status_code == 302 and r.headers["Location"] == "/phonebook/", target


def test_hiding_needs_csrf(client, db, w):
    sign_in(client, w["jan_user"])
    r = client.post(f"/phonebook/{w['jan'].id}/visibility", data={"hidden": "y"})
    assert r.status_code == 400
    db.refresh(w["jan"])
    assert w["jan"].phonebook_hidden is False


def test_admin_hides_and_shows_another_entry(client, db, w):
    sign_in(client, w["admin"])
    html = page(client, "/phonebook/?q=kowalski")
    assert f'action="/phonebook/{w["jan"].id}/visibility"' in html
    r = client.post(
        f"/phonebook/{w['jan'].id}/visibility",
        data={"csrf_token": csrf_token(html), "hidden": "y"},
        follow_redirects=True,
    )
    assert "The entry of Jan Kowalski is now hidden" in r.get_data(as_text=True)
    db.refresh(w["jan"])
    assert w["jan"].phonebook_hidden is True
    assert listed(page(client, "/phonebook/?q=kowalski")) == []
    # an administrator may list the hidden entries, to show them again
    html = page(client, "/phonebook/?q=kowalski&hidden=y")
    assert listed(html) == ["Jan Kowalski"] and ">hidden</span>" in html
    client.post(f"/phonebook/{w['jan'].id}/visibility", data={"csrf_token": csrf_token(html)})
    db.refresh(w["jan"])
    assert w["jan"].phonebook_hidden is False


def test_subtree_admin_manages_only_own_subtree(client, db, w):
    sign_in(client, w["it_admin"])
    html = page(client)
    token = csrf_token(html)
    assert f'action="/phonebook/{w["zofia"].id}/visibility"' in html
    assert f'action="/phonebook/{w["jan"].id}/visibility"' not in html  # sees, cannot change
    r = client.post(
        f"/phonebook/{w['jan'].id}/visibility", data={"csrf_token": token, "hidden": "y"}
    )
    assert r.status_code == 404
    r = client.post(
        f"/phonebook/{w['zofia'].id}/visibility", data={"csrf_token": token, "hidden": "y"}
    )
    assert r.status_code == 302
    db.refresh(w["jan"])
    db.refresh(w["zofia"])
    assert w["jan"].phonebook_hidden is False and w["zofia"].phonebook_hidden is True
    # hidden entries they may list: within the subtree only
    assert listed(page(client, "/phonebook/?hidden=y")) == [
        "Greta Ukryta",
        "Jan Kowalski",
        "Zofia Żółkiewska",
    ]


def test_subtree_admin_does_not_see_hidden_entries_outside(client, db, w):
    w["jan"].phonebook_hidden = True
    db.flush()
    sign_in(client, w["it_admin"])
    assert listed(page(client, "/phonebook/?hidden=y")) == ["Greta Ukryta", "Zofia Żółkiewska"]


def test_who_may_not_change_an_entry(client, db, w):
    for user, status in (("jan_user", 403), ("viewer", 403)):
        c = client.application.test_client()
        sign_in(c, w[user])
        token = csrf_token(page(c))
        r = c.post(f"/phonebook/{w['zofia'].id}/visibility", data={"csrf_token": token})
        assert r.status_code == status, user
        # the option to list hidden entries is for administrators only
        assert "Greta Ukryta" not in page(c, "/phonebook/?hidden=y")
    for user in ("admin", "jan_user", "it_admin"):
        c = client.application.test_client()
        sign_in(c, w[user])
        token = csrf_token(page(c))
        for employee_id in (w["stranger"].id, 10**9):
            r = c.post(f"/phonebook/{employee_id}/visibility", data={"csrf_token": token})
            assert r.status_code == 404, user
    db.refresh(w["stranger"])
    db.refresh(w["zofia"])
    assert w["stranger"].phonebook_hidden is False and w["zofia"].phonebook_hidden is False


def test_rival_customer_sees_only_its_own_people(client, w):
    sign_in(client, w["rival_admin"])
    html = page(client)
    assert listed(html) == ["Zenon Obcy"]
    for q in ("kowalski", "601200300", "sprzedaz"):
        assert "Jan Kowalski" not in page(client, f"/phonebook/?q={q}")
    assert "Kowalski" not in client.get("/phonebook/export.vcf").get_data(as_text=True)
    assert "Kowalski" not in client.get("/phonebook/export.csv").get_data(as_text=True)


def test_vcard_export(client, w):
    sign_in(client, w["viewer"])
    r = client.get("/phonebook/export.vcf")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/vcard; charset=utf-8"
    assert r.headers["Content-Disposition"] == (
        'attachment; filename="ksiazka-telefoniczna-polmarket.vcf"'
    )
    body = r.get_data().decode("utf-8")
    assert body.count("BEGIN:VCARD\r\n") == 2 and body.endswith("END:VCARD\r\n")
    assert "\n" not in body.replace("\r\n", "")
    assert "N:Żółkiewska;Zofia;;;\r\n" in body
    assert "ORG:Polmarket S.A.;IT\r\n" in body
    assert "TEL;TYPE=WORK,CELL,VOICE:+48 502 111 222\r\n" in body
    assert "777" not in body and "Greta" not in body
    assert "Kowalski" not in client.get("/phonebook/export.vcf?q=zofia").get_data(as_text=True)


def test_csv_export(client, db, w):
    w["zofia"].position = "=SUMA(A1)"
    db.flush()
    sign_in(client, w["viewer"])
    r = client.get(f"/phonebook/export.csv?unit={w['it'].id}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="ksiazka-telefoniczna-polmarket.csv"' in r.headers["Content-Disposition"]
    raw = r.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["Full name", "Position", "Department", "Phone numbers", "E-mail"],
        ["Zofia Żółkiewska", "'=SUMA(A1)", "IT", "'+48 502 111 222", "zofia@pm.example"],
    ]


def test_export_streams_the_whole_company_in_batches(client, db, w, monkeypatch):
    for i in range(7):
        make_employee(db, w["customer"], w["it"], f"Osoba {i}", position="Tester")
    monkeypatch.setattr(views, "EXPORT_BATCH", 3)
    sign_in(client, w["viewer"])
    r = client.get("/phonebook/export.csv")
    assert r.is_streamed
    rows = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 + 9 and len({row[0] for row in rows[1:]}) == 9


def test_paging_without_javascript_and_with_htmx(client, db, w):
    for i in range(120):
        make_employee(db, w["customer"], w["it"], f"Tester {i:03d}", position="Tester")
    sign_in(client, w["viewer"])
    html = page(client, "/phonebook/?q=tester")
    assert "120 entries" in html and len(listed(html)) == 100
    more = re.search(r'id="pb-more">\s*<a class="btn btn-outline-primary" href="([^"]+)"', html)
    second = page(client, more.group(1).replace("&amp;", "&"))
    assert len(listed(second)) == 20 and "120 entries" in second
    assert set(listed(html)).isdisjoint(listed(second))
    rows = client.get(
        more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true", "HX-Target": "pb-more"}
    ).get_data(as_text=True)
    assert "<html" not in rows and len(listed(rows)) == 20 and 'id="pb-more"' not in rows


def test_live_search_answers_the_results_block(client, w):
    sign_in(client, w["viewer"])
    headers = {"HX-Request": "true", "HX-Target": "pb-results"}
    html = client.get("/phonebook/?q=zofia", headers=headers).get_data(as_text=True)
    assert "<html" not in html and listed(html) == ["Zofia Żółkiewska"]
    assert "/phonebook/export.vcf?q=zofia" in html
    assert re.search(r'id="pb-status"[^>]*hx-swap-oob="true">\s*1 entry\s*</div>', html)


@pytest.mark.parametrize(
    "q",
    [
        "%",
        "_",
        "%_%",
        "\\",
        "'; DROP TABLE employee; --",
        "<script>alert(1)</script>",
        "ż" * 50,
    ],
)
def test_odd_queries_are_safe(client, w, q):
    sign_in(client, w["viewer"])
    html = page(client, f"/phonebook/?q={q}")
    assert listed(html) == [] and "<script>alert(1)</script>" not in html
    assert client.get(f"/phonebook/export.vcf?q={q}").status_code == 200


def test_control_characters_are_ignored(client, w):
    sign_in(client, w["viewer"])
    assert listed(page(client, "/phonebook/?q=%00")) == ["Jan Kowalski", "Zofia Żółkiewska"]
    assert listed(page(client, "/phonebook/?q=zo%00fia%0D%0A")) == ["Zofia Żółkiewska"]
    assert client.get("/phonebook/export.csv?q=%00").status_code == 200


def test_too_long_query_is_refused_with_a_message(client, w):
    sign_in(client, w["viewer"])
    html = page(client, "/phonebook/?q=" + "a" * 101, 400)
    assert "Enter at most 100 characters." in html and listed(html) == []
    assert client.get("/phonebook/export.csv?q=" + "a" * 5000).status_code == 400
    more = client.get(
        "/phonebook/?after=x&q=" + "a" * 101, headers={"HX-Request": "true", "HX-Target": "pb-more"}
    )
    assert more.status_code == 200 and "<li" not in more.get_data(as_text=True)
    partial = client.get(
        "/phonebook/?q=" + "a" * 101, headers={"HX-Request": "true", "HX-Target": "pb-results"}
    ).get_data(as_text=True)
    assert "Enter at most 100 characters." in partial


@pytest.mark.parametrize("after", ["garbage", "W10", "%00", "x" * 3000])
def test_bad_cursor_shows_the_first_page(client, w, after):
    sign_in(client, w["viewer"])
    assert listed(page(client, f"/phonebook/?after={after}")) == [
        "Jan Kowalski",
        "Zofia Żółkiewska",
    ]


def test_signed_out_users_go_to_sign_in(client, w):
    for url in ("/phonebook/", "/phonebook/export.vcf", "/phonebook/export.csv"):
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"]
