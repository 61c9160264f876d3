"""Contracts in the console: the list, a new draft, a contract's page and its versions.

Account managers see the contracts of their own customers only (any other id answers 404);
sales administrators read all; account managers and operator administrators change them.
The changes (terms, items, activation, amendments, termination) are in ``actions``, the PDF
for signature in ``documents``; both register their routes on the same blueprint.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from admin_console import scope
from admin_console.catalog.fields import show_refusal
from admin_console.contracts import actions as _actions  # noqa: F401  (routes on bp)
from admin_console.contracts import documents as _documents  # noqa: F401  (routes on bp)
from admin_console.contracts.common import (
    bp,
    contract_or_404,
    lines_of,
    render_contract,
    require_change,
    version_views,
)
from admin_console.contracts.forms import NewContractForm
from core.web import actor, commit, db
from models import Contract, ContractState, Customer, StaffUser
from services import ServiceError, contracts

__all__ = ["bp"]

PAGE_SIZE = 50
CUSTOMER_OPTIONS = 500


@bp.route("/")
def index():
    q = (request.args.get("q") or "").strip()[:100]
    state = request.args.get("state", "")
    state = state if state in {s.value for s in ContractState} else ""
    customer_id = request.args.get("customer_id", type=int)
    query = (
        select(Contract, Customer)
        .join(Customer, Customer.id == Contract.customer_id)
        .where(Customer.id.in_(scope.customers(current_user).with_only_columns(Customer.id)))
    )
    if state:
        query = query.where(Contract.state == ContractState(state))
    if customer_id:
        query = query.where(Contract.customer_id == customer_id)
    if q:
        like = f"%{q.lower()}%"
        digits = "".join(ch for ch in q if ch.isdigit())
        conditions = [
            func.lower(Contract.number).like(like),
            func.lower(Customer.name).like(like),
            func.lower(Customer.number).like(like),
        ]
        if len(digits) >= 3:
            conditions.append(Customer.nip.like(f"%{digits}%"))
        query = query.where(or_(*conditions))
    total = db().scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    rows = (
        db()
        .execute(
            query.order_by(Contract.created_at.desc(), Contract.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
        .all()
    )
    managers = dict(
        db()
        .execute(
            select(StaffUser.id, StaffUser.full_name).where(
                StaffUser.id.in_({c.account_manager_id for _k, c in rows if c.account_manager_id})
            )
        )
        .all()
    )
    return render_template(
        "admin_console/contracts/index.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        q=q,
        state=state,
        customer_id=customer_id,
        managers=managers,
        states=list(ContractState),
        can_change=scope.can_change_customer(current_user),
    )


def _find_customer(text: str) -> Customer | None:
    """A customer in scope by its number or NIP (with or without dashes)."""
    text = (text or "").strip()
    if not text:
        return None
    in_scope = scope.customers(current_user)
    found = db().scalar(in_scope.where(func.upper(Customer.number) == text.upper()))
    digits = "".join(ch for ch in text if ch.isdigit())
    if found is None and len(digits) == 10:
        found = db().scalar(in_scope.where(Customer.nip == digits))
    return found


@bp.route("/new", methods=["GET", "POST"])
def new():
    require_change()
    preset = None
    if request.args.get("customer_id", type=int):
        preset = scope.customer_or_404(current_user, request.args.get("customer_id", type=int))
    form = NewContractForm(customer=preset.number if preset else None, valid_from=contracts.today())
    if form.validate_on_submit():
        customer = _find_customer(form.customer.data)
        if customer is None:
            form.customer.errors = [
                *form.customer.errors,
                _("No customer of yours has this number or NIP."),
            ]
        else:
            try:
                contract = contracts.create_draft(
                    db(),
                    actor(),
                    customer,
                    valid_from=form.valid_from.data,
                    valid_to=form.valid_to.data,
                    staff_user_id=current_user.id,
                )
            except ServiceError as err:
                db().rollback()
                show_refusal(form, err)
            else:
                commit()
                flash(
                    _(
                        "Draft contract %(number)s for %(customer)s created. Add what the "
                        "customer may order, then activate it.",
                        number=contract.number,
                        customer=customer.name,
                    ),
                    "success",
                )
                return redirect(url_for("contracts.show", contract_id=contract.id))
    options = db().scalars(
        scope.customers(current_user).order_by(Customer.name).limit(CUSTOMER_OPTIONS)
    )
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "admin_console/contracts/new.html", form=form, preset=preset, options=list(options)
        ),
        status,
    )


@bp.route("/<int:contract_id>")
def show(contract_id: int):
    return render_contract(contract_or_404(contract_id))


@bp.route("/<int:contract_id>/versions/<int:n>")
def version(contract_id: int, n: int):
    contract = contract_or_404(contract_id)
    views = version_views(contract)
    shown = next((v for v in views if v.version.number == n), None)
    if shown is None:
        abort(404)
    return render_template(
        "admin_console/contracts/version.html",
        contract=contract,
        customer=db().get(Customer, contract.customer_id),
        versions=views,
        shown=shown,
        lines=lines_of(shown.version),
    )
