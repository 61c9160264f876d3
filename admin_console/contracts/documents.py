"""The contract document for signature: any version of a contract as a PDF.

The document is a Polish legal text whatever the language of the console, so the template
(templates/pdf/contract.html) is written in Polish and rendered under the Polish locale (money
and dates as on Polish documents). Version 1 is the agreement; later versions are amendments
("aneks") and say from when they apply and what they change.
"""

from __future__ import annotations

from flask import abort, make_response, render_template
from flask_babel import force_locale

from admin_console.contracts.common import bp, contract_or_404, lines_of, version_views
from core.pdf import render_pdf
from core.web import db, runtime
from models import Customer, StaffUser


@bp.route("/<int:contract_id>/versions/<int:n>.pdf")
def pdf(contract_id: int, n: int):
    contract = contract_or_404(contract_id)
    views = version_views(contract)
    shown = next((v for v in views if v.version.number == n), None)
    if shown is None:
        abort(404)
    customer = db().get(Customer, contract.customer_id)
    manager = (
        db().get(StaffUser, customer.account_manager_id) if customer.account_manager_id else None
    )
    with force_locale("pl"):
        html = render_template(
            "pdf/contract.html",
            contract=contract,
            customer=customer,
            manager=manager,
            # The operator's side of the agreement: OPERATOR_* settings (README).
            operator=runtime().settings.operator_party,
            shown=shown,
            version=shown.version,
            lines=lines_of(shown.version),
            versions=views,
        )
    body = render_pdf(html)
    response = make_response(body)
    response.mimetype = "application/pdf"
    filename = f"umowa-{contract.number.replace('/', '-')}-v{n}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
