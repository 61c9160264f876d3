"""Corrections ("faktura korygująca") issued from the console: the differences a person enters
— a line's corrected net amount, or an extra charge or credit — become a correction document.

``differences`` checks everything before anything is written: every line belongs to the
invoice, amounts are PLN with at most two decimals within ``LIMIT``, a corrected amount keeps
the sign of the charge, something really changes. A line's current amount is its amount on
the invoice plus what earlier corrections changed (their lines point to it through
``source = "corrects:<line id>"``), so a second correction starts where the first ended. A
difference is one line of quantity 1 (a charge) or -1 (a credit) at the amount's absolute value,
so the documents' arithmetic (quantity × price = net) holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import _l
from core.settings import OperatorParty
from models import Invoice, InvoiceKind, InvoiceLine, InvoiceState
from services import ServiceError, audit, invoices
from services.audit import Actor
from services.invoices import ChargeLine

LIMIT = Decimal("1000000.00")
MAX_LINES = 500
ZERO = Decimal("0")


@dataclass(frozen=True)
class Extra:
    description: str
    net: str


def parse_amount(text: str | None, field: str) -> Decimal:
    raw = (text or "").strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ServiceError(_l("Enter an amount such as 12.50."), field=field) from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise ServiceError(_l("Enter an amount with at most two decimal places."), field=field)
    if abs(value) > LIMIT:
        raise ServiceError(_l("The amount is too large."), field=field)
    return value.quantize(Decimal("0.01"))


def current_nets(session: Session, original: Invoice) -> dict[int, Decimal]:
    """Each line's net after the issued corrections of ``original``."""
    nets = {li.id: li.net for li in invoices.lines_of(session, original)}
    rows = session.execute(
        select(InvoiceLine.source, InvoiceLine.net)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            Invoice.corrects_id == original.id,
            Invoice.state == InvoiceState.issued,
            InvoiceLine.source.like("corrects:%"),
        )
    )
    for source, net in rows:
        line_id = int(source.split(":", 1)[1])
        if line_id in nets:
            nets[line_id] += net
    return nets


def _difference(li: InvoiceLine, diff: Decimal) -> ChargeLine:
    return ChargeLine(
        category=li.category,
        group_key=li.group_key,
        description=f"Korekta: {li.description}"[:500],
        quantity=Decimal(1 if diff > 0 else -1),
        unit_price=abs(diff),
        net=diff,
        vat_rate=li.vat_rate,
        measure="szt.",
        unit_id=li.unit_id,
        unit_name=li.unit_name,
        cost_centre=li.cost_centre,
        line_id=li.line_id,
        msisdn=li.msisdn,
        employee_name=li.employee_name,
        period_from=li.period_from,
        period_to=li.period_to,
        source=f"corrects:{li.id}",
    )


def differences(
    session: Session,
    original: Invoice,
    corrected: dict[int, str],
    extras: list[Extra],
) -> list[ChargeLine]:
    """The correction's lines: ``corrected`` maps line ids of ``original`` to the corrected net
    amount as typed; ``extras`` are additional charges (positive) or credits (negative)."""
    if original.state != InvoiceState.issued or original.kind != InvoiceKind.invoice:
        raise ServiceError(_l("Only an issued invoice can be corrected."))
    if len(corrected) + len(extras) > MAX_LINES:
        raise ServiceError(_l("Too many changes for one correction."))
    lines = {li.id: li for li in invoices.lines_of(session, original)}
    nets = current_nets(session, original)
    out = []
    for line_id, text in corrected.items():
        li = lines.get(line_id)
        if li is None:
            raise ServiceError(_l("Choose lines of the invoice being corrected."))
        new = parse_amount(text, f"net-{line_id}")
        now = nets[line_id]
        if (now > 0 and new < 0) or (now < 0 and new > 0):
            raise ServiceError(
                _l("A corrected amount keeps the sign of the charge; add a credit instead."),
                field=f"net-{line_id}",
            )
        if new != now:
            out.append(_difference(li, new - now))
    for n, extra in enumerate(extras):
        description = (extra.description or "").strip()
        if not description and not (extra.net or "").strip():
            continue
        if not description:
            raise ServiceError(_l("Describe the charge or credit."), field=f"extra-{n}")
        if len(description) > 200:
            raise ServiceError(_l("At most 200 characters."), field=f"extra-{n}")
        net = parse_amount(extra.net, f"extra-{n}")
        if net == 0:
            raise ServiceError(_l("Enter an amount other than zero."), field=f"extra-{n}")
        out.append(
            ChargeLine(
                category="adjustment",
                group_key="adjustment",
                description=description,
                quantity=Decimal(1 if net > 0 else -1),
                unit_price=abs(net),
                net=net,
                source="correction",
                period_from=original.period_start,
                period_to=original.period_end,
            )
        )
    if not out:
        raise ServiceError(_l("Nothing changes: enter a different amount or an extra line."))
    return out


def issue_correction(
    session: Session,
    actor: Actor,
    original: Invoice,
    reason: str,
    corrected: dict[int, str],
    extras: list[Extra],
    seller: OperatorParty | None = None,
) -> Invoice:
    """Check the differences, issue the correction, audit it; nothing is written on an error."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_l("Give the reason for the correction."), field="reason")
    if len(reason) > 500:
        raise ServiceError(_l("At most 500 characters."), field="reason")
    lines = differences(session, original, corrected, extras)
    correction = invoices.correct(session, actor, original, reason, lines, seller=seller)
    audit.record(
        session,
        actor,
        "invoice.corrected",
        customer_id=original.customer_id,
        obj=original,
        after={
            "correction": correction.number,
            "reason": reason,
            "net": str(correction.total_net),
            "lines": len(lines),
        },
    )
    return correction
