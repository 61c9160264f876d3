"""Usage and SIM reports against independent sums over the generated usage rows."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from services import usage
from services.fleet_query import FleetScope
from services.reports import documents, period, sim_report, usage_report
from services.reports.period import Period, PeriodError
from tests.reports_factories import independent_sum, usage_fleet

NOV = Period(date(2026, 11, 1), date(2026, 12, 1))


@pytest.fixture
def fleet(db):
    return usage_fleet(db)


def _check(figures, expected):
    assert figures.voice_seconds == expected["voice"]
    assert figures.sms == expected["sms"]
    assert figures.mms == expected["mms"]
    assert figures.data_bytes == expected["data"]
    assert figures.charge == expected["charge"]
    for zone in ("eu", "europe", "world"):
        assert figures.roaming.get(zone, Decimal("0.00")) == expected[zone]


def test_by_line_equals_independent_sums(db, fleet):
    scope = FleetScope(fleet["customer"].id)
    report = usage_report.build(db, scope, NOV, "line")
    by_id = {g.key: g for g in report.groups}
    assert set(by_id) == {line.id for line in fleet["lines"][:-1]}
    for line in fleet["lines"][:-1]:

        def of_line(row, line=line):
            return row[0] is line

        expected = independent_sum(fleet["rows"], NOV.start, NOV.end, of_line)
        _check(by_id[line.id].figures, expected)
        oct_ = independent_sum(fleet["rows"], date(2026, 10, 1), NOV.start, of_line)
        assert by_id[line.id].previous == oct_["charge"]
    _check(report.total, independent_sum(fleet["rows"], NOV.start, NOV.end))
    charges = [g.figures.charge for g in report.groups]
    assert charges == sorted(charges, reverse=True)
    assert [g.key for g in report.top] == [g.key for g in report.groups][: len(report.top)]


def test_unit_subtree_totals(db, fleet):
    scope = FleetScope(fleet["customer"].id)
    report = usage_report.build(db, scope, NOV, "unit")
    by_unit = {g.key: g for g in report.groups}
    lines = fleet["lines"]
    sales_lines = {lines[0].id, lines[1].id, lines[2].id}
    expected_sales = independent_sum(
        fleet["rows"], NOV.start, NOV.end, lambda r: r[0].id in sales_lines
    )
    _check(by_unit[fleet["sales"].id].figures, expected_sales)
    north = independent_sum(
        fleet["rows"], NOV.start, NOV.end, lambda r: r[0] in (lines[1], lines[2])
    )
    _check(by_unit[fleet["north"].id].figures, north)
    _check(report.total, independent_sum(fleet["rows"], NOV.start, NOV.end))
    oct_ = independent_sum(fleet["rows"], date(2026, 10, 1), NOV.start)
    assert report.previous_total == oct_["charge"]
    assert by_unit[fleet["root"].id].previous == oct_["charge"]
    _check(by_unit[fleet["root"].id].figures, independent_sum(fleet["rows"], NOV.start, NOV.end))
    # The same figure as the usage API's subtree totals.
    api = usage_report.subtree_figures(db, scope, NOV)[fleet["north"].id]
    from services.usage import subtree_totals

    api_total = subtree_totals(db, scope.customer_id, fleet["north"].path, NOV.start, NOV.end)
    assert api_total.charge == api.charge


def test_subtree_scope_sees_only_its_lines(db, fleet):
    scope = FleetScope(fleet["customer"].id, unit_path=fleet["sales"].path)
    report = usage_report.build(db, scope, NOV, "unit")
    assert {g.key for g in report.groups} == {fleet["sales"].id, fleet["north"].id}
    line_report = usage_report.build(db, scope, NOV, "line")
    assert {g.key for g in line_report.groups} <= {line.id for line in fleet["lines"][:3]}


def test_by_tariff_and_employee(db, fleet):
    scope = FleetScope(fleet["customer"].id)
    _basic, pro = fleet["tariffs"]
    rep = usage_report.build(db, scope, NOV, "tariff")
    by = {g.key: g for g in rep.groups}
    _check(
        by[pro.id].figures,
        independent_sum(fleet["rows"], NOV.start, NOV.end, lambda r: r[0].tariff_id == pro.id),
    )
    rep = usage_report.build(db, scope, NOV, "employee")
    by = {g.key: g for g in rep.groups}
    _check(
        by[None].figures,
        independent_sum(fleet["rows"], NOV.start, NOV.end, lambda r: r[0].employee_id is None),
    )


RANGES = [
    (date(2026, 9, 20), date(2026, 11, 10)),  # October whole, edges in September and November
    (date(2026, 9, 1), date(2026, 11, 1)),  # two whole months as a range of days
    (date(2026, 10, 1), date(2026, 11, 10)),  # a whole month and the start of the next
    (date(2026, 9, 20), date(2026, 11, 1)),  # the end of a month and a whole month
    (date(2026, 10, 20), date(2026, 11, 10)),  # across a month end, no whole month
    (date(2026, 11, 5), date(2026, 11, 15)),  # inside one month
    (date(2026, 8, 25), date(2026, 12, 5)),  # wider than the usage
]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_ranges_of_whole_and_partial_months_equal_independent_sums(db, fleet, start, end):
    span = Period(start, end)
    before = span.previous()
    scope = FleetScope(fleet["customer"].id)
    rows, lines = fleet["rows"], fleet["lines"]
    report = usage_report.build(db, scope, span, "line")
    by_id = {g.key: g for g in report.groups}
    for line in lines[:-1]:

        def of_line(row, line=line):
            return row[0] is line

        if line.id in by_id:
            _check(by_id[line.id].figures, independent_sum(rows, start, end, of_line))
            assert (
                by_id[line.id].previous
                == independent_sum(rows, before.start, before.end, of_line)["charge"]
            )
    _check(report.total, independent_sum(rows, start, end))
    assert report.previous_total == independent_sum(rows, before.start, before.end)["charge"]
    expected_top = sorted(
        (
            (-independent_sum(rows, start, end, lambda r, ln=ln: r[0] is ln)["charge"], ln.id)
            for ln in lines[:-1]
        ),
    )
    units = usage_report.build(db, scope, span, "unit")
    assert [g.key for g in units.top] == [line_id for _c, line_id in expected_top]
    by_unit = {g.key: g for g in units.groups}
    sales = {lines[0].id, lines[1].id, lines[2].id}
    _check(
        by_unit[fleet["sales"].id].figures,
        independent_sum(rows, start, end, lambda r: r[0].id in sales),
    )
    assert (
        by_unit[fleet["sales"].id].previous
        == (independent_sum(rows, before.start, before.end, lambda r: r[0].id in sales)["charge"])
    )
    _check(by_unit[fleet["root"].id].figures, independent_sum(rows, start, end))
    _check(units.total, independent_sum(rows, start, end))
    north = FleetScope(scope.customer_id, unit_path=fleet["north"].path)
    north_lines = {lines[1].id, lines[2].id}
    _check(
        usage_report.build(db, north, span, "tariff").total,
        independent_sum(rows, start, end, lambda r: r[0].id in north_lines),
    )
    # The usage API reads the same rows.
    totals = usage.period_totals(db, [ln.id for ln in lines], start, end)
    for line in lines:
        expected = independent_sum(rows, start, end, lambda r, ln=line: r[0] is ln)
        assert totals[line.id].charge == expected["charge"]
        assert totals[line.id].data_bytes == expected["data"]
    subtree = usage.subtree_totals(db, scope.customer_id, fleet["sales"].path, start, end)
    assert subtree.charge == independent_sum(rows, start, end, lambda r: r[0].id in sales)["charge"]


def test_a_period_splits_into_whole_months_and_edge_days():
    split = usage.split
    assert split(date(2026, 11, 1), date(2026, 12, 1)) == (
        (date(2026, 11, 1), date(2026, 12, 1)),
        [],
    )
    assert split(date(2026, 9, 20), date(2026, 11, 10)) == (
        (date(2026, 10, 1), date(2026, 11, 1)),
        [(date(2026, 9, 20), date(2026, 10, 1)), (date(2026, 11, 1), date(2026, 11, 10))],
    )
    assert split(date(2026, 10, 20), date(2026, 11, 10)) == (
        None,
        [(date(2026, 10, 20), date(2026, 11, 10))],
    )
    assert split(date(2026, 1, 31), date(2026, 3, 1)) == (
        (date(2026, 2, 1), date(2026, 3, 1)),
        [(date(2026, 1, 31), date(2026, 2, 1))],
    )
    assert split(date(2026, 12, 1), date(2027, 1, 1)) == ((date(2026, 12, 1), date(2027, 1, 1)), [])
    assert split(date(2026, 5, 5), date(2026, 5, 5)) == (None, [])


def test_month_over_month_within_a_subtree(db, fleet):
    north = FleetScope(fleet["customer"].id, unit_path=fleet["north"].path)
    lines = {fleet["lines"][1].id, fleet["lines"][2].id}
    months = dict(usage_report.build(db, north, NOV, "unit").months)
    for first, end in ((date(2026, 9, 1), date(2026, 10, 1)), (date(2026, 11, 1), NOV.end)):
        assert (
            months[first]
            == (independent_sum(fleet["rows"], first, end, lambda r: r[0].id in lines)["charge"])
        )


@pytest.mark.parametrize("group_by", ["line", "unit", "tariff"])
@pytest.mark.parametrize(
    "span",
    [
        NOV,
        Period(date(2026, 12, 1), date(2027, 1, 1)),
        Period(date(2026, 10, 5), date(2026, 11, 20)),
    ],
)
def test_month_over_month(db, fleet, group_by, span):
    report = usage_report.build(db, FleetScope(fleet["customer"].id), span, group_by)
    assert len(report.months) == 6
    assert report.months[-1][0] == span.last_day.replace(day=1)
    for first, charge in report.months:
        end = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        assert charge == independent_sum(fleet["rows"], first, end)["charge"], first


def test_period_input():
    assert period.month("2026-02") == Period(date(2026, 2, 1), date(2026, 3, 1))
    assert period.day_range("2026-01-05", "2026-01-05").days == 1
    for bad, code in (
        (("2026-03-01", "2026-02-01"), "end_before_start"),
        (("2026-01-01", "2027-02-01"), "too_long"),
        (("2026-01-01", "bad"), "bad_date"),
    ):
        with pytest.raises(PeriodError) as err:
            period.day_range(*bad)
        assert err.value.code == code
    with pytest.raises(PeriodError):
        period.month("2026-13")
    assert period.day_range("2026-01-01", "2027-01-31").days == 396
    assert period.parse({}, date(2026, 12, 6)) == NOV
    assert NOV.previous() == Period(date(2026, 10, 1), NOV.start)
    custom = Period(date(2026, 11, 5), date(2026, 11, 15))
    assert custom.previous() == Period(date(2026, 10, 26), custom.start)


def _params(fleet, **kw):
    params = {
        "report": "usage",
        "scope": {"customer_id": fleet["customer"].id, "unit_path": None, "employee_id": None},
        "period": NOV.as_params(),
        "group_by": "unit",
        "fmt": "csv",
        "locale": "en",
    }
    params.update(kw)
    return params


def test_exports_parse_back(db, fleet, app):
    expected = independent_sum(fleet["rows"], NOV.start, NOV.end)
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        out = io.BytesIO()
        documents.write(db, _params(fleet), out)
        rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig")), delimiter=";"))
        header, first = rows[0], rows[1]
        cost = header.index("Cost (PLN net)")
        assert Decimal(first[cost]) == expected["charge"]  # the root unit: the whole company
        assert Decimal(rows[-1][cost]) == expected["charge"]  # the total row

        out = io.BytesIO()
        documents.write(db, _params(fleet, fmt="xlsx", group_by="line"), out)
        sheet = load_workbook(io.BytesIO(out.getvalue())).active
        values = list(sheet.iter_rows(values_only=True))
        col = values[0].index("Cost (PLN net)")
        assert sum(Decimal(str(r[col])) for r in values[1:-1]) == expected["charge"]

        out = io.BytesIO()
        documents.write(db, _params(fleet, fmt="pdf"), out)
        assert out.getvalue().startswith(b"%PDF")
        html = documents.tables.render_html(
            documents.table(db, _params(fleet, fmt="pdf")), decimal_comma=False
        )
        assert "Usage by unit" in html and "<svg" in html


def test_sim_report_codes_only_when_asked(db, fleet):
    scope = FleetScope(fleet["customer"].id)
    plain = list(sim_report.rows(db, scope))
    assert len(plain) == 5 and all(r.codes is None for r in plain)
    assert {r.msisdn for r in plain} == {line.msisdn for line in fleet["lines"]}
    coded = list(sim_report.rows(db, scope, with_codes=True))
    assert coded[0].codes == ("1111", "11112222", "2222", "22223333")
    sub = list(sim_report.rows(db, FleetScope(scope.customer_id, unit_path=fleet["north"].path)))
    assert {r.msisdn for r in sub} == {fleet["lines"][1].msisdn, fleet["lines"][2].msisdn}
    assert date.today() - timedelta(days=1) < date.today()
