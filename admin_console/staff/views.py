"""Staff management (operator administrators only; everyone else 403): the list, new accounts
invited by e-mail, roles, deactivation, two-step sign-in reset, and which customers each account
manager looks after. The invitation page itself (``welcome``) is for the invited person."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from admin_console import scope
from admin_console.customers.common import links, mail_locale
from admin_console.customers.forms import ActionForm, refuse
from admin_console.staff.forms import AssignForm, HandoverForm, RoleForm, StaffForm, staff_roles
from core.web import actor, client_address, commit, db, runtime
from models import AuditEvent, Customer, StaffRole, StaffUser
from portal.auth.forms import SetPasswordForm
from services import ServiceError, account_links
from services import customers as customer_svc
from services import staff as svc
from services.account_links import CONSOLE_PATHS, INVITE

bp = Blueprint("staff", __name__, url_prefix="/staff")

PUBLIC = "staff.welcome"  # listed in admin_console.PUBLIC_ENDPOINTS


@bp.before_request
def _operator_admins_only():
    if request.endpoint != PUBLIC:
        scope.require_role(StaffRole.operator_admin)


def _staff_or_404(staff_id: int) -> StaffUser:
    user = db().get(StaffUser, staff_id)
    if user is None:
        abort(404)
    return user


def _to_detail(user: StaffUser, anchor: str | None = None):
    return redirect(url_for("staff.detail", staff_id=user.id, _anchor=anchor))


@bp.route("/")
def index():
    role = request.args.get("role") if request.args.get("role") in StaffRole.__members__ else ""
    status = request.args.get("status") if request.args.get("status") in ("active", "off") else ""
    query = select(StaffUser).order_by(StaffUser.is_active.desc(), StaffUser.full_name)
    if role:
        query = query.where(StaffUser.role == StaffRole(role))
    if status:
        query = query.where(StaffUser.is_active.is_(status == "active"))
    people = list(db().scalars(query))
    counts = dict(
        db()
        .execute(
            select(Customer.account_manager_id, func.count())
            .where(Customer.account_manager_id.is_not(None))
            .group_by(Customer.account_manager_id)
        )
        .all()
    )
    unassigned = db().scalar(
        select(func.count()).select_from(Customer).where(Customer.account_manager_id.is_(None))
    )
    return render_template(
        "admin_console/staff/index.html",
        people=people,
        counts=counts,
        unassigned=unassigned,
        role=role,
        status=status,
        roles=staff_roles(),
    )


@bp.route("/new", methods=["GET", "POST"])
def create():
    form = StaffForm(role=request.args.get("role") or "account_manager")
    if form.validate_on_submit():
        try:
            with force_locale(mail_locale()):
                user = svc.create(
                    db(),
                    actor(),
                    links(),
                    email=form.email.data,
                    full_name=form.full_name.data,
                    role=form.role.data,
                )
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            flash(
                _(
                    "The account of %(name)s has been created; the invitation has gone to "
                    "%(email)s.",
                    name=user.full_name,
                    email=user.email,
                ),
                "success",
            )
            return _to_detail(user)
    status = 422 if request.method == "POST" else 200
    return render_template("admin_console/staff/form.html", form=form), status


@bp.route("/<int:staff_id>")
def detail(staff_id: int):
    user = _staff_or_404(staff_id)
    customers = list(
        db().scalars(
            select(Customer).where(Customer.account_manager_id == user.id).order_by(Customer.name)
        )
    )
    assign_form = handover_form = None
    if user.role == StaffRole.account_manager:
        assign_form = AssignForm()
        others = db().execute(
            select(Customer, StaffUser.full_name)
            .outerjoin(StaffUser, StaffUser.id == Customer.account_manager_id)
            .where((Customer.account_manager_id != user.id) | Customer.account_manager_id.is_(None))
            .order_by(Customer.name)
        )
        assign_form.customer_ids.choices = [
            (
                str(c.id),
                f"{c.name} ({c.number}) — {manager or _('nobody')}",
            )
            for c, manager in others
        ]
        handover_form = HandoverForm()
        handover_form.target_id.choices = _targets(user)
    history = db().scalars(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == StaffUser.__tablename__,
            AuditEvent.object_id == user.id,
            AuditEvent.action != "console.login",
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(20)
    )
    return render_template(
        "admin_console/staff/detail.html",
        person=user,
        customers=customers,
        role_form=RoleForm(role=str(user.role)),
        assign_form=assign_form,
        handover_form=handover_form,
        history=list(history),
        history_labels=_history_labels(),
        is_self=user.id == current_user.id,
    )


def _history_labels() -> dict[str, str]:
    return {
        "staff.created": _("Account created, invitation sent"),
        "staff.invitation_resent": _("Invitation sent again"),
        "staff.password_set": _("Password set"),
        "staff.role_changed": _("Role changed"),
        "staff.deactivated": _("Deactivated"),
        "staff.reactivated": _("Reactivated"),
        "staff.totp_reset": _("Two-step sign-in reset"),
        "console.totp_enabled": _("Two-step sign-in set up"),
        "console.login_failed": _("Failed sign-in attempt"),
    }


def _targets(user: StaffUser) -> list[tuple[str, str]]:
    managers = db().scalars(
        select(StaffUser)
        .where(
            StaffUser.role == StaffRole.account_manager,
            StaffUser.is_active.is_(True),
            StaffUser.id != user.id,
        )
        .order_by(StaffUser.full_name)
    )
    return [("", _("— nobody —"))] + [(str(m.id), m.full_name) for m in managers]


def _run(user: StaffUser, call, done: str, anchor: str | None = None):
    """A button on the staff page: run the service, commit, say what happened."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        changed = call()
    except ServiceError as err:
        db().rollback()
        flash(err.text, "danger")
    else:
        commit()
        flash(
            done if changed is not False else _("Nothing has changed."),
            "success" if changed is not False else "info",
        )
    return _to_detail(user, anchor)


@bp.route("/<int:staff_id>/role", methods=["POST"])
def change_role(staff_id: int):
    user = _staff_or_404(staff_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose a role."), "danger")
        return _to_detail(user)
    return _run(
        user,
        lambda: svc.change_role(db(), actor(), user, form.role.data),
        _("%(name)s has a new role.", name=user.full_name),
    )


@bp.route("/<int:staff_id>/deactivate", methods=["POST"])
def deactivate(staff_id: int):
    user = _staff_or_404(staff_id)
    return _run(
        user,
        lambda: svc.set_active(db(), actor(), user, False),
        _("%(name)s can no longer sign in.", name=user.full_name),
    )


@bp.route("/<int:staff_id>/reactivate", methods=["POST"])
def reactivate(staff_id: int):
    user = _staff_or_404(staff_id)
    return _run(
        user,
        lambda: svc.set_active(db(), actor(), user, True),
        _("%(name)s can sign in again.", name=user.full_name),
    )


@bp.route("/<int:staff_id>/totp-reset", methods=["POST"])
def reset_totp(staff_id: int):
    user = _staff_or_404(staff_id)
    return _run(
        user,
        lambda: svc.reset_totp(db(), actor(), user),
        _(
            "Two-step sign-in of %(name)s has been reset: the authenticator app is set up "
            "again at the next sign-in.",
            name=user.full_name,
        ),
    )


@bp.route("/<int:staff_id>/invite", methods=["POST"])
def resend(staff_id: int):
    user = _staff_or_404(staff_id)

    def call():
        with force_locale(mail_locale(user)):
            svc.resend_invitation(db(), actor(), user, links())

    return _run(user, call, _("A new invitation has been sent to %(email)s.", email=user.email))


@bp.route("/<int:staff_id>/customers/assign", methods=["POST"])
def assign(staff_id: int):
    user = _staff_or_404(staff_id)
    form = AssignForm()
    if not form.validate_on_submit() or not form.ids():
        flash(_("Choose at least one customer."), "danger")
        return _to_detail(user, "customers")
    chosen = list(db().scalars(select(Customer).where(Customer.id.in_(form.ids()))))
    return _run(
        user,
        lambda: customer_svc.assign_manager(db(), actor(), chosen, user.id),
        _("%(name)s now looks after the chosen customers.", name=user.full_name),
        "customers",
    )


@bp.route("/<int:staff_id>/customers/handover", methods=["POST"])
def handover(staff_id: int):
    user = _staff_or_404(staff_id)
    form = HandoverForm()
    ids = form.ids() if form.validate_on_submit() else []
    if not ids:
        flash(_("Tick the customers to hand over."), "danger")
        return _to_detail(user, "customers")
    chosen = list(
        db().scalars(
            select(Customer).where(Customer.id.in_(ids), Customer.account_manager_id == user.id)
        )
    )
    target = int(form.target_id.data) if (form.target_id.data or "").isdigit() else None
    return _run(
        user,
        lambda: customer_svc.assign_manager(db(), actor(), chosen, target),
        _("The chosen customers have been handed over."),
        "customers",
    )


@bp.route(CONSOLE_PATHS[INVITE].removeprefix("/staff") + "<token>", methods=["GET", "POST"])
def welcome(token: str):
    """The invited staff member sets a password, then signs in (with a code where needed)."""
    if current_user.is_authenticated:
        flash(_("Sign out first to accept an invitation for another account."), "info")
        return redirect(url_for("index"))
    try:
        user = account_links.read_token(
            db(), runtime().settings.secret_key, StaffUser, INVITE, token
        )
    except ServiceError as err:
        status = 410 if err.details.get("reason") == "expired" else 400
        return render_template("admin_console/staff/welcome.html", error=err.text), status
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            account_links.set_password(db(), user, form.password.data, INVITE, client_address())
        except ServiceError as err:
            db().rollback()
            form.password.errors = [*form.password.errors, err.text]
        else:
            commit()
            flash(
                _("Your password has been set. Sign in with your e-mail and the new password."),
                "success",
            )
            return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin_console/staff/welcome.html", form=form, person=user), status
