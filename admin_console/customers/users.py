"""The customer's portal users: invitation by e-mail link, resend, password reset, lock and
unlock, role and department scope."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from admin_console import scope
from admin_console.customers import bp
from admin_console.customers.common import (
    customer_for_change,
    customer_for_reading,
    header_facts,
    links,
    mail_locale,
)
from admin_console.customers.forms import AccessForm, ActionForm, InviteForm, int_or_none, refuse
from core.web import actor, commit, db
from models import Customer, OrgUnit, PortalUser
from models.base import utcnow
from services import ServiceError, orgtree, portal_users
from services.account_links import INVITE, LIFETIME


def _user_of(customer: Customer, user_id: int) -> PortalUser:
    user = db().scalar(
        select(PortalUser).where(PortalUser.id == user_id, PortalUser.customer_id == customer.id)
    )
    if user is None:
        abort(404)
    return user


def unit_choices(customer: Customer, blank_label) -> list[tuple[str, str]]:
    """The customer's units depth-first, each labelled with its full path."""
    units = list(db().scalars(select(OrgUnit).where(OrgUnit.customer_id == customer.id)))
    choices = [("", blank_label)]

    def walk(nodes, trail):
        for node in nodes:
            path = [*trail, node.unit.name]
            choices.append((str(node.unit.id), " › ".join(path)))
            walk(node.children, path)

    walk(orgtree.build_tree(units), [])
    return choices


def _to_users(customer: Customer):
    return redirect(url_for("customers.users", customer_id=customer.id))


@bp.route("/customers/<int:customer_id>/users")
def users(customer_id: int):
    customer = customer_for_reading(customer_id)
    rows = (
        db()
        .scalars(
            select(PortalUser)
            .where(PortalUser.customer_id == customer.id)
            .order_by(PortalUser.is_active.desc(), PortalUser.full_name)
        )
        .all()
    )
    return render_template(
        "admin_console/customers/users.html",
        customer=customer,
        users=rows,
        invited=portal_users.last_invited(db(), [u.id for u in rows]),
        invite_lifetime=LIFETIME[INVITE],
        now=utcnow(),
        can_change=scope.can_change_customer(current_user),
        action_form=ActionForm(),
        tab="users",
        **header_facts(customer),
    )


def _render(form, customer: Customer, user: PortalUser | None):
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "admin_console/customers/user_form.html", form=form, customer=customer, user=user
        ),
        status,
    )


@bp.route("/customers/<int:customer_id>/users/invite", methods=["GET", "POST"])
def user_invite(customer_id: int):
    customer = customer_for_change(customer_id)
    # Prefilled from a contact ("Invite to the portal" on the customer's page).
    form = InviteForm(
        role=request.args.get("role") or "fleet_admin",
        email=(request.args.get("email") or "")[:254],
        full_name=(request.args.get("full_name") or "")[:200],
    )
    form.scope_unit_id.choices = unit_choices(customer, _("The whole company"))
    if form.validate_on_submit():
        try:
            with force_locale(mail_locale()):
                user = portal_users.invite(
                    db(),
                    actor(),
                    customer,
                    links(),
                    email=form.email.data,
                    full_name=form.full_name.data,
                    role=form.role.data,
                    scope_unit_id=int_or_none(form.scope_unit_id.data),
                    can_approve_orders=form.can_approve_orders.data,
                )
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            flash(_("The invitation has been sent to %(email)s.", email=user.email), "success")
            return _to_users(customer)
    return _render(form, customer, None)


@bp.route("/customers/<int:customer_id>/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(customer_id: int, user_id: int):
    customer = customer_for_change(customer_id)
    user = _user_of(customer, user_id)
    form = AccessForm(
        full_name=user.full_name,
        role=str(user.role),
        scope_unit_id=str(user.scope_unit_id or ""),
        can_approve_orders=user.can_approve_orders,
    )
    form.scope_unit_id.choices = unit_choices(customer, _("The whole company"))
    if form.validate_on_submit():
        try:
            changed = portal_users.set_access(
                db(),
                actor(),
                user,
                customer,
                full_name=form.full_name.data,
                role=form.role.data,
                scope_unit_id=int_or_none(form.scope_unit_id.data),
                can_approve_orders=form.can_approve_orders.data,
            )
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            if changed:
                flash(_("The access of %(name)s has been changed.", name=user.full_name), "success")
            else:
                flash(_("Nothing has changed."), "info")
            return _to_users(customer)
    return _render(form, customer, user)


def _action(customer_id: int, user_id: int, run, done):
    """A button on a user's row: ``run(customer, user)`` calls the service (False: nothing to
    do), ``done(user)`` says what happened."""
    customer = customer_for_change(customer_id)
    user = _user_of(customer, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with force_locale(mail_locale(user)):
            changed = run(customer, user)
    except ServiceError as err:
        db().rollback()
        flash(err.text, "danger")
    else:
        commit()
        if changed is not False:
            flash(done(user), "success")
    return _to_users(customer)


@bp.route("/customers/<int:customer_id>/users/<int:user_id>/resend", methods=["POST"])
def user_resend(customer_id: int, user_id: int):
    return _action(
        customer_id,
        user_id,
        lambda c, u: portal_users.resend_invitation(db(), actor(), u, c, links()),
        lambda u: _("A new invitation has been sent to %(email)s.", email=u.email),
    )


@bp.route("/customers/<int:customer_id>/users/<int:user_id>/reset", methods=["POST"])
def user_reset(customer_id: int, user_id: int):
    return _action(
        customer_id,
        user_id,
        lambda c, u: portal_users.send_reset(db(), actor(), u, links()),
        lambda u: _("A password reset link has been sent to %(email)s.", email=u.email),
    )


@bp.route("/customers/<int:customer_id>/users/<int:user_id>/lock", methods=["POST"])
def user_lock(customer_id: int, user_id: int):
    return _action(
        customer_id,
        user_id,
        lambda c, u: portal_users.set_locked(db(), actor(), u, True),
        lambda u: _(
            "%(name)s is locked: cannot sign in, and open sessions have ended.", name=u.full_name
        ),
    )


@bp.route("/customers/<int:customer_id>/users/<int:user_id>/unlock", methods=["POST"])
def user_unlock(customer_id: int, user_id: int):
    return _action(
        customer_id,
        user_id,
        lambda c, u: portal_users.set_locked(db(), actor(), u, False),
        lambda u: _("%(name)s can sign in again.", name=u.full_name),
    )
