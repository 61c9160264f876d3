"""The customer's timeline (notes, events, e-mail; newest first, filtered by kind, paged) and
adding a note to it."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from admin_console import scope
from admin_console.customers import bp
from admin_console.customers.common import (
    customer_for_change,
    customer_for_reading,
    header_facts,
)
from admin_console.customers.forms import NoteForm, note_kinds, refuse
from admin_console.customers.timeline_text import describe, object_labels
from core.web import actor, commit, db
from models import Customer, StaffUser
from services import ServiceError, customer_timeline
from services import customer_records as svc


def kind_choices() -> list[tuple[str, str]]:
    return [
        ("", _("Everything (without sign-ins)")),
        ("notes", _("Notes")),
        ("mail", _("E-mail")),
        ("contracts", _("Contracts")),
        ("orders", _("Orders")),
        ("service", _("Lines, network and service requests")),
        ("records", _("Company data, contacts, units")),
        ("users", _("Portal users")),
        ("signins", _("Portal sign-ins")),
    ]


def render_entries(entries) -> list[tuple]:
    """Each entry with its description (events) ready for the template; staff are named as
    people, customers' users by their e-mail."""
    refs = object_labels(entries)
    staff_ids = {
        e.event.actor_id for e in entries if e.event is not None and e.event.actor_kind == "staff"
    }
    names = (
        dict(
            db()
            .execute(select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(staff_ids)))
            .all()
        )
        if staff_ids
        else {}
    )
    for e in entries:
        if e.event is not None and e.event.actor_kind == "staff":
            e.author = names.get(e.event.actor_id, e.author)
    return [(e, describe(e, refs) if e.source == "event" else None) for e in entries]


def _page(customer: Customer, form: NoteForm, status: int = 200):
    kind = request.args.get("kind") or None
    if kind not in customer_timeline.KINDS:
        kind = None
    cursor = request.args.get("before") or None
    page = customer_timeline.page(db(), customer.id, kind=kind, cursor=cursor)
    return (
        render_template(
            "admin_console/customers/timeline.html",
            customer=customer,
            form=form,
            kind=kind or "",
            kinds=kind_choices(),
            note_labels=dict(note_kinds()),
            rows=render_entries(page.entries),
            next_cursor=page.next_cursor,
            first_page=cursor is None,
            can_change=scope.can_change_customer(current_user),
            tab="timeline",
            **header_facts(customer),
        ),
        status,
    )


@bp.route("/customers/<int:customer_id>/timeline")
def timeline(customer_id: int):
    customer = customer_for_reading(customer_id)
    return _page(customer, NoteForm())


@bp.route("/customers/<int:customer_id>/notes", methods=["POST"])
def note_add(customer_id: int):
    customer = customer_for_change(customer_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            svc.add_note(db(), actor(), customer, form.kind.data, form.body.data)
        except ServiceError as err:
            refuse(form, err)
        else:
            commit()
            flash(_("The note has been added to the timeline."), "success")
            return redirect(url_for("customers.timeline", customer_id=customer.id))
    return _page(customer, form, 422)
