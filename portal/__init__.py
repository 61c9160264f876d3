"""The customer portal (mounted at /)."""

from __future__ import annotations

from flask import Flask

from core.auth import init_login
from core.runtime import Runtime
from core.settings import load_settings
from core.web import create_flask_app
from models import PortalUser


def create_app(rt: Runtime | None = None) -> Flask:
    rt = rt or Runtime(load_settings())
    app = create_flask_app(__name__, rt, realm="portal", cookie_path="/")
    init_login(app, PortalUser, "p", "auth.login")

    from portal.auth.views import bp as auth_bp
    from portal.dashboard.views import bp as dashboard_bp
    from portal.files.views import bp as files_bp
    from portal.fleet.io_views import bp as fleet_io_bp
    from portal.fleet.views import bp as fleet_bp
    from portal.invoices.mine import bp as my_charges_bp
    from portal.invoices.views import bp as invoices_bp
    from portal.offer.views import bp as offer_bp
    from portal.orders.views import bp as orders_bp
    from portal.phonebook.views import bp as phonebook_bp
    from portal.reports.views import bp as reports_bp
    from portal.selfadmin.views import bp as selfadmin_bp
    from portal.selfcare.views import bp as selfcare_bp
    from portal.service.views import bp as service_bp
    from portal.shop.views import bp as shop_bp
    from portal.units.views import bp as units_bp

    for bp in (
        auth_bp,
        dashboard_bp,
        fleet_bp,
        fleet_io_bp,
        units_bp,
        phonebook_bp,
        files_bp,
        offer_bp,
        shop_bp,
        orders_bp,
        service_bp,
        selfcare_bp,
        selfadmin_bp,
        invoices_bp,
        reports_bp,
        my_charges_bp,
    ):
        app.register_blueprint(bp)
    app.add_url_rule("/", "index", view_func=app.view_functions["dashboard.index"])
    return app
