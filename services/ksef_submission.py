"""Sending issued invoices to KSeF and keeping the number it gives.

``submit`` builds the FA(3), sends it through a ``KsefGateway`` and records the outcome on
the invoice: accepted (number, hash of the document as sent, for the QR code) or rejected
with the reason. A transient failure (``KsefUnavailable``) propagates, so the job retries.
A duplicate of the very same document means an earlier send got through and its answer was
lost: the number KSeF holds is kept. Repeating ``submit`` for an accepted invoice does nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.ksef import KsefDuplicate, KsefGateway, KsefRejected, document_hash
from models import Invoice, InvoiceState, KsefStatus
from models.base import utcnow
from services import audit
from services.audit import Actor
from services.einvoice import documents
from services.einvoice.fa3 import InvalidDocument

ACTOR = Actor.system("ksef")


def _accept(session: Session, invoice: Invoice, number: str, doc_hash: str) -> str:
    invoice.ksef_status = KsefStatus.accepted
    invoice.ksef_number = number
    invoice.ksef_hash = doc_hash
    invoice.ksef_error = None
    invoice.ksef_sent_at = utcnow()
    session.flush()
    audit.record(
        session,
        ACTOR,
        "invoice.ksef_accepted",
        customer_id=invoice.customer_id,
        obj=invoice,
        after={"ksef_number": number},
    )
    return "accepted"


def _reject(session: Session, invoice: Invoice, reason: str) -> str:
    invoice.ksef_status = KsefStatus.rejected
    invoice.ksef_error = reason[:500]
    invoice.ksef_sent_at = utcnow()
    session.flush()
    audit.record(
        session,
        ACTOR,
        "invoice.ksef_rejected",
        customer_id=invoice.customer_id,
        obj=invoice,
        after={"reason": reason[:500]},
    )
    return "rejected"


def submit(session: Session, invoice: Invoice, gateway: KsefGateway) -> str:
    """accepted / rejected / skipped (not issued, or already accepted)."""
    if invoice.state != InvoiceState.issued or invoice.ksef_status == KsefStatus.accepted:
        return "skipped"
    try:
        xml = documents.fa3_xml(session, invoice)
    except InvalidDocument as exc:
        return _reject(session, invoice, str(exc))
    try:
        receipt = gateway.send(xml)
    except KsefDuplicate as dup:
        if dup.same_content:
            return _accept(session, invoice, dup.ksef_number, document_hash(xml))
        return _reject(session, invoice, dup.reason)
    except KsefRejected as exc:
        return _reject(session, invoice, f"{exc.code}: {exc.reason}")
    return _accept(session, invoice, receipt.ksef_number, receipt.document_hash)


def unsent(session: Session, limit: int = 500) -> list[int]:
    """Issued invoices not yet sent (their job may have been lost), oldest first."""
    return list(
        session.scalars(
            select(Invoice.id)
            .where(Invoice.state == InvoiceState.issued, Invoice.ksef_status == KsefStatus.not_sent)
            .order_by(Invoice.id)
            .limit(limit)
        )
    )
