"""Fleet export (rows, CSV, XLSX) and import (reading, checking, applying) as services."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from models import AuditEvent, Employee, Line, LineStatus
from services import fleet as fl
from services.audit import Actor
from services.fleet_io import applying, checking, export, reading, work
from tests.factories import make_customer, make_unit
from tests.fleet_factories import make_employee, make_handset, make_line, make_tariff

ACTOR = Actor("portal", 1, "admin@test")


@pytest.fixture
def company(db):
    c = make_customer(db, name="Polmarket S.A.")
    root = make_unit(db, c, "Polmarket S.A.")
    root.cost_centre = "PM-0000"
    sales = make_unit(db, c, "Sprzedaż", root)
    sales.cost_centre = "PM-1000"
    north = make_unit(db, c, "Północ", sales)
    north.cost_centre = "PM-1100"
    it = make_unit(db, c, "IT", root)
    it.cost_centre = "PM-2000"
    it_north = make_unit(db, c, "Północ", it)  # the same name in another division
    tariff = make_tariff(db, name="Biznes M")
    handset = make_handset(db, name="Galaxy A56")
    anna = make_employee(db, c, north, name="Anna Nowak", email="anna.nowak@polmarket.example")
    evil = make_employee(db, c, it, name="=HYPERLINK(1)", email="x@polmarket.example")
    lines = [
        make_line(
            db,
            c,
            north,
            tariff,
            anna,
            handset,
            msisdn="+48601200300",
            monthly_limit=Decimal("150.50"),
            svc_roaming=True,
        ),
        make_line(db, c, it, tariff, evil, msisdn="+48601200301"),
        make_line(db, c, sales, tariff, msisdn="+48601200302"),
        make_line(db, c, it_north, tariff, msisdn="+48601200303"),
    ]
    other = make_customer(db)
    other_root = make_unit(db, other, "Inna firma")
    foreign = make_line(db, other, other_root, tariff, msisdn="+48601200399")
    db.flush()
    return {
        "customer": c,
        "root": root,
        "sales": sales,
        "north": north,
        "it": it,
        "it_north": it_north,
        "tariff": tariff,
        "anna": anna,
        "lines": lines,
        "foreign": foreign,
        "scope": fl.FleetScope(c.id),
    }


def _csv(db, scope, flt=None) -> tuple[bytes, list[list[str]]]:
    out = io.BytesIO()
    work.render_export(db, scope, flt or fl.FleetFilter(), "csv", out, decimal_comma=True)
    data = out.getvalue()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    return data, rows


def test_csv_export_is_utf8_with_bom_semicolons_and_no_secrets(db, company):
    data, rows = _csv(db, company["scope"])
    assert data.startswith(b"\xef\xbb\xbf")
    assert rows[0][:3] == ["Number", "Number (E.164)", "Status"]
    assert len(rows) == 5  # header + the customer's four lines, not the foreign one
    first = dict(zip(rows[0], rows[1], strict=True))
    # "+" would start a formula in Excel: text that starts so is guarded with an apostrophe
    assert first["Number (E.164)"] == "'+48601200300"
    assert first["Number"] == "'+48 601 200 300"
    assert first["Unit"] == "Polmarket S.A. / Sprzedaż / Północ"
    assert first["Cost centre"] == "PM-1100"
    assert first["Employee"] == "Anna Nowak"
    assert first["Handset"].endswith("Galaxy A56")
    assert first["Roaming"] == "on" and first["International calls"] == "off"
    assert first["Monthly limit (PLN)"] == "150,50"
    assert "ICCID" in rows[0] and not any("PIN" in h or "PUK" in h for h in rows[0])
    assert b"11112222" not in data  # the factories' PUK
    by_number = {r[1]: r for r in rows[1:]}
    assert by_number["'+48601200301"][3] == "'=HYPERLINK(1)"


def test_export_follows_the_filter_the_sort_and_the_scope(db, company):
    _data, rows = _csv(db, company["scope"], fl.FleetFilter(unit_id=company["it"].id))
    assert [r[1].lstrip("'") for r in rows[1:]] == ["+48601200301", "+48601200303"]
    _data, rows = _csv(db, company["scope"], fl.FleetFilter(sort="msisdn", desc=True))
    assert [r[1].lstrip("'") for r in rows[1:]] == [
        "+48601200303",
        "+48601200302",
        "+48601200301",
        "+48601200300",
    ]
    subtree = fl.FleetScope(company["customer"].id, unit_path=company["sales"].path)
    _data, rows = _csv(db, subtree)
    assert [r[1].lstrip("'") for r in rows[1:]] == ["+48601200300", "+48601200302"]


def test_export_reads_in_batches_and_reports_progress(db, company):
    seen = []
    data = export.export_rows(
        db, company["scope"], fl.FleetFilter(), batch=3, progress=lambda d, t: seen.append((d, t))
    )
    assert data.total == 4 and len(list(data.rows)) == 4
    assert seen == [(3, 4), (4, 4)]


def test_xlsx_export_has_real_types_a_frozen_header_and_a_filter(db, company):
    out = io.BytesIO()
    work.render_export(db, company["scope"], fl.FleetFilter(), "xlsx", out, decimal_comma=True)
    ws = load_workbook(io.BytesIO(out.getvalue())).active
    header = [c.value for c in ws[1]]
    row = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:S{ws.max_row}" and ws.max_row == 5
    assert ws.column_dimensions["G"].width > 20
    assert isinstance(row["ICCID"].value, str) and len(row["ICCID"].value) == 19
    assert isinstance(row["IMSI"].value, str)
    assert row["Number"].value == "+48 601 200 300"  # text, not a formula
    assert row["Roaming"].value is True and row["Mobile data"].value is True
    assert row["Monthly limit (PLN)"].value == pytest.approx(150.5)
    assert row["Monthly limit (PLN)"].number_format == "#,##0.00"
    names = [r[3].value for r in ws.iter_rows(min_row=2)]
    formula_cell = next(r[3] for r in ws.iter_rows(min_row=2) if r[3].value == "=HYPERLINK(1)")
    assert formula_cell.data_type == "s" and "Anna Nowak" in names


def test_file_name_is_plain_ascii():
    from datetime import date

    assert export.file_name("flota", "Polmarket S.A.", date(2026, 11, 23), "csv") == (
        "flota-polmarket-2026-11-23.csv"
    )
    assert export.file_name(
        "fleet", "Łódzka Spółdzielnia Sp. z o.o.", date(2026, 1, 2), "xlsx"
    ) == ("fleet-lodzka-spoldzielnia-2026-01-02.xlsx")


# --- reading -----------------------------------------------------------------------------


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_reads_csv_in_windows_1250_with_commas_and_polish_headers():
    data = "NUMER,Jednostka,MPK\r\n601200300,Sprzedaż / Północ,\r\n".encode("cp1250")
    sheet = reading.read_sheet(data, reading.detect_format("plik.csv", data))
    assert sheet.columns == {"number": "NUMER", "unit": "Jednostka", "cost_centre": "MPK"}
    assert sheet.rows == [
        (2, {"number": "601200300", "unit": "Sprzedaż / Północ", "cost_centre": ""})
    ]


def test_reads_xlsx_numbers_stored_as_numbers_and_ignores_other_columns():
    data = _xlsx([["Phone number", "Tariff", "E-MAIL"], [48601200300, "x", "a@b.pl"], [None, None]])
    sheet = reading.read_sheet(data, reading.detect_format("f.xlsx", data))
    assert sheet.ignored == ["Tariff"]
    assert sheet.rows == [(2, {"number": "48601200300", "email": "a@b.pl"})]


def test_the_exports_headers_in_both_languages_are_import_headers(rt):
    import portal

    with portal.create_app(rt).test_request_context():
        for lang in ("pl", "en"):
            with force_locale(lang):
                known = reading.header_map()
                for key, fld in (
                    ("number", "number"),
                    ("e164", "number"),
                    ("unit", "unit"),
                    ("cost_centre", "cost_centre"),
                    ("email", "email"),
                    ("employee", "name"),
                    ("position", "position"),
                ):
                    label = str(next(c.label for c in export.COLUMNS if c.key == key))
                    assert known.get(reading._norm(label)) == fld, (lang, label)


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("a.pdf", b"%PDF-1.4", "wrong_type"),
        ("a.xls", b"\xd0\xcf\x11\xe0rest", "old_excel"),
        ("a.csv", b"", "empty"),
        ("a.csv", b"   \r\n", "empty"),
        ("a.csv", bytes(range(256)) * 4, "unreadable"),
        ("a.xlsx", b"just text", "unreadable"),
        ("a.csv", b"x" * (reading.MAX_BYTES + 1), "too_big"),
        ("", b"a", "no_file"),
    ],
)
def test_files_that_cannot_be_imported_say_why(name, data, code):
    with pytest.raises(reading.ImportFileError) as err:
        reading.detect_format(name, data)
    assert err.value.code == code and err.value.text


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"Unit;E-mail\r\nA;b@c.pl\r\n", "no_number_column"),
        (b"Number;Tariff\r\n601200300;X\r\n", "no_change_columns"),
        (b"Number;Unit\r\n", "no_rows"),
        (b"PK\x03\x04garbage", "unreadable"),
    ],
)
def test_sheets_without_what_is_needed_say_why(data, code):
    with pytest.raises(reading.ImportFileError) as err:
        reading.read_sheet(data, "xlsx" if data.startswith(b"PK") else "csv")
    assert err.value.code == code


# --- checking and applying ----------------------------------------------------------------


def _sheet(text: str) -> reading.Sheet:
    return reading.read_sheet(text.encode("utf-8"), "csv")


def _codes(plan) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.code) for e in plan.errors]


def test_check_reports_every_kind_of_row_error(db, company):
    sheet = _sheet(
        "Number;Unit;MPK;E-mail;Name\n"
        "601200300;;;;\n"  # 2: nothing to change
        "abc;;;;\n"  # 3
        "+48601200399;Sprzedaż;;;\n"  # 4: another customer's number
        "+48 601 200 300;Nie ma;;;\n"  # 5: duplicate number, unknown unit
        "601200301;Północ;;;\n"  # 6: two units named Północ
        "601200302;Sprzedaż;PM-2000;;\n"  # 7: the unit and the cost centre disagree
        "601200303;;PM-9999;zły@;\n"  # 8: unknown cost centre, bad e-mail
        "601200303;;;;\n"  # 9: duplicate
        ";Sprzedaż;;;\n"  # 10: no number
        "601200302;;;new@polmarket.example;\n"  # 11: duplicate + new employee without a name
        "+48601200303;;;;Jan Kowalski\n"  # 12: duplicate + a name without an e-mail
    )
    plan = checking.check(db, company["scope"], sheet)
    assert _codes(plan) == [
        (3, "number", "number_invalid"),
        (4, "number", "number_unknown"),
        (5, "number", "number_duplicate"),
        (5, "unit", "unit_unknown"),
        (6, "unit", "unit_ambiguous"),
        (7, "cost_centre", "unit_cost_centre_mismatch"),
        (8, "cost_centre", "cost_centre_unknown"),
        (8, "email", "email_invalid"),
        (9, "number", "number_duplicate"),
        (10, "number", "number_missing"),
        (11, "number", "number_duplicate"),
        (11, "name", "name_missing"),
        (12, "number", "number_duplicate"),
        (12, "email", "email_missing"),
    ]
    assert plan.unchanged == 1 and plan.error_rows == 10
    assert plan.errors[0].header == "Number" and plan.errors[4].params == {"count": 2}
    assert checking.error_text("number_duplicate", {"first_row": 2}).endswith("row 2.")


def test_subtree_admin_gets_out_of_scope_errors(db, company):
    scope = fl.FleetScope(company["customer"].id, unit_path=company["sales"].path)
    plan = checking.check(
        db,
        scope,
        _sheet("Number;Unit;MPK\n601200301;Sprzedaż;\n601200300;IT;\n601200302;;PM-2000\n"),
    )
    assert _codes(plan) == [
        (2, "number", "number_out_of_scope"),
        (3, "unit", "unit_out_of_scope"),
        (4, "cost_centre", "cost_centre_out_of_scope"),
    ]
    # "Północ" is ambiguous in the company but unique in the subtree
    plan = checking.check(db, scope, _sheet("Number;Unit\n601200302;Północ\n"))
    assert not plan.errors and plan.changes[0].unit_to == company["north"].id


def test_plan_lists_moves_assignments_and_new_employees(db, company):
    sheet = _sheet(
        "Numer;Jednostka;MPK;E-mail;Pracownik;Stanowisko\n"
        "601200300;IT / Północ;PM-2100x;;;\n".replace("PM-2100x", "")
        + "601200301;;PM-1000;-;;\n"
        + "601200302;Polmarket S.A. / IT;PM-2000;ANNA.NOWAK@polmarket.example;;\n"
        + "601200303;;;jan@polmarket.example;Jan Kowalski;Kierowca\n"
    )
    plan = checking.check(db, company["scope"], sheet)
    assert not plan.errors
    by_row = {c.row: c for c in plan.changes}
    assert by_row[2].unit_to == company["it_north"].id and not by_row[2].employee_set
    assert by_row[3].unit_to == company["sales"].id and by_row[3].employee_set
    assert by_row[3].employee_to is None
    assert by_row[4].employee_to == company["anna"].id
    assert by_row[5].new_employee == "jan@polmarket.example"
    assert plan.new_employees["jan@polmarket.example"].unit_id == company["it_north"].id
    content = work.report(db, company["scope"], sheet, plan)
    shown = {c["row"]: c for c in content["changes"]}
    assert shown[2]["unit"] == [
        "Polmarket S.A. / Sprzedaż / Północ",
        "Polmarket S.A. / IT / Północ",
    ]
    assert shown[5]["employee"] == [None, "Jan Kowalski <jan@polmarket.example>", True]


def test_apply_changes_lines_creates_employees_and_audits_each_line(db, company):
    sheet = _sheet(
        "Number;Unit;E-mail;Name\n"
        "601200300;IT;;\n"
        "601200301;;-;\n"
        "601200302;;jan@polmarket.example;Jan Kowalski\n"
    )
    plan = checking.check(db, company["scope"], sheet, lock=True)
    result = applying.apply(db, ACTOR, company["scope"], plan)
    assert result == {
        "changed_lines": 3,
        "moved_lines": 1,
        "assigned_lines": 1,
        "unassigned_lines": 1,
        "created_employees": 1,
    }
    l0, l1, l2, _l3 = (db.get(Line, ln.id) for ln in company["lines"])
    assert (l0.unit_id, l0.unit_path) == (company["it"].id, company["it"].path)
    assert l1.employee_id is None
    jan = db.scalar(select(Employee).where(Employee.email == "jan@polmarket.example"))
    assert l2.employee_id == jan.id and jan.unit_id == company["sales"].id
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert sorted(actions) == sorted(
        ["employee.created", "line.moved", "line.employee_unassigned", "line.employee_assigned"]
    )
    # the same file again changes nothing
    again = checking.check(db, company["scope"], sheet, lock=True)
    assert not again.errors and not again.changes and again.unchanged == 3


def test_a_file_with_one_bad_row_cannot_be_applied(db, company):
    plan = checking.check(
        db, company["scope"], _sheet("Number;Unit\n601200300;IT\n601200301;Nie ma\n")
    )
    assert plan.errors and plan.changes
    with pytest.raises(applying.ServiceError):
        applying.apply(db, ACTOR, company["scope"], plan)
    assert db.get(Line, company["lines"][0].id).unit_id == company["north"].id
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_error_report_is_csv_for_excel(db, company):
    sheet = _sheet("Number;Unit\n=1+1;\n601200300;@SUM(A1)\n")
    plan = checking.check(db, company["scope"], sheet)
    data = work.error_report_csv(work.report(db, company["scope"], sheet, plan))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert data.startswith(b"\xef\xbb\xbf")
    assert rows[0] == ["Row", "Column", "Value", "Problem"]
    assert rows[1][:3] == ["2", "Number", "'=1+1"] and rows[2][2] == "'@SUM(A1)"


def test_terminated_lines_are_exported_only_when_asked(db, company):
    company["lines"][2].status = LineStatus.terminated
    db.flush()
    assert len(_csv(db, company["scope"])[1]) == 4
    assert len(_csv(db, company["scope"], fl.FleetFilter(status="any"))[1]) == 5


def test_numbers_are_found_however_they_are_written(db, company):
    sheet = _sheet(
        "Number;Unit\n0048 601 200 300;IT\n48601200301;IT\n601-200-302;IT\n+48 (601) 200 303;IT\n"
    )
    plan = checking.check(db, company["scope"], sheet)
    assert not plan.errors
    moved = sorted(c.msisdn for c in plan.changes)
    assert moved == ["+48601200300", "+48601200302", "+48601200303"]
    assert plan.unchanged == 1  # +48601200301 is in IT already


def test_known_employees_are_matched_by_e_mail_in_any_letter_case(db, company):
    plan = checking.check(
        db, company["scope"], _sheet("Number;E-mail\n601200302;Anna.Nowak@POLMARKET.example\n")
    )
    assert not plan.errors and plan.changes[0].employee_to == company["anna"].id
    assert not plan.new_employees
