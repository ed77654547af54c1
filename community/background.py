"""Work an app runs beside its requests (the view counter's timer, the CRM delivery
thread). Each piece registers how to stop it, so whoever ends an app — a test, a
bench, a worker process shutting down — ends its threads before the database they
write to goes away, instead of leaving them to fail against it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask

_lock = threading.Lock()


def on_stop(app: Flask, stop: Callable[[], None]) -> None:
    """Call ``stop`` when the app's background work is stopped (once)."""
    with _lock:
        app.extensions.setdefault("parley_background", []).append(stop)


def stop_all(app: Flask) -> None:
    """Stop every thread the app started; later starts register themselves anew."""
    with _lock:
        stoppers = app.extensions.pop("parley_background", [])
    for stop in reversed(stoppers):
        stop()
