"""Usage on the invoice: rated from the daily totals at the tariff's rates beyond its
allowances, roaming per zone, one charge per line, kind and zone; recomputed independently
from the usage rows and the tariffs, to the grosz, and the whole invoice with it."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from models import UsageDaily
from services import billing, invoices, usage_rollup
from services.billing_charges import charges_for
from services.billing_period import Period
from services.billing_usage import usage_charges
from services.einvoice import documents
from tests.billing_factories import at, billing_customer, completed_handset, history
from tests.einvoice_checks import cen_rules_fired, fa3_errors, ubl_errors
from tests.fleet_factories import make_tariff

NOV = Period.month(2026, 11)


def grosz(x) -> Decimal:
    return Decimal(x).quantize(Decimal("0.01"), ROUND_HALF_UP)


def put(db, line, day, kind, zone, direction, quantity):
    db.add(
        UsageDaily(
            line_id=line.id,
            customer_id=line.customer_id,
            day=day,
            kind=kind,
            zone=zone,
            direction=direction,
            quantity=quantity,
            events=1,
            charge=Decimal("123.45"),  # the recorded charge is not what the invoice uses
        )
    )


# Rows: (line index, day, kind, zone, direction, quantity)
ROWS = [
    # line 0: 130 min at home (100 included) + 30 min in the EU, all over; 61 s incoming free
    (0, 3, "voice", "domestic", "out", 100 * 60),
    (0, 4, "voice", "domestic", "out", 30 * 60 - 5),
    (0, 5, "voice", "domestic", "in", 61 * 60),
    (0, 6, "voice", "eu", "out", 30 * 60),
    (0, 7, "sms", "domestic", "out", 70),  # 50 included → 20 charged
    (0, 8, "mms", "domestic", "out", 3),  # no allowance
    # line 1: EU usage inside the allowance left by home usage; world roaming both ways
    (1, 2, "voice", "domestic", "out", 40 * 60),
    (1, 9, "voice", "eu", "out", 70 * 60 + 1),  # 71 min, 60 left → 11 charged at EU rate
    (1, 10, "voice", "world", "in", 5 * 60),
    (1, 10, "voice", "world", "out", 7 * 60 + 30),
    (1, 11, "data", "europe", "out", 2_500_001),  # 3 MB
    (1, 12, "sms", "world", "out", 4),
    (1, 30, "data", "domestic", "out", 1_000_000 * 1500 + 1),  # 1501 MB, 1000 included
    # outside the month: not billed
    (1, -1, "voice", "domestic", "out", 500 * 60),
]


def _setup(db):
    customer, small, lines = billing_customer(db, 3, fee="40.00")
    small.included_minutes, small.included_sms, small.included_data_mb = 100, 50, 1000
    small.rate_voice_domestic, small.rate_voice_eu = Decimal("0.2900"), Decimal("0.3100")
    small.rate_sms_domestic, small.rate_mms_domestic = Decimal("0.2000"), Decimal("0.4000")
    small.rate_data_domestic_mb, small.rate_data_eu_mb = Decimal("0.0100"), Decimal("0.0150")
    small.rate_voice_world, small.rate_sms_world = Decimal("6.9900"), Decimal("1.2900")
    small.rate_data_world_mb = Decimal("15.0000")
    # line 2 moves to an unlimited tariff mid-month: its usage is not charged at all
    unlimited = make_tariff(db, fee="99.00")
    unlimited.included_minutes = unlimited.included_sms = unlimited.included_data_mb = None
    history(
        db,
        lines[2],
        at(date(2026, 11, 15)),
        "change_tariff",
        {"status": "active", "tariff_id": small.id},
        {"status": "active", "tariff_id": unlimited.id},
    )
    lines[2].tariff_id = unlimited.id
    for idx, day, kind, zone, direction, q in ROWS:
        when = date(2026, 10, 31) if day < 0 else date(2026, 11, day)
        put(db, lines[idx], when, kind, zone, direction, q)
    put(db, lines[2], date(2026, 11, 3), "voice", "domestic", "out", 9000 * 60)
    put(db, lines[2], date(2026, 11, 3), "data", "domestic", "out", 10**12)
    usage_rollup.refresh(db, line_ids=[line.id for line in lines])
    return customer, small, unlimited, lines


def expected_usage(rows, tariff) -> dict[tuple[int, str, str], Decimal]:
    """The rule written out again, from the raw rows only."""
    q = defaultdict(int)
    for idx, day, kind, zone, direction, quantity in rows:
        if day < 0 or idx == 2:
            continue
        if zone in ("domestic", "eu") and direction == "in":
            continue
        q[(idx, kind, zone)] += quantity

    def u(kind, n):
        return (
            math.ceil(n / 60) if kind == "voice" else math.ceil(n / 10**6) if kind == "data" else n
        )

    inc = {"voice": 100, "sms": 50, "data": 1000, "mms": 0}
    rates = {
        ("voice", "domestic"): "0.29",
        ("voice", "eu"): "0.31",
        ("sms", "domestic"): "0.20",
        ("mms", "domestic"): "0.40",
        ("data", "domestic"): "0.01",
        ("data", "eu"): "0.015",
        ("voice", "world"): "6.99",
        ("sms", "world"): "1.29",
        ("data", "europe"): "15.00",
    }
    out = {}
    for idx in (0, 1):
        for kind in ("voice", "sms", "mms", "data"):
            home = u(kind, q.get((idx, kind, "domestic"), 0))
            eu = u(kind, q.get((idx, kind, "eu"), 0))
            left = inc[kind] - home
            charged = {"domestic": max(0, -left), "eu": max(0, eu - max(0, left))}
            for zone in ("europe", "world"):
                charged[zone] = u(kind, q.get((idx, kind, zone), 0))
            for zone, n in charged.items():
                if n:
                    out[(idx, kind, zone)] = grosz(n * Decimal(rates[(kind, zone)]))
    return out


def test_usage_is_rated_beyond_the_allowance_per_line_kind_and_zone(db):
    customer, small, _unlimited, lines = _setup(db)
    got = {
        (
            lines.index(next(ln for ln in lines if ln.id == c.line_id)),
            *c.group_key.split(":")[1:],
        ): c
        for c in usage_charges(db, customer.id, NOV)
    }
    want = expected_usage(ROWS, small)
    assert {k: c.net for k, c in got.items()} == want
    # the hand-checked figures of the rule
    assert want[(0, "voice", "domestic")] == grosz(30 * Decimal("0.29"))
    assert want[(0, "voice", "eu")] == grosz(30 * Decimal("0.31"))
    assert want[(1, "voice", "eu")] == grosz(11 * Decimal("0.31"))
    assert want[(1, "voice", "world")] == grosz(13 * Decimal("6.99"))
    assert want[(1, "data", "domestic")] == grosz(501 * Decimal("0.01"))
    c = got[(0, "sms", "domestic")]
    assert (c.quantity, c.unit_price, c.category) == (Decimal(20), Decimal("0.2000"), "usage")
    assert c.cost_centre == "CC-100" and c.msisdn == lines[0].msisdn
    assert got[(1, "voice", "world")].cost_centre == "CC-200"
    assert not any(k[0] == 2 for k in got)  # unlimited on the last day of the month


def test_the_invoice_total_matches_fees_usage_and_one_offs_recomputed(db):
    customer, small, _unlimited, lines = _setup(db)
    completed_handset(db, customer, lines[0], at(date(2026, 11, 9)), price="499.99", qty=2)
    run = billing.request_run(db, customer, NOV, "test")
    assert billing.claim(db, run.id)
    invoice = billing.execute(db, run, issue_date=date(2026, 12, 1))

    fees = [Decimal("40.00"), Decimal("40.00")]
    fees += [grosz(Decimal("40.00") * 14 / 30), grosz(Decimal("99.00") * 16 / 30)]
    one_offs = [grosz(Decimal("499.99") * 2)]
    usage = list(expected_usage(ROWS, small).values())
    net = sum(fees + one_offs + usage)
    tax = grosz(net * Decimal("0.23"))
    assert (invoice.total_net, invoice.total_vat, invoice.total_gross) == (net, tax, net + tax)
    stored = invoices.lines_of(db, invoice)
    assert sum(li.net for li in stored if li.category == "usage") == sum(usage)
    assert sum(li.vat for li in stored) == tax

    assert fa3_errors(documents.fa3_xml(db, invoice)) == []
    ubl_doc = documents.ubl_xml(db, invoice)
    assert ubl_errors(ubl_doc) == []
    assert cen_rules_fired(ubl_doc) > 10


def test_no_usage_no_usage_lines(db):
    customer, _tariff, _lines = billing_customer(db, 2)
    assert usage_charges(db, customer.id, NOV) == []
    assert all(c.category == "fee" for c in charges_for(db, customer.id, NOV))
