"""A customer's addresses (correspondence, invoice, delivery) and contacts."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from admin_console.customers import bp
from admin_console.customers.common import customer_for_change
from admin_console.customers.forms import ActionForm, AddressForm, ContactForm, refuse
from core.web import actor, commit, db
from models import Contact, Customer, CustomerAddress
from services import ServiceError
from services import customer_records as svc


def _of_customer(model, object_id: int, customer: Customer):
    """An address or contact of this customer; anything else (another customer's) is 404."""
    obj = db().scalar(select(model).where(model.id == object_id, model.customer_id == customer.id))
    if obj is None:
        abort(404)
    return obj


def _back(customer: Customer, anchor: str):
    return redirect(url_for("customers.detail", customer_id=customer.id, _anchor=anchor))


def _render(template: str, form, customer: Customer, **context):
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, customer=customer, **context), status


# --- addresses ------------------------------------------------------------------------------------


@bp.route("/customers/<int:customer_id>/addresses/new", methods=["GET", "POST"])
def address_new(customer_id: int):
    customer = customer_for_change(customer_id)
    form = AddressForm(kind=request.args.get("kind") or "correspondence")
    if form.validate_on_submit():
        try:
            svc.add_address(db(), actor(), customer, form.address_data())
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            flash(_("The address has been added."), "success")
            return _back(customer, "addresses")
    return _render("admin_console/customers/address_form.html", form, customer, address=None)


@bp.route("/customers/<int:customer_id>/addresses/<int:address_id>/edit", methods=["GET", "POST"])
def address_edit(customer_id: int, address_id: int):
    customer = customer_for_change(customer_id)
    address = _of_customer(CustomerAddress, address_id, customer)
    form = AddressForm(obj=address)
    if form.validate_on_submit():
        try:
            svc.update_address(db(), actor(), address, form.address_data())
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            flash(_("The address has been saved."), "success")
            return _back(customer, "addresses")
    return _render("admin_console/customers/address_form.html", form, customer, address=address)


@bp.route("/customers/<int:customer_id>/addresses/<int:address_id>/delete", methods=["POST"])
def address_delete(customer_id: int, address_id: int):
    customer = customer_for_change(customer_id)
    address = _of_customer(CustomerAddress, address_id, customer)
    if ActionForm().validate_on_submit():
        svc.delete_address(db(), actor(), address)
        commit()
        flash(_("The address has been deleted."), "success")
    return _back(customer, "addresses")


# --- contacts -------------------------------------------------------------------------------------


@bp.route("/customers/<int:customer_id>/contacts/new", methods=["GET", "POST"])
def contact_new(customer_id: int):
    customer = customer_for_change(customer_id)
    form = ContactForm(role=request.args.get("role") or "decision_maker")
    if form.validate_on_submit():
        try:
            contact = svc.add_contact(db(), actor(), customer, form.contact_data())
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            flash(_("%(name)s has been added to the contacts.", name=contact.full_name), "success")
            return _back(customer, "contacts")
    return _render("admin_console/customers/contact_form.html", form, customer, contact=None)


@bp.route("/customers/<int:customer_id>/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
def contact_edit(customer_id: int, contact_id: int):
    customer = customer_for_change(customer_id)
    contact = _of_customer(Contact, contact_id, customer)
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        try:
            svc.update_contact(db(), actor(), contact, form.contact_data())
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            flash(_("The contact %(name)s has been saved.", name=contact.full_name), "success")
            return _back(customer, "contacts")
    return _render("admin_console/customers/contact_form.html", form, customer, contact=contact)


@bp.route("/customers/<int:customer_id>/contacts/<int:contact_id>/delete", methods=["POST"])
def contact_delete(customer_id: int, contact_id: int):
    customer = customer_for_change(customer_id)
    contact = _of_customer(Contact, contact_id, customer)
    if ActionForm().validate_on_submit():
        name = contact.full_name
        svc.delete_contact(db(), actor(), contact)
        commit()
        flash(_("%(name)s has been removed from the contacts.", name=name), "success")
    return _back(customer, "contacts")
