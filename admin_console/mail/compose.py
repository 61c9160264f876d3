"""Writing to customers: choose customers, then who at each of them receives the message, then
the text (from a template or free); preview the personalised messages; send.

One form, posted back to itself with the button that was pressed (``action``): search, select
all found, use template, preview, send. The chosen customers travel as checkboxes, so nothing
is lost between steps and the page works without JavaScript. Every chosen id is loaded through
the console's scope: a customer that is not the user's answers 404 and nothing is queued.
"""

from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from wtforms.fields.choices import SelectChoice

from admin_console import scope
from admin_console.mail import bp
from admin_console.mail.forms import ComposeForm, int_or_none
from core.web import actor, commit, db, runtime
from models import Customer, MailTemplate, StaffRole
from services import ServiceError, mail_compose, mail_templates

LIST_LIMIT = 100
PREVIEW_COUNT = 3
DONE_KEY = "mail.compose.done"
SEND_KEY_TTL = 24 * 3600
SENDERS = (StaffRole.account_manager, StaffRole.operator_admin)


def _ids(values: list[str]) -> set[int]:
    ids = set()
    for value in values:
        number = int_or_none(value) if value.strip().isdigit() else None
        if number is None:
            abort(404)
        ids.add(number)
    if len(ids) > mail_compose.MAX_CUSTOMERS:
        abort(400)
    return ids


def _load(ids: set[int]) -> list[Customer]:
    """The chosen customers through the scope; any id that is not the user's: 404."""
    if not ids:
        return []
    customers = list(
        db().scalars(
            scope.customers(current_user).where(Customer.id.in_(ids)).order_by(Customer.name)
        )
    )
    if len(customers) != len(ids):
        abort(404)
    return customers


def _matching(q: str):
    query = scope.customers(current_user)
    if q:
        like = f"%{q.lower()}%"
        digits = "".join(ch for ch in q if ch.isdigit())
        conditions = [
            func.lower(Customer.name).like(like),
            func.lower(Customer.number).like(like),
            func.lower(Customer.city).like(like),
        ]
        if digits:
            conditions.append(Customer.nip.like(f"%{digits}%"))
        query = query.where(or_(*conditions))
    return query


def _send_key_name(key: str) -> str:
    return f"asystent:mail-compose:{current_user.id}:{key}"


def _claim_send_key(key: str | None) -> bool:
    """True the first time this key sends (atomic in Redis, so two clicks cannot both win)."""
    if not key:
        return True  # an old form without a key: nothing to compare with
    return bool(runtime().redis.set(_send_key_name(key), "1", nx=True, ex=SEND_KEY_TTL))


def _release_send_key(key: str | None, action: str) -> None:
    """A refused send did not send: the same form may be corrected and sent."""
    if key and action == "send":
        runtime().redis.delete(_send_key_name(key))


def _excluding(query, ids: set[int]):
    return query.where(Customer.id.not_in(ids)) if ids else query


def _template_choices(form: ComposeForm) -> dict[int, MailTemplate]:
    templates = {t.id: t for t in mail_templates.active_templates(db())}
    form.template_id.choices = [SelectChoice("", _("— none, write the message here —"))] + [
        SelectChoice(t.id, t.name) for t in templates.values()
    ]
    return templates


def _use_template(form: ComposeForm, templates: dict[int, MailTemplate], overwrite: bool):
    template = templates.get(form.template_id.data) if form.template_id.data else None
    if form.template_id.data and template is None:
        form.template_id.errors = [_("This template is no longer available. Choose another.")]
        return None
    if template is not None and (overwrite or not (form.subject.data or form.body.data)):
        form.subject.data, form.body.data = template.subject, template.body
    return template


@bp.route("/compose", methods=["GET", "POST"])
def compose():
    scope.require_role(*SENDERS)
    form = ComposeForm()
    templates = _template_choices(form)
    posted = request.method == "POST"
    chosen = _load(
        _ids(request.form.getlist("customer") if posted else request.args.getlist("customer_id"))
    )
    plan, errors, status = None, {}, 200
    action = request.form.get("action", "") if posted else ""
    if posted and not form.validate():
        status = 400
    elif action == "select_all":
        room = mail_compose.MAX_CUSTOMERS - len(chosen)
        have = {c.id for c in chosen}
        found = list(
            db().scalars(
                _excluding(_matching(form.q.data), have).order_by(Customer.name).limit(room + 1)
            )
        )
        if len(found) > room:
            flash(
                _(
                    "At most %(n)d customers can be chosen at a time; "
                    "the first ones found were added.",
                    n=mail_compose.MAX_CUSTOMERS,
                ),
                "warning",
            )
        chosen = sorted(chosen + found[:room], key=lambda c: (c.name.lower(), c.id))
    elif action == "template":
        _use_template(form, templates, overwrite=True)
    elif action == "send" and not _claim_send_key(form.send_key.data):
        flash(_("This message has already been sent; it was not sent again."), "info")
        return redirect(url_for("mail.index"))
    elif action in ("preview", "send"):
        template = _use_template(form, templates, overwrite=False)
        if not form.template_id.errors:
            try:
                plan = _run(form, chosen, template, send=action == "send")
            except ServiceError as err:
                db().rollback()
                _release_send_key(form.send_key.data, action)
                errors[err.field or "form"] = err.text
                if err.field in ("subject", "body"):
                    getattr(form, err.field).errors = [err.text]
                status = 422
            except Exception:
                _release_send_key(form.send_key.data, action)
                raise
            else:
                if action == "send":
                    return redirect(url_for("mail.compose_done"))
        else:
            _release_send_key(form.send_key.data, action)
            status = 422
    elif not posted:
        template_id = request.args.get("template_id", type=int_or_none)
        if template_id in templates:
            form.template_id.data = template_id
            _use_template(form, templates, overwrite=True)

    if not form.send_key.data:
        form.send_key.data = secrets.token_urlsafe(18)
    q = form.q.data or ""
    have = {c.id for c in chosen}
    candidates_query = _excluding(_matching(q), have)
    found_total = db().scalar(select(func.count()).select_from(candidates_query.subquery()))
    candidates = list(db().scalars(candidates_query.order_by(Customer.name).limit(LIST_LIMIT)))
    return (
        render_template(
            "admin_console/mail/compose.html",
            form=form,
            chosen=chosen,
            candidates=candidates,
            found_total=found_total,
            list_limit=LIST_LIMIT,
            plan=plan,
            previews=plan.messages[:PREVIEW_COUNT] if plan else [],
            errors=errors,
            placeholders=mail_templates.PLACEHOLDERS,
            max_customers=mail_compose.MAX_CUSTOMERS,
        ),
        status,
    )


def _run(form: ComposeForm, chosen: list[Customer], template: MailTemplate | None, send: bool):
    options = {
        "contact_roles": form.contact_role_set(),
        "portal_roles": form.portal_role_set(),
        "subject": form.subject.data or "",
        "body": form.body.data or "",
        "sender": current_user,
        "portal_url": request.host_url,
    }
    if not send:
        return mail_compose.prepare(db(), chosen, **options)
    plan = mail_compose.send_to_customers(
        db(), actor(), chosen, template_id=template.id if template else None, **options
    )
    commit()
    without = plan.customers_without_recipients
    session[DONE_KEY] = {
        "messages": len(plan.messages),
        "customers": len(plan.customers_reached),
        "subject": _short(plan.messages[0].subject, 120),
        # Kept short: this travels in the session cookie to the confirmation page.
        "reached": [
            [g.customer.id, _short(g.customer.name), len(g.recipients)]
            for g in plan.customers_reached[:10]
        ],
        "without": [_short(g.customer.name) for g in without[:5]],
        "without_count": len(without),
    }
    return plan


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@bp.route("/compose/done")
def compose_done():
    scope.require_role(*SENDERS)
    done = session.pop(DONE_KEY, None)
    if not done:
        return redirect(url_for("mail.index"))
    return render_template("admin_console/mail/compose_done.html", done=done)
