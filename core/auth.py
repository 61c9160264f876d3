"""Flask-Login wiring shared by both apps; each app has its own user table and cookie."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from flask_login import login_user as _login_user

from core.web import db


def init_login(app: Flask, model, prefix: str, login_endpoint: str) -> LoginManager:
    manager = LoginManager()
    manager.login_view = login_endpoint
    manager.login_message = _l("Please sign in to continue.")
    manager.login_message_category = "info"
    manager.session_protection = "strong"

    @manager.user_loader
    def load_user(user_id: str):
        # "p12.3": account 12 of this app, session version 3 (see _Account.session_version)
        ident, _, version = user_id[1:].partition(".")
        if not user_id.startswith(prefix) or not ident.isdigit() or not version.isdigit():
            return None
        user = db().get(model, int(ident))
        if user is None or not user.is_active or user.session_version != int(version):
            return None
        return user

    manager.init_app(app)
    return manager


def login_user(user) -> None:
    _login_user(user, remember=False, fresh=True)
