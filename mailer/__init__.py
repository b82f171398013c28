"""The mailer: multilingual press-release mailings for press offices.

``create_app`` is the one way to build the Flask app: the web UI, the REST API, the CLI and the
Celery worker all start from it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

__all__ = ["create_app"]

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"


def templates_dir() -> Path:
    """The templates folder: inside the installed package, or at the top of a source checkout."""
    installed = PACKAGE_DIR / "templates"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "templates"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` may hold ``MAILER_*`` settings (as the environment would) and
    Flask config keys, which win over everything else."""
    from mailer.config import load_settings

    overrides = dict(config or {})
    environ = {**os.environ, **{k: str(v) for k, v in overrides.items()
                                if k.startswith("MAILER_") and isinstance(v, str | int)}}
    settings = load_settings(environ)

    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder=str(templates_dir()),
        static_folder="static",
    )
    app.config.update(settings.flask_config())
    app.config.update(overrides)
    settings.instance_path.mkdir(parents=True, exist_ok=True)

    _init_extensions(app)
    _register_blueprints(app)

    from mailer.commands import register_commands
    from worker.celery_app import init_celery

    register_commands(app)
    init_celery(app)
    return app


def _init_extensions(app: Flask) -> None:
    from flask_login import LoginManager
    from flask_migrate import Migrate
    from flask_wtf import CSRFProtect

    from mailer import models  # noqa: F401  (the whole schema, for migrations)
    from mailer.auth import service as auth_service
    from mailer.auth.policy import init_policy
    from mailer.db import db
    from mailer.errors import register_error_handlers
    from mailer.i18n import init_i18n
    from mailer.web.security import init_security_headers

    db.init_app(app)
    Migrate(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True)
    CSRFProtect(app)

    login_manager = LoginManager(app)
    login_manager.session_protection = "basic"
    login_manager.user_loader(auth_service.user_for_session)

    register_error_handlers(app)
    init_policy(app)
    init_i18n(app)
    init_security_headers(app)


def _register_blueprints(app: Flask) -> None:
    from importlib import import_module

    from flask_wtf.csrf import CSRFProtect

    from mailer.blueprints import API_BLUEPRINTS, WEB_BLUEPRINTS
    from mailer.http import init_http

    init_http(app)  # route converters first: rules bind theirs when added
    csrf: CSRFProtect = app.extensions["csrf"]
    for module in WEB_BLUEPRINTS:
        app.register_blueprint(import_module(module).bp)
    for module in API_BLUEPRINTS:
        blueprint = import_module(module).bp
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
