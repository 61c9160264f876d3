"""Mail templates: the list, creating and editing one, switching it off and on, and the live
preview of its placeholders for a chosen customer.

Account managers and operator admins change templates (they are shared by all staff); sales
admins read them. The preview is rendered on the server: on every page load, with the Preview
button, and as the text changes (htmx posts the form to ``template_preview``).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from admin_console import scope
from admin_console.mail import bp
from admin_console.mail.forms import ActionForm, PreviewForm, TemplateForm
from core.web import actor, commit, db
from models import (
    Contact,
    ContactRole,
    Customer,
    MailTemplate,
    PortalRole,
    PortalUser,
    StaffRole,
    StaffUser,
)
from services import ServiceError, mail_compose, mail_templates

EDITORS = (StaffRole.account_manager, StaffRole.operator_admin)
READERS = (*EDITORS, StaffRole.sales_admin)
PREVIEW_CHOICES = 300
CONTACT_ORDER = [
    ContactRole.decision_maker,
    ContactRole.fleet_admin,
    ContactRole.finance,
    ContactRole.technical,
    ContactRole.other,
]


def _template_or_404(template_id: int) -> MailTemplate:
    template = db().get(MailTemplate, template_id)
    if template is None:
        abort(404)
    return template


def can_edit() -> bool:
    return current_user.role in EDITORS


@bp.route("/templates")
def templates():
    scope.require_role(*READERS)
    rows = list(
        db().scalars(
            select(MailTemplate).order_by(
                MailTemplate.is_active.desc(), func.lower(MailTemplate.name)
            )
        )
    )
    return render_template(
        "admin_console/mail/templates.html",
        templates=rows,
        can_edit=can_edit(),
        placeholders=mail_templates.PLACEHOLDERS,
    )


@bp.route("/templates/new", methods=["GET", "POST"])
def template_new():
    scope.require_role(*EDITORS)
    return _edit(None)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
def template(template_id: int):
    template = _template_or_404(template_id)
    scope.require_role(*READERS)
    if request.method == "POST" and request.form.get("action") != "preview" and not can_edit():
        abort(403)  # readers may press Preview, not Save
    return _edit(template)


def _edit(template: MailTemplate | None):
    form = TemplateForm(obj=template)
    customers = _preview_choices(form)
    status = 200
    if request.method == "POST" and request.form.get("action") != "preview":
        if form.validate():
            try:
                if template is None:
                    template = mail_templates.create_template(
                        db(), actor(), form.name.data, form.subject.data, form.body.data
                    )
                else:
                    mail_templates.update_template(
                        db(), actor(), template, form.name.data, form.subject.data, form.body.data
                    )
            except ServiceError as err:
                db().rollback()
                _refuse(form, err)
                status = 422
            else:
                commit()
                flash(_("The template %(name)s is saved.", name=template.name), "success")
                return redirect(url_for("mail.templates"))
        else:
            status = 400
    elif request.method == "POST" and not form.validate():
        status = 400
    return (
        render_template(
            "admin_console/mail/template_form.html",
            form=form,
            template=template,
            can_edit=can_edit(),
            preview=_preview(form, customers),
            placeholders=mail_templates.PLACEHOLDERS,
        ),
        status,
    )


def _refuse(form, err: ServiceError) -> None:
    field = getattr(form, err.field, None) if err.field else None
    if field is not None:
        field.errors = [*field.errors, err.text]
    else:
        form.form_errors.append(err.text)


@bp.route("/templates/<int:template_id>/active", methods=["POST"])
def template_active(template_id: int):
    template = _template_or_404(template_id)
    scope.require_role(*EDITORS)
    if not ActionForm().validate_on_submit():
        flash(_("The form has expired. Reload the page and try again."), "danger")
        return redirect(url_for("mail.templates"))
    active = request.form.get("active") == "1"
    mail_templates.set_active(db(), actor(), template, active)
    commit()
    if active:
        flash(_("The template %(name)s can be used again.", name=template.name), "success")
    else:
        flash(
            _(
                "The template %(name)s is switched off: it is no longer offered when writing. "
                "Messages already sent keep their text.",
                name=template.name,
            ),
            "success",
        )
    return redirect(url_for("mail.templates"))


@bp.route("/templates/preview", methods=["POST"])
def template_preview():
    """The preview panel alone, for htmx as the subject or text changes."""
    scope.require_role(*READERS)
    form = PreviewForm()
    customers = _preview_choices(form)
    if not form.validate():
        abort(400)
    return render_template(
        "admin_console/mail/_template_preview.html", preview=_preview(form, customers)
    )


# --- the preview ----------------------------------------------------------------------------


def _preview_choices(form) -> dict[int, Customer]:
    """The user's customers to preview for (by name; the chosen one even beyond the first)."""
    query = scope.customers(current_user).order_by(Customer.name, Customer.id)
    customers = {c.id: c for c in db().scalars(query.limit(PREVIEW_CHOICES))}
    chosen = form.preview_customer.data
    if chosen and chosen not in customers:
        customer = scope.customer_or_404(current_user, chosen)
        customers[customer.id] = customer
    form.preview_customer.choices = [
        SelectChoice(c.id, f"{c.name} ({c.number})") for c in customers.values()
    ]
    if not chosen and customers:
        form.preview_customer.data = next(iter(customers))
    return customers


def _preview(form, customers: dict[int, Customer]) -> dict:
    """What the first recipient at the chosen customer would read, or why it cannot be made."""
    subject, body = form.subject.data or "", form.body.data or ""
    customer = customers.get(form.preview_customer.data)
    values = _sample_values(customer)
    try:
        text = mail_templates.render(body, values, "body")
        line = mail_templates.render_subject(subject, values)
    except ServiceError as err:
        return {"error": err.text, "field": err.field}
    return {
        "customer": customer,
        "to": values["contact_name"],
        "subject": line,
        "body": text,
        "empty": not (subject.strip() or body.strip()),
    }


def _sample_values(customer: Customer | None) -> dict[str, str]:
    portal_url = request.host_url
    if customer is None:
        return {
            "customer_name": _("[company name]"),
            "customer_number": _("[customer number]"),
            "contact_name": _("[recipient's name]"),
            "manager_name": current_user.full_name,
            "manager_email": current_user.email,
            "portal_url": portal_url,
        }
    manager = (
        db().get(StaffUser, customer.account_manager_id) if customer.account_manager_id else None
    )
    return mail_compose.placeholder_values(
        customer,
        _first_person(customer) or _("[recipient's name]"),
        manager or current_user,
        portal_url,
    )


def _first_person(customer: Customer) -> str | None:
    """A real name at the customer: a contact (decision makers first), else a portal admin."""
    contacts = (
        db()
        .execute(select(Contact.full_name, Contact.role).where(Contact.customer_id == customer.id))
        .all()
    )
    if contacts:
        return min(contacts, key=lambda c: CONTACT_ORDER.index(c.role)).full_name
    return db().scalar(
        select(PortalUser.full_name)
        .where(
            PortalUser.customer_id == customer.id,
            PortalUser.role == PortalRole.fleet_admin,
            PortalUser.is_active.is_(True),
        )
        .order_by(PortalUser.id)
        .limit(1)
    )
