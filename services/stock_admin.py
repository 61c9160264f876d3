"""Stock as the operator's staff handle it: warehouses, expected deliveries, deliveries typed in
or imported from a file, and the warehouse simulator.

Receiving itself is ``services.stock``: this module checks what staff give it and passes it on.
A line of a delivery document is recorded once whatever the channel: a document line already
recorded by the console, a file or the warehouse is reported and nothing is added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.i18n import _l
from integrations.warehouse import ReceiptNotice, SimulatedWarehouse
from models import (
    OrderLine,
    OrderLineState,
    Product,
    ProductKind,
    StockExpectation,
    StockLevel,
    StockReceipt,
    Warehouse,
)
from services import ServiceError, audit, stock
from services.audit import Actor
from services.contract_versions import today

STOCKED_KINDS = (ProductKind.handset, ProductKind.accessory)
MAX_REFERENCE = 80
MAX_FILE_NOTICES = 1000
MAX_EXPECTED_DAYS = 730
SIMULATOR_PREFIX = "W-SIM/"
WAREHOUSE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,19}")


def stocked_product(session: Session, product_id: int | None) -> Product | None:
    if not product_id:
        return None
    return session.scalar(
        select(Product).where(Product.id == product_id, Product.kind.in_(STOCKED_KINDS))
    )


def find_receipt(session: Session, reference: str, line_no: int = 1) -> StockReceipt | None:
    """The receipt recorded for this line of this document, by any channel."""
    return session.scalar(
        select(StockReceipt).where(
            StockReceipt.reference == reference, StockReceipt.line_no == line_no
        )
    )


def _reference(reference: str | None) -> str:
    reference = (reference or "").strip()
    if not reference:
        raise ServiceError(_l("Enter the delivery document number."), field="reference")
    if len(reference) > MAX_REFERENCE:
        raise ServiceError(
            _l("The document number can have at most 80 characters."), field="reference"
        )
    return reference


def receive_document(
    session: Session,
    actor: Actor,
    *,
    product: Product,
    warehouse: Warehouse,
    quantity: int | None,
    reference: str | None,
    line_no: int = 1,
) -> tuple[StockReceipt, bool]:
    """A delivery typed in the console. Returns (receipt, created); a document line recorded
    before (by any channel) returns that earlier receipt and adds nothing."""
    reference = _reference(reference)
    if product.kind not in STOCKED_KINDS:
        raise ServiceError(
            _l("Only handsets and accessories are kept in stock."), field="product_id"
        )
    previous = find_receipt(session, reference, line_no)
    if previous is not None:
        return previous, False
    return stock.receive(
        session,
        actor,
        product=product,
        warehouse=warehouse,
        quantity=quantity,
        source="console",
        reference=reference,
        line_no=line_no,
    )


# --- delivery-notice files --------------------------------------------------------------------


@dataclass
class NoticeRow:
    """One delivery of a file, checked: ``error`` refuses the file, ``previous`` skips it."""

    row: int | None
    notice: ReceiptNotice
    product: Product | None = None
    warehouse: Warehouse | None = None
    error: object = None  # a translatable message
    previous: StockReceipt | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        return "repeated" if self.previous is not None else "new"


def check_notices(
    session: Session, notices: list[ReceiptNotice], rows: list[int | None]
) -> list[NoticeRow]:
    """What applying these notices would do, row by row, without changing anything."""
    products = {
        p.sku: p
        for p in session.scalars(
            select(Product).where(Product.sku.in_({n.sku for n in notices} or {""}))
        )
    }
    warehouses = {
        w.code: w
        for w in session.scalars(
            select(Warehouse).where(Warehouse.code.in_({n.warehouse for n in notices} or {""}))
        )
    }
    previous = {}
    refs = sorted({n.reference for n in notices})
    for start in range(0, len(refs), 500):
        for receipt in session.scalars(
            select(StockReceipt).where(StockReceipt.reference.in_(refs[start : start + 500]))
        ):
            previous[(receipt.reference, receipt.line_no)] = receipt
    first_row: dict[tuple[str, int], int | None] = {}
    checked = []
    for notice, row in zip(notices, rows, strict=True):
        item = NoticeRow(row, notice, products.get(notice.sku), warehouses.get(notice.warehouse))
        if item.product is None:
            item.error = _l("There is no product with SKU %(sku)s.", sku=notice.sku)
        elif item.product.kind not in STOCKED_KINDS:
            item.error = _l("%(sku)s is a service, not a stocked product.", sku=notice.sku)
        elif item.warehouse is None:
            item.error = _l("There is no warehouse with code %(code)s.", code=notice.warehouse)
        elif not item.warehouse.is_active:
            item.error = _l("The warehouse %(code)s is closed.", code=notice.warehouse)
        elif notice.quantity > stock.MAX_RECEIPT:
            item.error = _l("The quantity must be a whole number from 1 to 100 000.")
        elif len(notice.reference) > MAX_REFERENCE:
            item.error = _l("The document number can have at most 80 characters.")
        elif (notice.reference, notice.line) in first_row:
            item.error = _l(
                "Line %(line)d of document %(ref)s appears more than once in the file. Give each "
                "line of the document its number in the line column.",
                line=notice.line,
                ref=notice.reference,
            )
        else:
            item.previous = previous.get((notice.reference, notice.line))
        first_row.setdefault((notice.reference, notice.line), row)
        checked.append(item)
    return checked


def apply_notices(session: Session, actor: Actor, checked: list[NoticeRow]) -> list[dict]:
    """Record the new deliveries of a checked file, all or nothing."""
    if any(item.status == "error" for item in checked):
        raise ServiceError(_l("The file has errors; nothing has been recorded."))
    new = [item.notice for item in checked if item.status == "new"]
    if not new:
        return []
    return stock.receive_notices(session, actor, new, "file")


def simulate_delivery(
    session: Session, actor: Actor, *, product: Product, warehouse: Warehouse, quantity: int | None
) -> dict:
    """The warehouse simulator reports a delivery, as the ERP's push would."""
    if product.kind not in STOCKED_KINDS:
        raise ServiceError(
            _l("Only handsets and accessories are kept in stock."), field="product_id"
        )
    if not isinstance(quantity, int) or not 1 <= quantity <= stock.MAX_RECEIPT:
        raise ServiceError(
            _l("The quantity must be a whole number from 1 to 100 000."), field="quantity"
        )
    if not warehouse.is_active:
        raise ServiceError(_l("This warehouse is closed."), field="warehouse_id")
    last = session.scalar(
        select(func.max(StockReceipt.reference)).where(
            StockReceipt.source == "warehouse",
            StockReceipt.reference.like(f"{SIMULATOR_PREFIX}%"),
        )
    )
    digits = (last or "")[len(SIMULATOR_PREFIX) :]
    number = int(digits) + 1 if digits.isdigit() else 1
    notice = SimulatedWarehouse(number).notice(product.sku, quantity, warehouse.code)
    [result] = stock.receive_notices(session, actor, [notice], "warehouse")
    return result


# --- warehouses -------------------------------------------------------------------------------


def add_warehouse(
    session: Session, actor: Actor, *, code: str | None, name: str | None, priority: int | None
) -> Warehouse:
    code = (code or "").strip().upper()
    name = " ".join((name or "").split())
    if not WAREHOUSE_CODE.fullmatch(code):
        raise ServiceError(
            _l("The code has 1 to 20 letters, digits, - or _, for example WAW2."), field="code"
        )
    if session.scalar(select(Warehouse.id).where(Warehouse.code == code)):
        raise ServiceError(_l("A warehouse with this code already exists."), field="code")
    if not name:
        raise ServiceError(_l("Enter the name of the warehouse."), field="name")
    if len(name) > 120:
        raise ServiceError(_l("The name can have at most 120 characters."), field="name")
    if priority is None:
        priority = 100
    if not 0 <= priority <= 1000:
        raise ServiceError(_l("The priority is a whole number from 0 to 1000."), field="priority")
    warehouse = Warehouse(code=code, name=name, priority=priority, is_active=True)
    session.add(warehouse)
    session.flush()
    audit.record(
        session,
        actor,
        "warehouse.added",
        obj=warehouse,
        after={"code": code, "name": name, "priority": priority},
    )
    return warehouse


def set_warehouse_active(session: Session, actor: Actor, warehouse: Warehouse, active: bool) -> int:
    """Close or reopen a warehouse. A closed warehouse's stock is not allocated; what is
    already allocated there can still ship. Reopening serves the queues from its stock:
    returns the number of products whose queue will be served."""
    if warehouse.is_active == active:
        return 0
    warehouse.is_active = active
    audit.record(
        session,
        actor,
        "warehouse.reopened" if active else "warehouse.closed",
        obj=warehouse,
        before={"is_active": not active},
        after={"is_active": active},
    )
    session.flush()
    if not active:
        return 0
    waiting = select(OrderLine.product_id).where(OrderLine.state == OrderLineState.waiting)
    product_ids = list(
        session.scalars(
            select(StockLevel.product_id).where(
                StockLevel.warehouse_id == warehouse.id,
                StockLevel.on_hand > StockLevel.reserved,
                StockLevel.product_id.in_(waiting),
            )
        )
    )
    for product_id in product_ids:
        stock.enqueue_drain(session, product_id)
    return len(product_ids)


# --- expected deliveries ---------------------------------------------------------------------


def save_expectation(
    session: Session,
    actor: Actor,
    expectation: StockExpectation | None,
    *,
    product: Product | None,
    warehouse: Warehouse | None,
    quantity: int | None,
    expected_on: date | None,
    reference: str | None,
) -> StockExpectation:
    """Add (``expectation`` None) or change an open expected delivery."""
    if expectation is not None and not expectation.is_open:
        raise ServiceError(_l("This expected delivery is closed and can no longer change."))
    if product is None or product.kind not in STOCKED_KINDS:
        raise ServiceError(_l("Choose a handset or an accessory."), field="product_id")
    if warehouse is None or not warehouse.is_active:
        raise ServiceError(_l("Choose an open warehouse."), field="warehouse_id")
    if not isinstance(quantity, int) or not 1 <= quantity <= stock.MAX_RECEIPT:
        raise ServiceError(
            _l("The quantity must be a whole number from 1 to 100 000."), field="quantity"
        )
    if expected_on is None:
        raise ServiceError(_l("Enter the date the delivery is expected."), field="expected_on")
    unchanged = expectation is not None and expectation.expected_on == expected_on
    if expected_on < today() and not unchanged:
        raise ServiceError(_l("The date cannot be in the past."), field="expected_on")
    if expected_on > today() + timedelta(days=MAX_EXPECTED_DAYS):
        raise ServiceError(_l("The date can be at most two years ahead."), field="expected_on")
    reference = (reference or "").strip() or None
    if reference and len(reference) > MAX_REFERENCE:
        raise ServiceError(
            _l("The document number can have at most 80 characters."), field="reference"
        )
    values = {
        "product_id": product.id,
        "warehouse_id": warehouse.id,
        "quantity": quantity,
        "expected_on": expected_on,
        "reference": reference,
    }
    if expectation is None:
        expectation = StockExpectation(**values, is_open=True)
        session.add(expectation)
        before = None
        action = "stock.expectation_added"
    else:
        before = {k: _plain(getattr(expectation, k)) for k in values}
        for key, value in values.items():
            setattr(expectation, key, value)
        action = "stock.expectation_changed"
    session.flush()
    audit.record(
        session,
        actor,
        action,
        object_type="product",
        object_id=product.id,
        before=before,
        after={**{k: _plain(v) for k, v in values.items()}, "expectation": expectation.id},
    )
    return expectation


def close_expectation(session: Session, actor: Actor, expectation: StockExpectation) -> None:
    """The delivery will not come (or came under another number): customers stop seeing it."""
    if not expectation.is_open:
        return
    expectation.is_open = False
    audit.record(
        session,
        actor,
        "stock.expectation_closed",
        object_type="product",
        object_id=expectation.product_id,
        after={"expectation": expectation.id, "quantity": expectation.quantity},
    )
    session.flush()


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value
