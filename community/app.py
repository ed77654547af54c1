"""The app factory: config → extensions → blueprints → subscribers → CLI → errors.

No database writes, migrations or network calls happen here; `flask db upgrade`
and `flask demo-data` are explicit CLI steps.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

# Importing realtime registers its Socket.IO handlers on `socketio` before any
# init_app; importing api and views attaches their routes to the blueprints.
import ideas
import ideas.api
import ideas.cli
import ideas.demo
import ideas.openapi
import ideas.realtime
import ideas.search
import ideas.subscribers
import ideas.views

from . import (  # noqa: F401
    api,
    api_bp,
    auth,
    bp,
    cache,
    cli,
    errors,
    help_api,
    help_views,
    openapi,
    querycount,
    realtime,
    search,
    views,
    web,
)
from . import config as settings
from .extensions import csrf, db, limiter, login_manager, migrate, socketio

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: type | dict | None = None) -> Flask:
    instance = os.environ.get("PARLEY_INSTANCE") or str(PROJECT_ROOT / "instance")
    app = Flask(
        "parley",
        root_path=str(PROJECT_ROOT),
        instance_path=str(Path(instance).resolve()),
        instance_relative_config=True,
        template_folder="templates",
        static_folder="static",
    )
    app.config.from_object(settings.Config)
    settings.load_environment(app)
    # The caller's config (tests) wins over the environment.
    if isinstance(config, dict):
        app.config.from_mapping(config)
    elif config is not None:
        app.config.from_object(config)
    settings.finish(app)

    _init_extensions(app)
    # Outermost, so the page cache sees the client's scheme and host.
    if app.config["PROXY_COUNT"]:
        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    app.url_map.converters["int"] = web.IdConverter
    _register_blueprints(app)
    _connect_subscribers()
    _register_cli(app)
    _register_web(app)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    auth.configure(login_manager)
    queue = app.config.get("REDIS_URL") or None
    socketio.init_app(app, message_queue=queue, cors_allowed_origins=[])
    search.init_app(app)
    cache.init_app(app)
    querycount.init_app(app)


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(ideas.bp)
    app.register_blueprint(ideas.api_bp)
    app.extensions["parley_openapi"] = [
        {"paths": openapi.PATHS, "schemas": openapi.SCHEMAS},
        {"paths": ideas.openapi.PATHS, "schemas": ideas.openapi.SCHEMAS},
    ]


def _connect_subscribers() -> None:
    realtime.connect_subscribers()
    ideas.realtime.connect_subscribers()
    ideas.demo.connect_subscribers()
    ideas.subscribers.connect_subscribers()
    ideas.search.connect_subscribers()
    search.connect_subscribers()
    cache.connect_subscribers()


def _register_cli(app: Flask) -> None:
    cli.register(app)
    ideas.cli.register(app)


def _register_web(app: Flask) -> None:
    errors.register_error_handlers(app)
    web.register(app)
