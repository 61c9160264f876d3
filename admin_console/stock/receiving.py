"""Receiving stock: a delivery typed in, a delivery-notice file (preview, then all or nothing),
the warehouse simulator, and the list of receipts.

Each delivery enqueues a drain of the product's back-order queue after the commit; the
receipts list shows whether that drain has run.
"""

from __future__ import annotations

import csv
import io
import secrets
import time

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from admin_console.catalog.fields import show_refusal
from admin_console.stock import bp
from admin_console.stock.common import (
    fill_choices,
    page_arg,
    picked,
    require_change,
)
from admin_console.stock.forms import ApplyImportForm, ImportForm, ReceiveForm, SimulateForm
from core.web import actor, commit, db, local_datetime, runtime
from integrations.warehouse import parse_csv
from models import Product, StockReceipt, Warehouse
from services import ServiceError, stock_admin

PAGE_SIZE = 50
MAX_FILE_BYTES = 1024 * 1024
IMPORT_FOLDER = "stock-imports"
IMPORT_KEEP_SECONDS = 24 * 3600
SOURCES = ("console", "file", "warehouse")


def already_recorded(receipt: StockReceipt) -> str:
    product = db().get(Product, receipt.product_id)
    warehouse = db().get(Warehouse, receipt.warehouse_id)
    return _(
        "Line %(line)d of delivery document %(ref)s was already recorded on %(when)s by "
        "%(who)s (%(quantity)d × %(sku)s to %(warehouse)s); nothing was added. If the document "
        "has more lines, record each under its line number.",
        line=receipt.line_no,
        ref=receipt.reference,
        when=local_datetime(receipt.received_at, "short"),
        who=receipt.received_by,
        quantity=receipt.quantity,
        sku=product.sku,
        warehouse=warehouse.code,
    )


def _receive_page(form: ReceiveForm, sim: SimulateForm, status: int = 200):
    fill_choices(form)
    fill_choices(sim)
    return render_template("admin_console/stock/receive.html", form=form, sim=sim), status


@bp.route("/receive", methods=["GET", "POST"])
def receive():
    require_change()
    form = ReceiveForm()
    sim = SimulateForm(prefix="sim", formdata=None)
    if request.method == "GET":
        preset = request.args.get("product_id", "")
        form.product_id.data = sim.product_id.data = preset if preset.isdigit() else ""
        return _receive_page(form, sim)
    valid = form.validate_on_submit()
    product, warehouse = picked(form)
    if not valid or product is None or warehouse is None:
        return _receive_page(form, sim, 422)
    try:
        receipt, created = stock_admin.receive_document(
            db(),
            actor(),
            product=product,
            warehouse=warehouse,
            quantity=form.quantity.data,
            reference=form.reference.data,
            line_no=form.line_no.data or 1,
        )
    except ServiceError as err:
        db().rollback()
        show_refusal(form, err)
        return _receive_page(form, sim, 422)
    if not created:
        db().rollback()
        form.reference.errors = [*form.reference.errors, already_recorded(receipt)]
        return _receive_page(form, sim, 409)
    quantity, reference = receipt.quantity, receipt.reference
    commit()
    flash(
        _(
            "Received %(quantity)d × %(sku)s into %(warehouse)s (document %(ref)s). Waiting "
            "orders are being served.",
            quantity=quantity,
            sku=product.sku,
            warehouse=warehouse.code,
            ref=reference,
        ),
        "success",
    )
    return redirect(url_for("stock.product", product_id=product.id))


@bp.route("/simulate", methods=["POST"])
def simulate():
    require_change()
    form = ReceiveForm(formdata=None)
    sim = SimulateForm(prefix="sim")
    valid = sim.validate_on_submit()
    product, warehouse = picked(sim)
    if not valid or product is None or warehouse is None:
        return _receive_page(form, sim, 422)
    try:
        result = stock_admin.simulate_delivery(
            db(), actor(), product=product, warehouse=warehouse, quantity=sim.quantity.data
        )
    except ServiceError as err:
        db().rollback()
        show_refusal(sim, err)
        return _receive_page(form, sim, 422)
    commit()
    if result["created"]:
        message = _(
            "The warehouse simulator reported delivery %(ref)s: %(quantity)d × %(sku)s into "
            "%(warehouse)s. Waiting orders are being served.",
            ref=result["reference"],
            quantity=result["quantity"],
            sku=result["sku"],
            warehouse=warehouse.code,
        )
    else:
        message = _(
            "The simulator's delivery %(ref)s had already been recorded; nothing was added. "
            "Try again.",
            ref=result["reference"],
        )
    flash(message, "success" if result["created"] else "warning")
    return redirect(url_for("stock.product", product_id=product.id))


# --- delivery-notice files --------------------------------------------------------------------

PARSE_MESSAGES = {
    "empty file": lambda: _("The file is empty."),
    "too few columns": lambda: _("This row has too few columns."),
    "quantity must be a whole number above zero": lambda: _(
        "The quantity must be a whole number above zero."
    ),
    "warehouse, sku and reference are required": lambda: _(
        "Warehouse, SKU and document number are all required."
    ),
    "line must be a whole number from 1 to 9999": lambda: _(
        "The line of the document must be a whole number from 1 to 9999."
    ),
}


def _parse_message(message: str) -> str:
    if message.startswith("missing column"):
        return _(
            "The first row must name the columns warehouse;sku;quantity;reference (or "
            "magazyn;indeks;ilość;dokument). Missing: %(columns)s.",
            columns=message.partition(":")[2].strip(),
        )
    known = PARSE_MESSAGES.get(message)
    return known() if known else message


def _data_rows(data: bytes) -> list[int]:
    """Row numbers (as in a spreadsheet) of the file's non-empty data rows, read the way
    ``parse_csv`` reads them, so each delivery can be shown with its row."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1250", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(reader, None)
    return [n for n, row in enumerate(reader, start=2) if any(cell.strip() for cell in row)]


def _check_file(data: bytes) -> dict:
    """What the file would record: its problems (file-wide and per row) and its deliveries."""
    if len(data) > MAX_FILE_BYTES:
        return {"problems": [(None, _("The file is larger than 1 MB. Split it."))], "rows": []}
    try:
        notices, errors = parse_csv(data)
    except csv.Error:
        return {"problems": [(None, _("This is not a CSV file."))], "rows": []}
    problems = [(e.row or None, _parse_message(e.message)) for e in errors]
    if len(notices) > stock_admin.MAX_FILE_NOTICES:
        problems.insert(0, (None, _("The file has more than 1000 deliveries. Split it.")))
        notices = notices[: stock_admin.MAX_FILE_NOTICES]
    if not notices and not problems:
        problems.append((None, _("The file has no deliveries.")))
    error_rows = {e.row for e in errors}
    rows = [n for n in _data_rows(data) if n not in error_rows]
    if len(rows) < len(notices):
        rows = [None] * len(notices)
    checked = stock_admin.check_notices(db(), notices, rows[: len(notices)])
    return {"problems": problems, "rows": checked}


def _preview(result: dict, token: str | None):
    counts = {"new": 0, "repeated": 0, "error": 0}
    for item in result["rows"]:
        counts[item.status] += 1
    ok = not result["problems"] and not counts["error"] and counts["new"] > 0
    return render_template(
        "admin_console/stock/import_preview.html",
        result=result,
        counts=counts,
        ok=ok,
        apply_form=ApplyImportForm(token=token, formdata=None),
        form=ImportForm(formdata=None),
    ), 200 if ok else 422


def _import_path(token: str) -> str:
    return f"{IMPORT_FOLDER}/{current_user.id}-{token}.csv"


def _forget_old_imports() -> None:
    folder = runtime().files.path(IMPORT_FOLDER)
    if not folder.is_dir():
        return
    limit = time.time() - IMPORT_KEEP_SECONDS
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < limit:
            old.unlink(missing_ok=True)


@bp.route("/import", methods=["GET", "POST"])
def import_file():
    require_change()
    form = ImportForm()
    if request.method == "GET":
        return render_template("admin_console/stock/import.html", form=form)
    upload = form.file.data if form.validate_on_submit() else None
    if not upload or not getattr(upload, "filename", None):
        if not form.errors:
            form.file.errors = [_("Choose the file to import.")]
        return render_template("admin_console/stock/import.html", form=form), 422
    data = upload.stream.read(MAX_FILE_BYTES + 1)
    result = _check_file(data)
    token = None
    statuses = {item.status for item in result["rows"]}
    if not result["problems"] and "error" not in statuses and "new" in statuses:
        _forget_old_imports()
        token = secrets.token_hex(12)
        runtime().files.save_bytes(_import_path(token), data)
    return _preview(result, token)


@bp.route("/import/apply", methods=["POST"])
def apply_import():
    require_change()
    form = ApplyImportForm()
    path = runtime().files.path(_import_path(form.token.data)) if form.validate() else None
    if path is None or not path.is_file():
        flash(_("The checked file is no longer available. Upload it again."), "danger")
        return redirect(url_for("stock.import_file"))
    data = path.read_bytes()
    result = _check_file(data)  # checked again: stock and receipts may have changed meanwhile
    try:
        if result["problems"]:
            raise ServiceError(_("The file has errors; nothing has been recorded."))
        recorded = stock_admin.apply_notices(db(), actor(), result["rows"])
    except ServiceError as err:
        db().rollback()
        flash(err.text, "danger")
        return _preview(result, None)
    created = sum(1 for r in recorded if r["created"])
    units = sum(r["quantity"] for r in recorded if r["created"])
    skipped = len(result["rows"]) - created
    commit()
    runtime().files.delete(_import_path(form.token.data))
    if created:
        flash(
            _(
                "Recorded %(deliveries)d deliveries, %(units)d units in all; %(skipped)d "
                "recorded earlier were skipped. Waiting orders are being served.",
                deliveries=created,
                units=units,
                skipped=skipped,
            ),
            "success",
        )
    else:
        flash(_("Every delivery in the file had been recorded before; nothing was added."), "info")
    return redirect(url_for("stock.receipts", source="file"))


# --- receipts ---------------------------------------------------------------------------------


@bp.route("/receipts")
def receipts():
    q = (request.args.get("q") or "").strip()[:80]
    source = request.args.get("source", "")
    source = source if source in SOURCES else ""
    pending = request.args.get("pending") == "1"
    query = (
        select(StockReceipt, Product, Warehouse)
        .join(Product, Product.id == StockReceipt.product_id)
        .join(Warehouse, Warehouse.id == StockReceipt.warehouse_id)
    )
    if source:
        query = query.where(StockReceipt.source == source)
    if pending:
        query = query.where(StockReceipt.drained_at.is_(None))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(StockReceipt.reference).like(like),
                func.lower(Product.sku).like(like),
                func.lower(Product.name).like(like),
            )
        )
    total = db().scalar(select(func.count()).select_from(query.subquery())) or 0
    page = page_arg()
    rows = (
        db()
        .execute(
            query.order_by(StockReceipt.received_at.desc(), StockReceipt.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
        .all()
    )
    return render_template(
        "admin_console/stock/receipts.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        q=q,
        source=source,
        pending=pending,
        simulator_prefix=stock_admin.SIMULATOR_PREFIX,
    )
