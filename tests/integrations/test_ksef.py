"""The KSeF simulator rejects what KSeF rejects, and numbers invoices in KSeF's format."""

from __future__ import annotations

from datetime import date

import pytest

from integrations.ksef import (
    KsefDuplicate,
    KsefRejected,
    SimulatedKsef,
    is_valid_number,
    make_number,
)
from models import KsefStatus
from services import ksef_submission
from services.einvoice import documents
from tests.billing_factories import billing_customer
from tests.services.test_billing import run_for


@pytest.fixture
def sim(redis_clean):
    return SimulatedKsef(redis_clean)


@pytest.fixture
def invoice(db):
    customer, _t, _l = billing_customer(db, 2)
    return run_for(db, customer)


def test_numbers_have_ksef_format_and_checksum():
    number = make_number("5260250995", date(2026, 12, 1), "0100001af629")
    assert number.startswith("5260250995-20261201-0100001AF629-")
    assert is_valid_number(number)
    assert not is_valid_number(number[:-2] + ("00" if number[-2:] != "00" else "01"))


def test_accepts_an_invoice_and_the_submission_stores_the_number(db, sim, invoice):
    assert ksef_submission.submit(db, invoice, sim) == "accepted"
    assert invoice.ksef_status == KsefStatus.accepted and is_valid_number(invoice.ksef_number)
    assert invoice.ksef_number.startswith(invoice.seller["nip"])
    # Sent again (a job delivered twice): nothing changes.
    number = invoice.ksef_number
    assert ksef_submission.submit(db, invoice, sim) == "skipped"
    assert invoice.ksef_number == number


def test_a_lost_answer_keeps_the_number_ksef_holds(db, sim, invoice):
    first = sim.send(documents.fa3_xml(db, invoice))  # accepted, answer lost
    assert ksef_submission.submit(db, invoice, sim) == "accepted"
    assert invoice.ksef_number == first.ksef_number


def test_rejects_a_duplicate_number_with_other_content(db, sim, invoice):
    xml = documents.fa3_xml(db, invoice)
    sim.send(xml)
    other = xml.replace(b"<SystemInfo>Asystent</SystemInfo>", b"<SystemInfo>Inny</SystemInfo>")
    with pytest.raises(KsefDuplicate) as exc:
        sim.send(other)
    assert not exc.value.same_content


def test_rejects_size_bom_bad_nip_and_future_dates(db, sim, invoice):
    xml = documents.fa3_xml(db, invoice)
    with pytest.raises(KsefRejected, match="byte-order mark"):
        sim.send(b"\xef\xbb\xbf" + xml)
    big = xml.replace(
        b"<SystemInfo>Asystent</SystemInfo>", b"<SystemInfo>" + b"x" * 1_000_001 + b"</SystemInfo>"
    )
    with pytest.raises(KsefRejected, match="1 MB"):
        sim.send(big)
    nip = invoice.buyer["nip"].encode()
    with pytest.raises(KsefRejected, match="buyer NIP"):
        sim.send(xml.replace(nip, nip[:-1] + bytes([48 + (nip[-1] - 47) % 10])))
    with pytest.raises(KsefRejected, match="future"):
        SimulatedKsef(sim.redis, today=date(2026, 11, 30)).send(xml)


def test_an_invoice_ksef_refuses_is_marked_rejected_with_the_reason(db, sim, invoice):
    sim.send(documents.fa3_xml(db, invoice).replace(b"<SystemInfo>Asystent", b"<SystemInfo>X"))
    assert ksef_submission.submit(db, invoice, sim) == "rejected"
    assert invoice.ksef_status == KsefStatus.rejected and "duplicate" in invoice.ksef_error
