"""The customer list, creating and editing a customer, its page, and its account manager."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from admin_console import scope
from admin_console.customers import bp, listing
from admin_console.customers import records as _records  # noqa: F401  (routes on bp)
from admin_console.customers import timeline as _timeline  # noqa: F401
from admin_console.customers import users as _users  # noqa: F401
from admin_console.customers.common import (
    customer_for_change,
    customer_for_reading,
    header_facts,
    is_operator_admin,
    manager_choices,
)
from admin_console.customers.forms import (
    CustomerForm,
    ManagerForm,
    address_kinds,
    contact_roles,
    int_or_none,
    note_kinds,
    refuse,
)
from admin_console.customers.timeline import render_entries
from core.web import actor, commit, db
from models import Contact, CustomerAddress, PortalUser, StaffRole
from services import ServiceError, customer_timeline
from services import customers as svc

__all__ = ["bp"]

bp.add_app_template_filter(svc.format_phone, "intl_phone")


@bp.route("/customers")
def index():
    managers_allowed = current_user.role != StaffRole.account_manager
    flt = listing.ListFilter.from_args(request.args, managers_allowed)
    base = scope.customers(current_user)
    customers, total = listing.page(base, flt)
    context = {
        "customers": customers,
        "total": total,
        "flt": flt,
        "page_size": listing.PAGE_SIZE,
        "pages": max(1, -(-total // listing.PAGE_SIZE)),
        **listing.row_facts(customers),
    }
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    if partial:
        html = render_template("admin_console/customers/_results.html", **context)
    else:
        html = render_template(
            "admin_console/customers/index.html",
            cities=listing.cities(base),
            filter_managers=listing.all_managers() if managers_allowed else [],
            can_create=scope.can_change_customer(current_user),
            **context,
        )
    response = make_response(html)
    response.vary.add("HX-Request")
    return response


def _form_status() -> int:
    return 422 if request.method == "POST" else 200


@bp.route("/customers/new", methods=["GET", "POST"])
def create():
    if not scope.can_change_customer(current_user):
        abort(403)
    form = CustomerForm()
    admin = is_operator_admin()
    if admin:
        form.account_manager_id.choices = manager_choices(_("— nobody yet —"))
    if form.validate_on_submit():
        manager_id = int_or_none(form.account_manager_id.data) if admin else current_user.id
        data = form.company_data()
        try:
            customer = svc.create_customer(
                db(),
                actor(),
                name=data.name,
                nip=data.nip,
                street=data.street,
                postal_code=data.postal_code,
                city=data.city,
                regon=data.regon,
                krs=data.krs,
                email=data.email,
                phone=data.phone,
                account_manager_id=manager_id,
            )
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            flash(_("The customer %(name)s has been created.", name=customer.name), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id))
    return (
        render_template("admin_console/customers/form.html", form=form, customer=None, admin=admin),
        _form_status(),
    )


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
def edit(customer_id: int):
    customer = customer_for_change(customer_id)
    form = CustomerForm(obj=customer)
    if form.validate_on_submit():
        try:
            changed = svc.update_customer(db(), actor(), customer, form.company_data())
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            if changed:
                flash(_("The company data has been saved."), "success")
            else:
                flash(_("Nothing has changed."), "info")
            return redirect(url_for("customers.detail", customer_id=customer.id))
    return (
        render_template(
            "admin_console/customers/form.html", form=form, customer=customer, admin=False
        ),
        _form_status(),
    )


@bp.route("/customers/<int:customer_id>")
def detail(customer_id: int):
    customer = customer_for_reading(customer_id)
    addresses = (
        db()
        .scalars(
            select(CustomerAddress)
            .where(CustomerAddress.customer_id == customer.id)
            .order_by(CustomerAddress.kind, CustomerAddress.id)
        )
        .all()
    )
    contacts = (
        db()
        .scalars(
            select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.full_name)
        )
        .all()
    )
    portal_emails = set(
        db().scalars(
            select(func.lower(PortalUser.email)).where(PortalUser.customer_id == customer.id)
        )
    )
    manager_form = None
    if is_operator_admin():
        manager_form = ManagerForm(account_manager_id=str(customer.account_manager_id or ""))
        manager_form.account_manager_id.choices = manager_choices(_("— nobody —"))
    recent = customer_timeline.page(db(), customer.id, size=5)
    return render_template(
        "admin_console/customers/detail.html",
        customer=customer,
        addresses=addresses,
        contacts=contacts,
        portal_emails=portal_emails,
        manager_form=manager_form,
        recent=recent,
        recent_rows=render_entries(recent.entries),
        note_labels=dict(note_kinds()),
        address_labels=dict(address_kinds()),
        contact_labels=dict(contact_roles()),
        can_change=scope.can_change_customer(current_user),
        tab="overview",
        **header_facts(customer),
    )


@bp.route("/customers/<int:customer_id>/manager", methods=["POST"])
def set_manager(customer_id: int):
    """Operator admins give the customer to an account manager (or to nobody)."""
    customer = customer_for_reading(customer_id)
    scope.require_role(StaffRole.operator_admin)
    form = ManagerForm()
    form.validate_on_submit()  # only the CSRF token (checked for every POST already)
    try:
        changed = svc.assign_manager(
            db(), actor(), [customer], int_or_none(form.account_manager_id.data)
        )
    except ServiceError as err:
        db().rollback()
        flash(err.text, "danger")
        return redirect(url_for("customers.detail", customer_id=customer_id))
    commit()
    if changed:
        manager = header_facts(customer)["manager"]
        if manager:
            message = _(
                "%(customer)s is now looked after by %(manager)s.",
                customer=customer.name,
                manager=manager.full_name,
            )
        else:
            message = _("%(customer)s has no account manager now.", customer=customer.name)
        flash(message, "success")
    return redirect(url_for("customers.detail", customer_id=customer_id))
