"""Changes to a contract from its page: terms, items, activation, amendment, termination.

Each is a POST from a form on the contract page: load through the scope (404), check the
role (403), call one service, commit, redirect back with a message. A refusal re-renders the
page with the message on the field (or at the top) and status 422; nothing is kept.
"""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from admin_console.catalog.fields import show_refusal
from admin_console.contracts.common import bp, contract_or_404, render_contract, require_change
from admin_console.contracts.forms import ActionForm, AmendForm, ItemForm, TerminateForm, TermsForm
from core.web import actor, commit, db
from models import ContractItem, ContractState, Product, TariffPlan
from services import ServiceError, contracts


def _page(contract_id: int, anchor: str | None = None):
    return redirect(url_for("contracts.show", contract_id=contract_id, _anchor=anchor))


def _refused(contract, form_name: str, form, err: ServiceError, aliases=None):
    db().rollback()
    db().refresh(contract)
    show_refusal(form, err, aliases)
    return render_contract(contract, 422, **{form_name: form})


def _editable_or_refuse(contract):
    version = contracts.editable_version(db(), contract)
    if version is None:
        flash(
            _("This version is in force or past and cannot change; create an amendment."), "danger"
        )
    return version


@bp.route("/<int:contract_id>/terms", methods=["POST"])
def terms(contract_id: int):
    contract = contract_or_404(contract_id)
    require_change()
    form = TermsForm()
    version = _editable_or_refuse(contract)
    if version is None:
        return render_contract(contract, 422)
    if not form.validate():
        return render_contract(contract, 422, terms_form=form)
    dates = {}
    if contract.state == ContractState.draft:
        dates = {"valid_from": form.valid_from.data, "valid_to": form.valid_to.data}
    try:
        contracts.update_terms(
            db(),
            actor(),
            contract,
            version,
            subsidy_budget=form.subsidy_budget.data,
            approval_threshold=form.approval_threshold.data,
            repair_time_hours=form.repair_time_hours.data,
            response_time_hours=form.response_time_hours.data,
            tariff_discount_percent=form.tariff_discount_percent.data,
            handset_discount_percent=form.handset_discount_percent.data,
            accessory_discount_percent=form.accessory_discount_percent.data,
            note=form.note.data,
            **dates,
        )
    except ServiceError as err:
        return _refused(contract, "terms_form", form, err)
    commit()
    flash(_("The terms of version %(n)d have been saved.", n=version.number), "success")
    return _page(contract.id, "terms")


@bp.route("/<int:contract_id>/items", methods=["POST"])
def set_item(contract_id: int):
    contract = contract_or_404(contract_id)
    require_change()
    form = ItemForm()
    version = _editable_or_refuse(contract)
    if version is None:
        return render_contract(contract, 422)
    if not form.validate():
        return render_contract(contract, 422, item_form=form)
    target = form.target()
    thing = None
    if target is not None:
        model = TariffPlan if target[0] == "t" else Product
        thing = db().get(model, target[1])
    if thing is None:
        form.item.errors = [*form.item.errors, _("Choose a tariff or a product from the list.")]
        return render_contract(contract, 422, item_form=form)
    try:
        contracts.set_item(
            db(),
            actor(),
            contract,
            version,
            tariff=thing if isinstance(thing, TariffPlan) else None,
            product=thing if isinstance(thing, Product) else None,
            price=form.price.data,
            discount_percent=form.discount_percent.data,
        )
    except ServiceError as err:
        return _refused(contract, "item_form", form, err)
    commit()
    flash(_("%(name)s is on the contract.", name=thing.name), "success")
    return _page(contract.id, "items")


@bp.route("/<int:contract_id>/items/<int:item_id>/remove", methods=["POST"])
def remove_item(contract_id: int, item_id: int):
    contract = contract_or_404(contract_id)
    require_change()
    form = ActionForm()
    item = db().get(ContractItem, item_id)
    version = contracts.editable_version(db(), contract)
    if item is None or version is None or item.version_id != version.id:
        abort(404)
    if not form.validate():
        return render_contract(contract, 422, action_form=form)
    thing = (
        db().get(TariffPlan, item.tariff_id)
        if item.tariff_id
        else db().get(Product, item.product_id)
    )
    try:
        contracts.remove_item(db(), actor(), contract, version, item)
    except ServiceError as err:
        return _refused(contract, "action_form", form, err)
    commit()
    flash(_("%(name)s has been taken off the contract.", name=thing.name), "success")
    return _page(contract.id, "items")


@bp.route("/<int:contract_id>/activate", methods=["POST"])
def activate(contract_id: int):
    contract = contract_or_404(contract_id)
    require_change()
    form = ActionForm()
    if not form.validate():
        return render_contract(contract, 422, action_form=form)
    try:
        contracts.activate(db(), actor(), contract)
    except ServiceError as err:
        db().rollback()
        db().refresh(contract)
        flash(err.text, "danger")
        return render_contract(contract, 422)
    commit()
    flash(
        _(
            "Contract %(number)s is active: the customer's portal now shows its offer.",
            number=contract.number,
        ),
        "success",
    )
    return _page(contract.id)


@bp.route("/<int:contract_id>/amend", methods=["POST"])
def amend(contract_id: int):
    contract = contract_or_404(contract_id)
    require_change()
    form = AmendForm()
    if not form.validate():
        return render_contract(contract, 422, amend_form=form)
    try:
        version = contracts.amend(
            db(),
            actor(),
            contract,
            form.effective_from.data,
            form.amendment_note.data,
            staff_user_id=current_user.id,
        )
    except ServiceError as err:
        return _refused(contract, "amend_form", form, err, {"note": "amendment_note"})
    commit()
    flash(
        _(
            "Amendment %(n)d is prepared, in force from %(date)s. Change its terms and items "
            "below; until that day the current version applies.",
            n=version.number,
            date=format_date(version.effective_from, "medium"),
        ),
        "success",
    )
    return _page(contract.id, "terms")


@bp.route("/<int:contract_id>/terminate", methods=["POST"])
def terminate(contract_id: int):
    contract = contract_or_404(contract_id)
    require_change()
    form = TerminateForm()
    if not form.validate():
        return render_contract(contract, 422, terminate_form=form)
    was_draft = contract.state == ContractState.draft
    try:
        contracts.terminate(db(), actor(), contract, form.reason.data)
    except ServiceError as err:
        return _refused(contract, "terminate_form", form, err)
    commit()
    if was_draft:
        message = _("The draft %(number)s has been cancelled.", number=contract.number)
    else:
        message = _(
            "Contract %(number)s has been terminated: the customer now sees the standard offer.",
            number=contract.number,
        )
    flash(message, "success")
    return _page(contract.id)
