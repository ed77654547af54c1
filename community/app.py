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
import advisory
import advisory.api
import advisory.cli
import advisory.demo
import advisory.openapi
import advisory.subscribers
import advisory.views
import analytics
import analytics.api
import analytics.cli
import analytics.demo
import analytics.openapi
import analytics.views
import crm_bridge
import crm_bridge.api
import crm_bridge.cli
import crm_bridge.demo
import crm_bridge.openapi
import crm_bridge.subscribers
import crm_bridge.views
import ideas
import ideas.api
import ideas.cli
import ideas.demo
import ideas.openapi
import ideas.realtime
import ideas.search
import ideas.subscribers
import ideas.views
import moderation
import moderation.api
import moderation.cli
import moderation.demo
import moderation.listening
import moderation.listening.api
import moderation.listening.demo
import moderation.listening.openapi
import moderation.listening.realtime
import moderation.listening.subscribers
import moderation.listening.views
import moderation.openapi
import moderation.realtime
import moderation.subscribers
import moderation.views
import reputation
import reputation.api
import reputation.cli
import reputation.demo
import reputation.openapi
import reputation.subscribers
import reputation.views

from . import (  # noqa: F401
    api,
    api_bp,
    auth,
    background,
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
    shared_pages,
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
    # Flask-SocketIO keeps the last app's queue manager in its options; an app
    # without a queue must not inherit one from an app made before it.
    socketio.server_options.pop("client_manager", None)
    socketio.init_app(app, message_queue=queue, cors_allowed_origins=[])
    search.init_app(app)
    cache.init_app(app)
    querycount.init_app(app)
    background.init_app(app)


def _register_blueprints(app: Flask) -> None:
    # Each domain: its HTML blueprint, its JSON blueprint, its part of the OpenAPI document.
    domains = [
        (bp, api_bp, openapi),
        (ideas.bp, ideas.api_bp, ideas.openapi),
        (moderation.bp, moderation.api_bp, moderation.openapi),
        (moderation.listening.bp, moderation.listening.api_bp, moderation.listening.openapi),
        (reputation.bp, reputation.api_bp, reputation.openapi),
        (crm_bridge.bp, crm_bridge.api_bp, crm_bridge.openapi),
        (advisory.bp, advisory.api_bp, advisory.openapi),
        (analytics.bp, analytics.api_bp, analytics.openapi),
    ]
    for pages, api_pages, _document in domains:
        app.register_blueprint(pages)
        app.register_blueprint(api_pages)
    app.extensions["parley_openapi"] = [
        {"paths": document.PATHS, "schemas": document.SCHEMAS} for *_, document in domains
    ]


def _connect_subscribers() -> None:
    realtime.connect_subscribers()
    ideas.realtime.connect_subscribers()
    ideas.demo.connect_subscribers()
    ideas.subscribers.connect_subscribers()
    ideas.search.connect_subscribers()
    moderation.listening.subscribers.connect_subscribers()
    moderation.listening.demo.connect_subscribers()
    reputation.subscribers.connect_subscribers()
    reputation.demo.connect_subscribers()
    moderation.subscribers.connect_subscribers()
    moderation.demo.connect_subscribers()
    advisory.subscribers.connect_subscribers()
    advisory.demo.connect_subscribers()
    search.connect_subscribers()
    crm_bridge.subscribers.connect_subscribers()
    crm_bridge.demo.connect_subscribers()
    cache.connect_subscribers()
    # Last: its demo snapshot reads what every other domain seeded.
    analytics.demo.connect_subscribers()


def _register_cli(app: Flask) -> None:
    cli.register(app)
    ideas.cli.register(app)
    crm_bridge.cli.register(app)
    reputation.cli.register(app)
    moderation.cli.register(app)
    advisory.cli.register(app)
    analytics.cli.register(app)


def _register_web(app: Flask) -> None:
    errors.register_error_handlers(app)
    web.register(app)
    # Registered last, so its after_request runs first: the parts are filled before
    # anything else reads the page.
    shared_pages.init_app(app)
