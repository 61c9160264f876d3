"""The fleet list (/fleet/) and the line page (/fleet/<line_id>). Changes: portal.fleet.bulk.

Everything is read through the user's fleet scope: another customer's or another division's
line is not found (404), a filter naming one finds nothing.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import select

from core.web import db
from models import (
    AuditEvent,
    Employee,
    Line,
    OrgUnit,
    Product,
    ProductKind,
    ProvisioningRequest,
    TariffPlan,
)
from portal import scope as tenant
from portal.fleet import history
from portal.fleet.forms import ChangeForm, ColumnsForm
from portal.fleet.labels import (
    COLUMNS,
    DEFAULT_COLUMNS,
    REQUEST_STATUS_LABELS,
    SERVICE_ICONS,
    SERVICE_LABELS,
    STATUS_BADGES,
    STATUS_LABELS,
    row_snippets,
)
from services import fleet as fl
from services import provisioning
from services.orgtree import ancestors

bp = Blueprint("fleet", __name__, url_prefix="/fleet")

PAGE_SIZES = (25, 50, 100, 200)
FILTER_KEYS = (
    "q",
    "unit_id",
    "subtree",
    "tariff_id",
    "status",
    "service",
    "service_on",
    "handset_id",
    "sort",
    "desc",
)
LIST_KEYS = (*FILTER_KEYS, "size", "after", "before", "last")
HISTORY_PAGE = 30
# a request's action -> the line status once the network confirms it
STATUS_AFTER = {
    "suspend": "suspended",
    "resume": "active",
    "activate": "active",
    "terminate": "terminated",
}


@bp.context_processor
def _fleet_labels():
    # Translated once per page (not once per row and cell).
    return {
        "STATUS_LABELS": {k: str(v) for k, v in STATUS_LABELS.items()},
        "STATUS_BADGES": STATUS_BADGES,
        "SERVICE_LABELS": {k: str(v) for k, v in SERVICE_LABELS.items()},
        "SERVICE_ICONS": SERVICE_ICONS,
        "REQUEST_STATUS_LABELS": {k: str(v) for k, v in REQUEST_STATUS_LABELS.items()},
        "format_msisdn": fl.format_msisdn,
        "option_tags": option_tags,
    }


# --- what the pages offer ----------------------------------------------------------------


def unit_options(user) -> list[tuple[int, str]]:
    """The user's units as "Root / Division / Team", in tree order (columns only: a company
    may have thousands of units). Parents are read before children, so each label is its
    parent's plus one name."""
    query = (
        tenant.units(user)
        .with_only_columns(OrgUnit.id, OrgUnit.name, OrgUnit.parent_id)
        .order_by(OrgUnit.depth)
    )
    label: dict[int, str] = {}
    key: dict[int, str] = {}  # sorts like the tuple of lower-case names ("\0" < any letter)
    for uid, name, parent in db().execute(query):
        if parent in label:
            label[uid] = f"{label[parent]} / {name}"
            key[uid] = f"{key[parent]}\0{name.lower()}"
        else:
            label[uid], key[uid] = name, name.lower()
    return [(uid, label[uid]) for uid in sorted(label, key=key.__getitem__)]


def page_unit_labels(user, rows) -> dict[int, str]:
    """Path labels of just the units on a page of the list (for an htmx update, which needs no
    unit select)."""
    paths = {unit.id: unit.path for _line, _e, unit, _t, _h in rows}
    ids = {int(p) for path in paths.values() for p in path.strip("/").split("/") if p}
    if not ids:
        return {}
    query = tenant.units(user).with_only_columns(OrgUnit.id, OrgUnit.name)
    names = dict(db().execute(query.where(OrgUnit.id.in_(ids))).all())
    return {
        uid: " / ".join(names[int(p)] for p in path.strip("/").split("/") if int(p) in names)
        for uid, path in paths.items()
    }


def option_tags(options, selected=None) -> Markup:
    """<option> elements for (value, label) pairs: thousands of units are written in Python,
    several times faster than a template loop."""
    chosen = str(selected) if selected not in (None, "") else None
    # Safe: the value is an int and the label is escaped.
    return Markup(  # noqa: S704
        "".join(
            f'<option value="{int(value)}"{" selected" if str(value) == chosen else ""}>'
            f"{escape(label)}</option>"
            for value, label in options
        )
    )


def tariff_options(customer_id: int | None = None) -> list[tuple[int, str]]:
    """All plans (for filtering), or those the customer may choose (for changes)."""
    query = select(TariffPlan.id, TariffPlan.name).order_by(TariffPlan.name)
    if customer_id is not None:
        query = query.where(TariffPlan.id.in_(fl.allowed_tariff_ids(db(), customer_id) or [0]))
    return [tuple(r) for r in db().execute(query)]


def handset_options() -> list[tuple[int, str]]:
    query = (
        select(Product.id, Product.name)
        .where(Product.kind == ProductKind.handset)
        .order_by(Product.name)
    )
    return [tuple(r) for r in db().execute(query)]


def chosen_columns() -> list[str]:
    saved = (session.get("fleet_columns") or {}).get(str(current_user.id))
    cols = [c for c in COLUMNS if c in (saved or DEFAULT_COLUMNS)]
    return cols if "msisdn" in cols else ["msisdn", *cols]


def list_args(params) -> dict:
    """The list's own query parameters (first value of each, no empties)."""
    out = {}
    for key in LIST_KEYS:
        value = params.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value not in (None, ""):
            out[key] = str(value)[:600]
    return out


def list_url_from(query_string: str | None) -> str:
    """Back to the list as it was (only the list's own parameters are kept)."""
    return url_for("fleet.index", **list_args(parse_qs(query_string or "")))


def _page_size(params) -> int:
    try:
        size = int(params.get("size") or fl.PAGE_SIZE)
    except (TypeError, ValueError):
        return fl.PAGE_SIZE
    return size if size in PAGE_SIZES else fl.PAGE_SIZE


def pending_summary(open_requests: dict) -> dict[int, dict]:
    """Per line, where its open requests lead: {"services": {name: on}, "tariff_id": id,
    "status": status}, from the last open request of each kind."""
    out: dict[int, dict] = {}
    for line_id, reqs in open_requests.items():
        summary: dict = {"services": {}}
        for req in reqs:  # oldest first: the last one wins
            if req.action == "set_service":
                summary["services"][str(req.params.get("service"))] = bool(req.params.get("on"))
            elif req.action == "change_tariff":
                summary["tariff_id"] = req.params.get("tariff_id")
            elif req.action in STATUS_AFTER:
                summary["status"] = STATUS_AFTER[req.action]
        out[line_id] = summary
    return out


# --- the list -----------------------------------------------------------------------------


def render_list(params, *, form=None, selected=(), target="selected", status=200, partial=False):
    user = current_user
    scope = tenant.fleet_scope(user)
    flt = fl.FleetFilter.from_params(params)
    size = _page_size(params)
    page = fl.page(
        db(),
        scope,
        flt,
        after=params.get("after"),
        before=params.get("before"),
        last=bool(params.get("last")),
        size=size,
        count_limit=fl.COUNT_LIMIT,
    )
    pending = pending_summary(provisioning.open_requests(db(), [row[0].id for row in page.rows]))
    units = [] if partial else unit_options(user)
    labels = page_unit_labels(user, page.rows) if partial else dict(units)
    manager = tenant.can_manage(user)
    if manager and form is None:
        form = ChangeForm(formdata=None)
    if form is not None:
        form.set_choices(tariff_options(user.customer_id))
    # "Move to": loaded when first needed (unit_choices), unless a refused form shows a choice.
    move_options = units if form is not None and form.unit_id.data and not partial else []
    all_tariffs = tariff_options()
    base = {**flt.as_params(), **({"size": size} if size != fl.PAGE_SIZE else {})}

    def list_url(**overrides):
        args = {**base, **overrides}
        return url_for("fleet.index", **{k: v for k, v in args.items() if v not in (None, "")})

    context = {
        "flt": flt,
        "page": page,
        "pending": pending,
        "columns": chosen_columns(),
        "all_columns": COLUMNS,
        "unit_options": units,
        "move_options": move_options,
        "unit_labels": labels,
        "unit_short": {
            row[2].id: " › ".join(labels.get(row[2].id, row[2].name).split(" / ")[-2:])
            for row in page.rows
        },
        "txt_on": gettext("on"),
        "txt_off": gettext("off"),
        **row_snippets(),
        "line_url": url_for("fleet.line", line_id=0)[:-1],
        "unit_url": (
            url_for("units.detail", unit_id=0)[:-1]
            if "units.detail" in current_app.view_functions
            else None
        ),
        "tariff_options": all_tariffs,
        "tariff_names": dict(all_tariffs),
        "handset_options": handset_options(),
        "page_sizes": PAGE_SIZES,
        "size": size,
        "list_url": list_url,
        "filter_args": flt.as_params(),
        "list_qs": urlencode(list_args(params)),
        "can_manage": manager,
        "form": form,
        "selected": {int(i) for i in selected},
        "target": target,
        "partial": partial,
    }
    template = "portal/fleet/_results.html" if partial else "portal/fleet/index.html"
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    if partial:  # the address bar shows the list's own tidy address, not every empty field
        cursor = {k: params.get(k) for k in ("after", "before", "last") if params.get(k)}
        response.headers["HX-Push-Url"] = list_url(**cursor)
    return response


@bp.route("/")
@login_required
def index():
    tenant.require_fleet_reader()
    partial = bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )
    return render_list(request.args, partial=partial)


@bp.route("/unit-choices")
@login_required
def unit_choices():
    """The options of the "move to" unit select (htmx fragment): the user's units."""
    tenant.require_manager()
    choose = Markup('<option value="">{}</option>').format(gettext("Choose…"))
    return choose + option_tags(unit_options(current_user))


@bp.post("/columns")
@login_required
def columns():
    """Remember which columns this user wants (in the session, per user)."""
    tenant.require_fleet_reader()
    form = ColumnsForm()
    if form.validate_on_submit():
        cols = [c for c in COLUMNS if c in (form.columns.data or [])]
        store = dict(session.get("fleet_columns") or {})
        store[str(current_user.id)] = ["msisdn", *[c for c in cols if c != "msisdn"]]
        session["fleet_columns"] = store
    return redirect(list_url_from(form.back.data))


# --- one line -----------------------------------------------------------------------------


def line_or_404(line_id: int) -> Line:
    line = db().scalar(
        fl.scoped_lines(tenant.fleet_scope(current_user))
        .where(Line.id == line_id)
        .options(*fl.WITHOUT_SECRETS)
    )
    if line is None:
        abort(404)
    return line


def _requests_by_subject(line: Line) -> tuple[list, dict]:
    """The line's recent requests, and per subject (a service, "tariff", "status") the open
    ones and the newest if it failed."""
    recent = list(
        db().scalars(
            select(ProvisioningRequest)
            .where(ProvisioningRequest.line_id == line.id)
            .order_by(ProvisioningRequest.id.desc())
            .limit(20)
        )
    )
    subjects: dict[str, dict] = {}
    for req in reversed(recent):  # oldest first
        if req.action == "set_service":
            subject = str(req.params.get("service"))
        elif req.action == "change_tariff":
            subject = "tariff"
        else:
            subject = "status"
        entry = subjects.setdefault(subject, {"open": [], "failed": None})
        if req.status in provisioning.OPEN:
            entry["open"].append(req)
        entry["failed"] = req if req.status.value == "failed" else None
    return recent, subjects


def render_line(line: Line, *, form=None, status=200, employee_choices=None, open_action=None):
    user = current_user
    s = db()
    unit = s.get(OrgUnit, line.unit_id)
    crumbs = [u for u in ancestors(s, unit) if tenant.is_visible(user, u)]
    recent, subjects = _requests_by_subject(line)
    before_event = request.args.get("before_event", type=int)
    query = (
        select(AuditEvent)
        .where(
            AuditEvent.object_type == "line",
            AuditEvent.object_id == line.id,
            AuditEvent.customer_id == line.customer_id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(HISTORY_PAGE + 1)
    )
    if before_event:
        query = query.where(AuditEvent.id < before_event)
    events = list(s.scalars(query))
    manager = tenant.can_manage(user)
    if manager and form is None:
        form = ChangeForm(formdata=None)
        form.limit.data = "" if line.monthly_limit is None else str(line.monthly_limit)
    if form is not None:
        form.set_choices(tariff_options(user.customer_id))
        # Each action is its own small form: keep the other forms showing the line's values.
        form.unit_id.data = form.unit_id.data or str(line.unit_id)
        form.tariff_id.data = form.tariff_id.data or str(line.tariff_id)
    context = {
        "line": line,
        "unit_options": unit_options(user) if manager else [],
        "unit": unit,
        "crumbs": crumbs,
        "employee": s.get(Employee, line.employee_id) if line.employee_id else None,
        "tariff": s.get(TariffPlan, line.tariff_id),
        "handset": s.get(Product, line.handset_id) if line.handset_id else None,
        "tariff_names": dict(tariff_options()),
        "requests": recent,
        "subjects": subjects,
        "history": history.describe(s, line.customer_id, events[:HISTORY_PAGE]),
        "older_events": events[HISTORY_PAGE - 1].id if len(events) > HISTORY_PAGE else None,
        "before_event": before_event,
        "can_manage": manager,
        "form": form,
        "employee_choices": employee_choices,
        "open_action": open_action,
    }
    return render_template("portal/fleet/line.html", **context), status


@bp.route("/<int:line_id>")
@login_required
def line(line_id: int):
    tenant.require_fleet_reader()
    return render_line(line_or_404(line_id))


from portal.fleet import bulk  # noqa: E402, F401  (registers the change routes on bp)
