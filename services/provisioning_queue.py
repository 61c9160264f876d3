"""The provisioning queue as the console shows it: the requests of a set of customers that are
waiting, being carried out or have failed, with filters and counts per status.

The customers come in as a query of customer ids (the console's scope decides which).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select

from models import Customer, Line, ProvisioningRequest, RequestStatus

# Filter name: the statuses it shows. "queue" (the default) is everything not finished well.
STATUS_FILTERS: dict[str, tuple[RequestStatus, ...]] = {
    "queue": (RequestStatus.acknowledged, RequestStatus.inProgress, RequestStatus.failed),
    "pending": (RequestStatus.acknowledged,),
    "inProgress": (RequestStatus.inProgress,),
    "failed": (RequestStatus.failed,),
    "completed": (RequestStatus.completed,),
}
ACTIONS = ("set_service", "change_tariff", "suspend", "resume", "activate", "terminate")


@dataclass(frozen=True)
class QueueFilter:
    status: str = "queue"
    customer_id: int | None = None
    action: str | None = None

    @classmethod
    def from_args(cls, args) -> QueueFilter:
        status = args.get("status") or "queue"
        action = args.get("action") or None
        try:
            customer_id = int(args.get("customer_id") or 0) or None
        except ValueError:
            customer_id = None
        return cls(
            status=status if status in STATUS_FILTERS else "queue",
            customer_id=customer_id if customer_id and customer_id < 2**31 else None,
            action=action if action in ACTIONS else None,
        )


def _base(customer_ids: Select, flt: QueueFilter) -> Select:
    q = select(ProvisioningRequest).where(ProvisioningRequest.customer_id.in_(customer_ids))
    if flt.customer_id is not None:
        q = q.where(ProvisioningRequest.customer_id == flt.customer_id)
    if flt.action is not None:
        q = q.where(ProvisioningRequest.action == flt.action)
    return q


def rows(session, customer_ids: Select, flt: QueueFilter, *, limit: int, offset: int = 0):
    """(request, customer name, customer number, msisdn), failed first, then oldest first."""
    q = _base(customer_ids, flt).where(ProvisioningRequest.status.in_(STATUS_FILTERS[flt.status]))
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    page = session.execute(
        q.add_columns(Customer.name, Customer.number, Line.msisdn)
        .join(Customer, Customer.id == ProvisioningRequest.customer_id)
        .join(Line, Line.id == ProvisioningRequest.line_id)
        .order_by(
            (ProvisioningRequest.status != RequestStatus.failed),
            ProvisioningRequest.created_at,
            ProvisioningRequest.id,
        )
        .limit(limit)
        .offset(offset)
    ).all()
    return page, total


def counts(session, customer_ids: Select, flt: QueueFilter) -> dict[str, int]:
    """Requests per status under the customer and action filters (for the status tabs)."""
    by_status = dict(
        session.execute(
            _base(customer_ids, flt)
            .with_only_columns(ProvisioningRequest.status, func.count())
            .where(ProvisioningRequest.status != RequestStatus.cancelled)
            .group_by(ProvisioningRequest.status)
        ).all()
    )
    return {
        name: sum(by_status.get(s, 0) for s in statuses)
        for name, statuses in STATUS_FILTERS.items()
    }
