"""KSeF, the national e-invoice system: send an FA(3), get the invoice's KSeF number.

``KsefGateway`` is what the billing needs: ``send(xml) -> Receipt``. It raises
``KsefRejected`` for a document KSeF refuses (it will refuse it again: the invoice is marked
rejected with the reason) and ``KsefUnavailable`` for a transient failure (retry later). A
document KSeF already holds under the same seller NIP, type and number is ``KsefDuplicate``,
carrying the number KSeF gave it and whether the content is the same: the same content means
an earlier send succeeded and its answer was lost, so the caller keeps that number.

``SimulatedKsef`` stands in for the real service in the embedded setup and in tests. It keeps
what it accepted in Redis and rejects what KSeF rejects: a byte-order mark, processing
instructions, a document over 1 MB (``MAX_BYTES``), an invalid seller or buyer NIP, an issue
date in the future, a duplicate seller NIP + invoice type + number. The numbers it assigns have
KSeF's format: ``NIP-YYYYMMDD-XXXXXXXXXXXX-CC`` (seller NIP, date of acceptance, 12
hexadecimal characters, CRC-8 of the rest in hexadecimal).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from lxml import etree
from stdnum.pl import nip as stdnip

NIP_PATTERN = re.compile(r"^[1-9]((\d[1-9])|([1-9]\d))\d{7}$")

MAX_BYTES = 1_000_000
FA_NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"
# KOD I (verification link) of KSeF's test environment; production uses qr.ksef.mf.gov.pl.
QR_BASE = "https://qr-test.ksef.mf.gov.pl/invoice"
NUMBER_RE = re.compile(r"^\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}$")


class KsefError(Exception):
    pass


class KsefRejected(KsefError):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class KsefDuplicate(KsefRejected):
    def __init__(self, ksef_number: str, same_content: bool) -> None:
        super().__init__(440, f"duplicate invoice, already registered as {ksef_number}")
        self.ksef_number = ksef_number
        self.same_content = same_content


class KsefUnavailable(KsefError):
    pass


@dataclass(frozen=True)
class Receipt:
    ksef_number: str
    accepted_at: datetime
    document_hash: str  # SHA-256 of the document, base64url without padding


class KsefGateway(Protocol):
    def send(self, xml: bytes) -> Receipt: ...


def document_hash(xml: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(xml).digest()).decode().rstrip("=")


def verification_url(seller_nip: str, issue_date: date, doc_hash: str) -> str:
    return f"{QR_BASE}/{seller_nip}/{issue_date:%d-%m-%Y}/{doc_hash}"


def crc8(data: bytes) -> int:
    """CRC-8 (polynomial 0x07, initial 0x00), the checksum of KSeF numbers."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def make_number(seller_nip: str, on: date, token: str | None = None) -> str:
    token = (token or secrets.token_hex(6)).upper()
    body = f"{seller_nip}-{on:%Y%m%d}-{token}"
    return f"{body}-{crc8(body.encode()):02X}"


def is_valid_number(number: str) -> bool:
    if not NUMBER_RE.match(number or ""):
        return False
    body, check = number.rsplit("-", 1)
    return f"{crc8(body.encode()):02X}" == check


def is_valid_nip(nip: str) -> bool:
    """Checksum and the tax-office code (digits 2–3 not 00), as KSeF checks a NIP."""
    return bool(NIP_PATTERN.match(nip or "")) and stdnip.is_valid(nip)


def _text(doc, path: str) -> str | None:
    return doc.findtext(path, namespaces={"fa": FA_NS})


class SimulatedKsef:
    """KSeF's acceptance rules over a Redis hash of what it accepted."""

    KEY = "ksef:sim:invoices"

    def __init__(self, redis, today: date | None = None) -> None:
        self.redis = redis
        self.today = today

    def send(self, xml: bytes) -> Receipt:
        if xml.startswith(b"\xef\xbb\xbf"):
            raise KsefRejected(400, "UTF-8 byte-order mark is not allowed")
        if len(xml) > MAX_BYTES:
            raise KsefRejected(413, f"document of {len(xml)} bytes exceeds 1 MB")
        try:
            doc = etree.fromstring(xml, etree.XMLParser(no_network=True, resolve_entities=False))
        except etree.XMLSyntaxError as exc:
            raise KsefRejected(400, f"not well-formed XML: {exc}") from None
        if any(
            isinstance(n, etree._ProcessingInstruction) for n in doc.itersiblings(preceding=True)
        ):
            raise KsefRejected(400, "processing instructions are not allowed")
        if doc.tag != f"{{{FA_NS}}}Faktura":
            raise KsefRejected(400, "not an FA(3) invoice")
        seller = _text(doc, "fa:Podmiot1/fa:DaneIdentyfikacyjne/fa:NIP") or ""
        buyer = _text(doc, "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:NIP")
        if not is_valid_nip(seller):
            raise KsefRejected(450, f"invalid seller NIP {seller!r}")
        if buyer is not None and not is_valid_nip(buyer):
            raise KsefRejected(450, f"invalid buyer NIP {buyer!r}")
        today = self.today or datetime.now(UTC).date()
        issued = _text(doc, "fa:Fa/fa:P_1") or ""
        if issued > today.isoformat():
            raise KsefRejected(450, "issue date in the future")
        kind = _text(doc, "fa:Fa/fa:RodzajFaktury") or ""
        number = _text(doc, "fa:Fa/fa:P_2") or ""
        key = f"{seller}|{kind}|{number}"
        digest = document_hash(xml)
        ksef_number = make_number(seller, today)
        record = json.dumps({"number": ksef_number, "hash": digest})
        if not self.redis.hsetnx(self.KEY, key, record):
            held = json.loads(self.redis.hget(self.KEY, key))
            raise KsefDuplicate(held["number"], held["hash"] == digest)
        return Receipt(ksef_number, datetime.now(UTC), digest)
