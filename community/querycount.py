"""The bench's SQL statement count: with BENCH_QUERY_HEADER (PARLEY_BENCH_QUERY_HEADER=1)
every response says in X-Parley-Queries how many statements its request ran. Off by
default and never set in production: it tells the world how a page is built."""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import event

from .extensions import db

_counting = threading.local()


def _count(*_args, **_kwargs) -> None:
    if getattr(_counting, "active", False):
        _counting.n += 1


def init_app(app: Flask) -> None:
    if not app.config.get("BENCH_QUERY_HEADER"):
        return

    @app.before_request
    def start_counting():
        if not event.contains(db.engine, "before_cursor_execute", _count):
            event.listen(db.engine, "before_cursor_execute", _count)
        _counting.active, _counting.n = True, 0

    @app.after_request
    def report_count(response):
        if getattr(_counting, "active", False):
            response.headers["X-Parley-Queries"] = str(_counting.n)
        return response

    @app.teardown_request
    def stop_counting(_error=None):
        _counting.active = False
