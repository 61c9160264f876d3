"""Carrying provisioning requests to the network, one line at a time."""

from __future__ import annotations

from integrations.network import SimulatedHLR
from models import ProvisioningRequest
from services import provisioning
from workers.context import runtime, unit_of_work

MAX_STEPS = 50


def gateway():
    return SimulatedHLR.from_env(runtime().redis)


def process_line(line_id: int) -> dict:
    """Carry out the line's due requests in order; each outcome is its own commit."""
    outcomes: dict[str, int] = {}
    gw = gateway()
    for _ in range(MAX_STEPS):
        with unit_of_work() as s:
            req = provisioning.claim_next(s, line_id)
            req_id = req.id if req else None
        if req_id is None:
            break
        with unit_of_work() as s:
            outcome = provisioning.carry_out(s, s.get(ProvisioningRequest, req_id), gw)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome == "retry":
            break  # the sweep picks it up when it is due
    return outcomes


def process_lines(line_ids: list[int]) -> dict:
    totals: dict[str, int] = {}
    for line_id in line_ids:
        for outcome, n in process_line(line_id).items():
            totals[outcome] = totals.get(outcome, 0) + n
    return totals


def sweep_provisioning() -> int:
    """Periodic: enqueue lines whose requests are due (retries, lost jobs, scheduled changes)."""
    with unit_of_work() as s:
        lines = provisioning.due_lines(s)
        provisioning.enqueue_lines(s, lines)
    return len(lines)
