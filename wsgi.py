"""One WSGI application: the portal at /, the admin console at /admin.

gunicorn 'wsgi:create_app()'   (nothing is created at import)
"""

from __future__ import annotations

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from core.runtime import Runtime
from core.settings import load_settings


def create_app(rt: Runtime | None = None):
    import admin_console
    import portal

    rt = rt or Runtime(load_settings())
    portal_app = portal.create_app(rt)
    console_app = admin_console.create_app(rt)
    portal_app.wsgi_app = DispatcherMiddleware(portal_app.wsgi_app, {"/admin": console_app})
    return portal_app
