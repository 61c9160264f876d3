"""The corporate phone book: search, hide an entry, export as vCard or CSV.

Every portal user of a customer reads the whole company's phone book, whatever their role or
subtree (it is a directory); never another customer's. Hiding: an employee hides their own
entry, a fleet administrator any entry within their subtree (outside it: 404).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from core.web import actor, commit, db, runtime, safe_next
from models import Employee, OrgUnit, PortalRole, PortalUser
from portal.phonebook.forms import SearchForm, VisibilityForm
from portal.scope import can_manage
from services import phonebook
from services.fleet import format_msisdn

bp = Blueprint("phonebook", __name__, url_prefix="/phonebook")

EXPORT_BATCH = 5000
FILE_NAME = "ksiazka-telefoniczna"


def _own_employee_id(user: PortalUser) -> int | None:
    return user.employee_id if user.role == PortalRole.employee else None


def _manage_path(user: PortalUser) -> str | None:
    """The subtree a fleet administrator manages; None = the whole company."""
    return user.scope_unit.path if user.scope_unit is not None else None


@dataclass
class _Query:
    form: SearchForm
    search: phonebook.Search
    params: dict  # the search as query-string values, for links
    valid: bool


def _read_query(*, for_export: bool = False) -> _Query:
    user = current_user
    form = SearchForm(request.args)
    valid = form.validate()
    unit = None
    if form.unit.data is not None:
        unit = db().scalar(
            select(OrgUnit).where(
                OrgUnit.id == form.unit.data, OrgUnit.customer_id == user.customer_id
            )
        )
        if unit is None:
            abort(404)
    # Administrators may list the hidden entries they manage, to show them again; exports
    # never carry other people's hidden entries.
    reveal = bool(form.hidden.data) and can_manage(user) and not for_export
    search = phonebook.Search(
        db(),
        user.customer_id,
        form.q.data if valid else "",
        unit.path if unit else None,
        viewer_employee_id=_own_employee_id(user),
        reveal_hidden=reveal,
        manage_path=_manage_path(user),
    )
    form.unit.choices = [("", _("All departments")), *search.units.choices()]
    form.hidden.data = reveal
    params = {"q": form.q.data if valid else None, "unit": unit.id if unit else None}
    if reveal:
        params["hidden"] = "y"
    return _Query(form, search, {k: v for k, v in params.items() if v}, valid)


def _own_employee() -> Employee | None:
    employee_id = _own_employee_id(current_user)
    if employee_id is None:
        return None
    return db().scalar(
        select(Employee).where(
            Employee.id == employee_id, Employee.customer_id == current_user.customer_id
        )
    )


def _page_context(query: _Query, after: str | None, *, with_total: bool) -> dict:
    user = current_user
    admin = can_manage(user)
    manage_path = _manage_path(user)
    page = None
    if query.valid:
        page = query.search.page(db(), after, phonebook.PAGE_SIZE, with_total=with_total)
    return {
        "form": query.form,
        "page": page,
        "params": query.params,
        "after": after,
        "admin": admin,
        "own_employee_id": _own_employee_id(user),
        "can_toggle": lambda entry: (
            admin and phonebook.in_subtree(entry.unit_tree_path, manage_path)
        ),
        "msisdn": format_msisdn,
        "next_url": url_for("phonebook.index", **query.params, after=after),
    }


def _render_index(query: _Query, after: str | None = None):
    context = _page_context(query, after, with_total=True)
    return render_template(
        "portal/phonebook/index.html", own=_own_employee(), **context
    ), 200 if query.valid else 400


@bp.route("/")
@login_required
def index():
    query = _read_query()
    after = request.args.get("after") or None  # the service refuses what is not its own
    target = request.headers.get("HX-Target") if request.headers.get("HX-Request") else None
    if target == "pb-more":  # htmx: the next rows, appended in place of the "more" button
        context = _page_context(query, after, with_total=False)
        return render_template("portal/phonebook/_rows.html", **context)
    if target == "pb-results":  # htmx live search: the results block only
        # 200 even for a refused search: htmx swaps only 2xx, and the block shows the error.
        context = _page_context(query, None, with_total=True)
        return render_template("portal/phonebook/_results.html", live=True, **context)
    return _render_index(query, after)


@bp.route("/<int:employee_id>/visibility", methods=["POST"])
@login_required
def visibility(employee_id: int):
    user = current_user
    employee = db().scalar(
        select(Employee).where(Employee.id == employee_id, Employee.customer_id == user.customer_id)
    )
    if employee is None:
        abort(404)
    own = _own_employee_id(user) == employee.id
    if not own:
        if not can_manage(user):
            abort(403)
        unit_path = (
            db().scalar(select(OrgUnit.path).where(OrgUnit.id == employee.unit_id))
            if employee.unit_id is not None
            else None
        )
        if not phonebook.in_subtree(unit_path, _manage_path(user)):
            abort(404)
    form = VisibilityForm()
    if not form.validate_on_submit():
        abort(400)
    hidden = bool(form.hidden.data)
    phonebook.set_hidden(db(), actor(), employee, hidden)
    commit()
    if own:
        message = (
            _("Your entry is now hidden. Colleagues will not find you in the phone book.")
            if hidden
            else _("Your entry is visible in the phone book again.")
        )
    elif hidden:
        message = _(
            "The entry of %(name)s is now hidden from the phone book.", name=employee.full_name
        )
    else:
        message = _(
            "The entry of %(name)s is visible in the phone book again.", name=employee.full_name
        )
    flash(message, "success")
    return redirect(safe_next(form.next.data, url_for("phonebook.index")))


def _batches(search: phonebook.Search) -> Iterator[list[phonebook.Entry]]:
    """The whole search, a keyset batch at a time, each read in a short session of its own.

    Runs after the request has ended (the response streams), so it takes nothing from the
    request. On SQLite a read transaction needs no write lock: DEFERRED.
    """
    database = runtime().db

    def generate():
        after = None
        while True:
            session = database.new_session()
            try:
                if database.is_sqlite:
                    session.connection(execution_options={"sqlite_begin": "DEFERRED"})
                page = search.page(session, after, EXPORT_BATCH)
            finally:
                session.close()
            if page.entries:
                yield page.entries
            if page.next_cursor is None:
                return
            after = page.next_cursor

    return generate()


def _download(chunks: Iterator[str], mimetype: str, extension: str) -> Response:
    name = f"{FILE_NAME}-{phonebook.file_slug(current_user.customer.name)}.{extension}"
    response = Response(chunks, content_type=f"{mimetype}; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/export.vcf")
@login_required
def export_vcf():
    query = _read_query(for_export=True)
    if not query.valid:
        return _render_index(query)
    company = current_user.customer.name
    batches = _batches(query.search)
    chunks = ("".join(phonebook.vcard(e, company) for e in entries) for entries in batches)
    return _download(chunks, "text/vcard", "vcf")


@bp.route("/export.csv")
@login_required
def export_csv():
    query = _read_query(for_export=True)
    if not query.valid:
        return _render_index(query)
    header = [_("Full name"), _("Position"), _("Department"), _("Phone numbers"), _("E-mail")]
    return _download(phonebook.csv_chunks(_batches(query.search), header), "text/csv", "csv")
