"""Daily contract work: active contracts past their end date become expired.

Register ``expire_contracts`` in workers/periodic.py (it is safe to run as often as wanted:
a contract already expired is not touched again).
"""

from __future__ import annotations

from services import contracts
from workers.context import unit_of_work


def expire_contracts() -> int:
    """Expire active contracts whose last day (Warsaw time) has passed; how many."""
    with unit_of_work() as s:
        return contracts.expire_due(s, contracts.today())
