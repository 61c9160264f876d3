"""Billing on real RQ workers: several processes bill many customers at once, the numbers of
the series stay gapless and unique, every invoice gets its KSeF number, and a repeated run
issues nothing twice."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from integrations.ksef import is_valid_number
from models import BillingRun, Invoice, KsefStatus, RunStatus
from services import billing
from services.billing_period import Period
from tests.billing_factories import billing_customer

pytestmark = pytest.mark.worker

NOV = Period.month(2026, 11)


def start_workers(n: int, **env: str) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "core.cli", "worker", "--burst", "--queues", "billing"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]


def wait_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]


def test_parallel_workers_number_gapless_and_send_to_ksef(rt, committed):
    customers = [billing_customer(committed, 2)[0] for _ in range(16)]
    committed.commit()
    for customer in customers:
        billing.request_run(committed, customer, NOV, "test")
    committed.commit()  # enqueues 16 run jobs

    wait_all(start_workers(4))

    committed.expire_all()
    runs = committed.scalars(select(BillingRun)).all()
    assert [r.status for r in runs] == [RunStatus.done] * 16, [r.error for r in runs]
    seqs = sorted(committed.scalars(select(Invoice.seq).where(Invoice.series == "FV")))
    assert seqs == list(range(1, 17))  # gapless, unique
    issued = committed.scalars(select(Invoice)).all()
    assert all(
        i.ksef_status == KsefStatus.accepted and is_valid_number(i.ksef_number) for i in issued
    )

    # The monthly sweep and a repeated request change nothing.
    rt.queue("billing").enqueue("workers.billing_jobs.monthly_billing")
    billing.request_run(committed, customers[0], NOV, "again")
    committed.commit()
    wait_all(start_workers(2))
    committed.expire_all()
    assert committed.scalar(select(func.count()).select_from(Invoice)) == 16


def test_the_seller_is_the_configured_operator_and_stays_on_issued_invoices(rt, committed):
    from datetime import date
    from decimal import Decimal

    from core.settings import OperatorParty
    from services import invoices
    from services.audit import Actor
    from services.einvoice import documents
    from tests.billing_factories import ksef_nip
    from tests.einvoice_checks import fa3_errors, ubl_errors

    seller_nip = ksef_nip()
    customer = billing_customer(committed, 2)[0]
    committed.commit()
    billing.request_run(committed, customer, NOV, "test")
    committed.commit()
    wait_all(
        start_workers(
            1,
            OPERATOR_NAME="Sieć Komórkowa S.A.",
            OPERATOR_NIP=seller_nip,
            OPERATOR_IBAN="PL27 1140 2004 0000 3002 0135 5387",
            OPERATOR_STREET="ul. Sienna 39",
            OPERATOR_POSTAL_CODE="00-121",
        )
    )
    committed.expire_all()
    invoice = committed.scalar(select(Invoice))
    assert invoice.seller["name"] == "Sieć Komórkowa S.A."
    assert invoice.seller["nip"] == seller_nip
    assert invoice.seller["bank_account"] == "PL27114020040000300201355387"
    assert invoice.ksef_status == KsefStatus.accepted and invoice.ksef_number.startswith(seller_nip)
    fa3 = documents.fa3_xml(committed, invoice)
    assert fa3_errors(fa3) == [] and b"PL27114020040000300201355387" in fa3
    assert ubl_errors(documents.ubl_xml(committed, invoice)) == []

    # The operator moves: a correction carries the new address, the invoice keeps the old one.
    moved = OperatorParty(
        name="Sieć Komórkowa S.A.", street="ul. Nowa 2", postal_code="00-950", nip=seller_nip
    )
    line = invoices.lines_of(committed, invoice)[0]
    kor = invoices.correct(
        committed,
        Actor.system("test"),
        invoice,
        "Zwrot abonamentu",
        invoices.credit_lines(committed, invoice, [line.id]),
        issue_date=date(2026, 12, 2),
        seller=moved,
    )
    committed.commit()
    committed.expire_all()
    assert kor.seller["street"] == "ul. Nowa 2" and kor.total_net == -line.net < Decimal(0)
    assert committed.get(Invoice, invoice.id).seller["street"] == "ul. Sienna 39"
