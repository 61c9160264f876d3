"""The customer list: what the search and filters mean, sorting, pages, and the figures shown
per row (counted for the rows of the page only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from sqlalchemy import Select, exists, func, or_, select

from core.web import db
from models import Contract, ContractState, Customer, Line, PortalUser, StaffRole, StaffUser

PAGE_SIZE = 50

SORTS = {
    "name": (func.lower(Customer.name), Customer.id),
    "number": (Customer.number,),
    "city": (func.lower(Customer.city), func.lower(Customer.name), Customer.id),
    "newest": (Customer.created_at.desc(), Customer.id.desc()),
}
YES_NO = ("yes", "no")


@dataclass(frozen=True)
class ListFilter:
    q: str = ""
    city: str = ""
    manager: str = ""  # "", "none" or a staff id
    contract: str = ""  # "", "yes", "no"
    users: str = ""  # "", "yes", "no"
    sort: str = "name"
    page: int = 1

    @classmethod
    def from_args(cls, args, managers_allowed: bool) -> ListFilter:
        manager = (args.get("manager") or "").strip()
        if not managers_allowed or not (manager == "none" or manager.isdigit()):
            manager = ""
        page = args.get("page", "1")
        return cls(
            q=(args.get("q") or "").strip()[:100],
            city=(args.get("city") or "").strip()[:100],
            manager=manager,
            contract=args.get("contract") if args.get("contract") in YES_NO else "",
            users=args.get("users") if args.get("users") in YES_NO else "",
            sort=args.get("sort") if args.get("sort") in SORTS else "name",
            page=min(int(page), 100000) if page.isdigit() and int(page) > 0 else 1,
        )

    @property
    def narrowed(self) -> bool:
        return bool(self.q or self.city or self.manager or self.contract or self.users)

    def args(self, **changes) -> dict:
        """Query arguments for a link to this list with ``changes`` (empty values left out)."""
        values = asdict(replace(self, **changes))
        return {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}


def _yes_no(query: Select, value: str, condition) -> Select:
    if value == "yes":
        return query.where(condition)
    if value == "no":
        return query.where(~condition)
    return query


def apply(query: Select, flt: ListFilter) -> Select:
    if flt.q:
        low = flt.q.lower()
        conditions = [
            func.lower(Customer.name).contains(low, autoescape=True),
            func.lower(Customer.number).contains(low, autoescape=True),
            func.lower(Customer.city).contains(low, autoescape=True),
        ]
        digits = "".join(ch for ch in flt.q if ch not in " -")
        if digits.isdigit():  # a NIP as printed (526-025-02-74) or a part of it
            conditions.append(Customer.nip.contains(digits, autoescape=True))
        query = query.where(or_(*conditions))
    if flt.city:
        query = query.where(func.lower(Customer.city) == flt.city.lower())
    if flt.manager == "none":
        query = query.where(Customer.account_manager_id.is_(None))
    elif flt.manager:
        query = query.where(Customer.account_manager_id == int(flt.manager))
    query = _yes_no(
        query,
        flt.contract,
        exists().where(Contract.customer_id == Customer.id, Contract.state == ContractState.active),
    )
    return _yes_no(query, flt.users, exists().where(PortalUser.customer_id == Customer.id))


def page(base: Select, flt: ListFilter) -> tuple[list[Customer], int]:
    query = apply(base, flt)
    total = db().scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(
        db().scalars(
            query.order_by(*SORTS[flt.sort]).offset((flt.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        )
    )
    return rows, total


def _grouped(column, ids, *where) -> dict:
    if not ids:
        return {}
    stmt = select(column, func.count()).where(column.in_(ids), *where).group_by(column)
    return dict(db().execute(stmt).all())


def row_facts(customers: list[Customer]) -> dict:
    """Lines, portal users, active contract and manager for the customers of one page."""
    ids = [c.id for c in customers]
    contracts = (
        dict(
            db()
            .execute(
                select(Contract.customer_id, Contract.number).where(
                    Contract.customer_id.in_(ids), Contract.state == ContractState.active
                )
            )
            .all()
        )
        if ids
        else {}
    )
    manager_ids = {c.account_manager_id for c in customers} - {None}
    managers = (
        {s.id: s for s in db().scalars(select(StaffUser).where(StaffUser.id.in_(manager_ids)))}
        if manager_ids
        else {}
    )
    return {
        "line_counts": _grouped(Line.customer_id, ids),
        "user_counts": _grouped(PortalUser.customer_id, ids),
        "contracts": contracts,
        "managers": managers,
    }


def cities(base: Select) -> list[str]:
    sub = base.order_by(None).subquery()
    return list(db().scalars(select(sub.c.city).distinct().order_by(sub.c.city)))


def all_managers() -> list[StaffUser]:
    return list(
        db().scalars(
            select(StaffUser)
            .where(StaffUser.role == StaffRole.account_manager)
            .order_by(StaffUser.is_active.desc(), StaffUser.full_name)
        )
    )
