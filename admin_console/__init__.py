"""The operator's admin console (mounted at /admin). Staff only, guarded once here."""

from __future__ import annotations

from flask import Flask, redirect, request, url_for
from flask_login import current_user

from core.auth import init_login
from core.runtime import Runtime
from core.settings import load_settings
from core.web import create_flask_app
from models import StaffUser

PUBLIC_ENDPOINTS = {
    "auth.login",
    "auth.totp",
    "auth.totp_setup",
    "static",
    "healthz",
    "set_language",
    "warehouse_api.receipts",
    "staff.welcome",  # an invited staff member sets a password before signing in
}


def create_app(rt: Runtime | None = None) -> Flask:
    rt = rt or Runtime(load_settings())
    app = create_flask_app(__name__, rt, realm="console", cookie_path="/admin")
    init_login(app, StaffUser, "s", "auth.login")

    from admin_console.auth.views import bp as auth_bp
    from admin_console.billing.invoices import bp as console_invoices_bp
    from admin_console.billing.views import bp as billing_bp
    from admin_console.catalog.views import bp as catalog_bp
    from admin_console.contracts.views import bp as contracts_bp
    from admin_console.customers.views import bp as customers_bp
    from admin_console.files.views import bp as staff_files_bp
    from admin_console.mail.views import bp as mail_bp
    from admin_console.provisioning.views import bp as provisioning_bp
    from admin_console.reports.customer_views import bp as customer_reports_bp
    from admin_console.reports.views import bp as reports_bp
    from admin_console.service.views import bp as service_requests_bp
    from admin_console.staff.views import bp as staff_bp
    from admin_console.stock.views import bp as stock_bp
    from admin_console.usage.views import bp as usage_bp
    from admin_console.warehouse_api import bp as warehouse_api_bp

    for bp in (
        auth_bp,
        customers_bp,
        contracts_bp,
        catalog_bp,
        mail_bp,
        reports_bp,
        customer_reports_bp,
        service_requests_bp,
        provisioning_bp,
        staff_bp,
        stock_bp,
        usage_bp,
        billing_bp,
        console_invoices_bp,
        staff_files_bp,
    ):
        app.register_blueprint(bp)
    # Machine-to-machine: token instead of a staff session, so no CSRF token either.
    app.extensions["csrf"].exempt(warehouse_api_bp)
    app.register_blueprint(warehouse_api_bp)
    app.add_url_rule("/", "index", view_func=app.view_functions["customers.index"])

    @app.before_request
    def require_staff():
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            return redirect(
                url_for("auth.login", next=request.script_root + request.full_path.rstrip("?"))
            )
        return None

    return app
