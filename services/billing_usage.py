"""Usage charges of a customer for a billing period: the one way usage enters an invoice.

``usage_charges`` returns the charges for usage beyond what each line's tariff includes, at
the contract's rates, as ``ChargeLine`` values (category ``usage``, group_key the kind of
usage, one per line and kind). Until daily usage rollups exist (``line_usage_daily``, built
by services/usage.py) there is no usage to charge and it returns an empty list; the billing
run and every document already carry whatever it returns.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.billing_period import Period
from services.invoices import ChargeLine


def usage_charges(session: Session, customer_id: int, period: Period) -> list[ChargeLine]:
    """Charges for the customer's usage in ``period`` beyond the tariffs' allowances."""
    return []
