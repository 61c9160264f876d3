"""The warehouse (ERP) side of stock: delivery notices, as a file or pushed by the ERP.

A notice says: this many units of this SKU arrived in this warehouse, under this document
number, on this line of the document (1 when the sender gives none). A document line counts
once, whichever channel reports it. The ERP pushes notices to
``POST /admin/api/warehouse/receipts`` (JSON, bearer token ``WAREHOUSE_API_TOKEN``); staff can
upload the same as a CSV file; and ``SimulatedWarehouse`` stands in for the ERP in the demo
and the tests — it is a simulator, not a warehouse: it only produces notices and hands them to
the same service the real push uses.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

CSV_COLUMNS = ("warehouse", "sku", "quantity", "reference")
HEADER_ALIASES = {
    "warehouse": "warehouse",
    "magazyn": "warehouse",
    "sku": "sku",
    "indeks": "sku",
    "kod": "sku",
    "quantity": "quantity",
    "ilosc": "quantity",
    "ilość": "quantity",
    "reference": "reference",
    "dokument": "reference",
    "numer dokumentu": "reference",
    "line": "line",
    "pozycja": "line",
    "lp": "line",
}


@dataclass(frozen=True)
class ReceiptNotice:
    warehouse: str
    sku: str
    quantity: int
    reference: str
    line: int = 1  # the line of the warehouse document


@dataclass(frozen=True)
class NoticeError:
    row: int
    message: str


def parse_csv(data: bytes) -> tuple[list[ReceiptNotice], list[NoticeError]]:
    """Read a delivery-notice CSV (; or , separated, UTF-8 or Windows-1250)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1250", errors="replace")
    if not text.strip():
        return [], [NoticeError(0, "empty file")]
    dialect = ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=dialect)
    header = [HEADER_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in next(reader, [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        return [], [NoticeError(1, f"missing column: {', '.join(missing)}")]
    idx = {c: header.index(c) for c in CSV_COLUMNS}
    line_idx = header.index("line") if "line" in header else None
    notices, errors = [], []
    for n, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            values = {c: row[i].strip() for c, i in idx.items()}
        except IndexError:
            errors.append(NoticeError(n, "too few columns"))
            continue
        if not values["quantity"].isdigit() or int(values["quantity"]) <= 0:
            errors.append(NoticeError(n, "quantity must be a whole number above zero"))
            continue
        if not values["sku"] or not values["warehouse"] or not values["reference"]:
            errors.append(NoticeError(n, "warehouse, sku and reference are required"))
            continue
        line = row[line_idx].strip() if line_idx is not None and line_idx < len(row) else ""
        if line and (not line.isdigit() or not 1 <= int(line) <= 9999):
            errors.append(NoticeError(n, "line must be a whole number from 1 to 9999"))
            continue
        notices.append(
            ReceiptNotice(
                values["warehouse"].upper(),
                values["sku"].upper(),
                int(values["quantity"]),
                values["reference"],
                int(line) if line else 1,
            )
        )
    return notices, errors


class SimulatedWarehouse:
    """Produces delivery notices like the ERP would, numbered W-SIM/<n>."""

    def __init__(self, start: int = 1) -> None:
        self.counter = start

    def notice(
        self, sku: str, quantity: int, warehouse: str = "STR", reference: str | None = None
    ) -> ReceiptNotice:
        if reference is None:
            reference = f"W-SIM/{self.counter:06d}"
            self.counter += 1
        return ReceiptNotice(warehouse.upper(), sku.upper(), int(quantity), reference)
