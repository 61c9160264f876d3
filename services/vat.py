"""VAT the way Polish invoices compute it.

Method (art. 106e ust. 10 of the VAT act allows it; operators use it): the tax is computed
**per rate on the invoice total** — the sum of the net amounts at a rate times the rate,
rounded half-up to the grosz. Each line also shows its own VAT (its net times the rate,
half-up); the grosze the per-line rounding loses or gains against the per-rate total are
given to the line with the largest net at that rate, so the lines of every document add up
exactly to its totals by rate. Gross is net plus VAT, per line and per rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
STANDARD_RATE = Decimal("23")


def money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def tax(net: Decimal, rate: Decimal) -> Decimal:
    return money(Decimal(net) * Decimal(rate) / Decimal(100))


@dataclass(frozen=True)
class RateTotal:
    rate: Decimal
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def totals_by_rate(lines) -> list[RateTotal]:
    """Per-rate totals of objects with ``net`` and ``vat_rate`` (VAT from the rate total)."""
    nets: dict[Decimal, Decimal] = {}
    for line in lines:
        rate = Decimal(line.vat_rate)
        nets[rate] = nets.get(rate, Decimal("0")) + Decimal(line.net)
    return [RateTotal(rate, money(net), tax(net, rate)) for rate, net in sorted(nets.items())]


def spread_vat(lines) -> None:
    """Set ``vat`` and ``gross`` on each line so that they sum to the per-rate totals."""
    by_rate: dict[Decimal, list] = {}
    for line in lines:
        by_rate.setdefault(Decimal(line.vat_rate), []).append(line)
    for rate, group in by_rate.items():
        for line in group:
            line.vat = tax(line.net, rate)
        target = tax(sum((Decimal(li.net) for li in group), Decimal("0")), rate)
        diff = target - sum((li.vat for li in group), Decimal("0"))
        if diff:
            # The first of the lines with the largest net amount (max keeps the first).
            biggest = max(group, key=lambda li: abs(Decimal(li.net)))
            biggest.vat += diff
        for line in group:
            line.gross = money(Decimal(line.net) + line.vat)
