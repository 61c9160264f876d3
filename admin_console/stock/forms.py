"""Forms of the stock pages. They carry the input; the rules (ranges, open warehouses, unique
document numbers) are services.stock's and services.stock_admin's, and their refusals land on
these fields. Product and warehouse lists are filled by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import Regexp

from admin_console.catalog.fields import DateInput, IntegerInput


class _ProductWarehouse:
    product_id = SelectField(_l("Product"), validate_choice=False)
    warehouse_id = SelectField(_l("Warehouse"), validate_choice=False)
    quantity = IntegerInput(
        _l("Quantity"),
        message=_l("Enter the quantity as a whole number, for example 25."),
        render_kw={"autocomplete": "off", "maxlength": 12},
    )

    def fill_choices(self, products, warehouses) -> None:
        choose = [SelectChoice("", _l("Choose…"))]
        self.product_id.choices = choose + [
            SelectChoice(str(p.id), f"{p.sku} · {p.name}") for p in products
        ]
        self.warehouse_id.choices = choose + [
            SelectChoice(str(w.id), f"{w.code} · {w.name}") for w in warehouses
        ]

    def chosen_id(self, field) -> int | None:
        raw = (field.data or "").strip()
        return int(raw) if raw.isdigit() and len(raw) < 19 else None


class ReceiveForm(_ProductWarehouse, FlaskForm):
    reference = StringField(
        _l("Delivery document number"),
        description=_l("As printed on the delivery note, e.g. PZ/2026/11/0042. Recorded once."),
        render_kw={"maxlength": 80, "autocomplete": "off", "spellcheck": "false"},
    )
    line_no = IntegerInput(
        _l("Line of the document"),
        description=_l("A product on several lines of one delivery note: one receipt a line."),
        message=_l("The line of the document must be a whole number from 1 to 9999."),
        default=1,
        render_kw={"autocomplete": "off", "maxlength": 4},
    )


class SimulateForm(_ProductWarehouse, FlaskForm):
    pass


class ExpectationForm(_ProductWarehouse, FlaskForm):
    expected_on = DateInput(_l("Expected on"))
    reference = StringField(
        _l("Order or document number"),
        description=_l("Optional: the supplier's order or advice note."),
        render_kw={"maxlength": 80, "autocomplete": "off", "spellcheck": "false"},
    )


class ImportForm(FlaskForm):
    file = FileField(
        _l("Delivery-notice file (CSV)"),
        description=_l(
            "Columns warehouse;sku;quantity;reference (or magazyn;indeks;ilość;dokument), "
            "optionally line (pozycja) of the document, separated by ; or ,. At most 1000 rows."
        ),
        render_kw={"accept": ".csv,text/csv,text/plain"},
    )


class ApplyImportForm(FlaskForm):
    token = HiddenField(validators=[Regexp(r"^[0-9a-f]{24}$")])


class WarehouseForm(FlaskForm):
    code = StringField(
        _l("Code"),
        description=_l("Short and unique, as in delivery files, e.g. WAW2. Stored in capitals."),
        render_kw={"maxlength": 20, "autocomplete": "off", "spellcheck": "false"},
    )
    name = StringField(_l("Name"), render_kw={"maxlength": 120, "autocomplete": "off"})
    priority = IntegerInput(
        _l("Priority"),
        description=_l("Stock is allocated from warehouses with a lower number first. Empty: 100."),
        render_kw={"maxlength": 5},
    )
