"""The delivery loop: in a thread of the app process (CRM_WORKER, on by default) or
as `flask --app wsgi crm worker` processes. Each pass delivers what is due; pulls
run every CRM_PULL_SECONDS."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from community import background
from community.extensions import db

from . import outbox, services

log = logging.getLogger(__name__)
_started: dict[int, tuple[threading.Thread, threading.Event]] = {}
_lock = threading.Lock()


def run(
    app: Flask,
    stop: threading.Event | None = None,
    *,
    until_empty: bool = False,
    on_pass=None,
) -> None:
    """Deliver until stopped (or, with until_empty, until nothing is pending)."""
    stop = stop or threading.Event()
    deliverer = outbox.Deliverer()
    last_pull = 0.0
    with app.app_context():
        poll = float(app.config["CRM_POLL_SECONDS"])
        pull_every = float(app.config["CRM_PULL_SECONDS"])
        try:
            while not stop.is_set():
                try:
                    result = deliverer.deliver_due()
                    if pull_every > 0 and time.monotonic() - last_pull >= pull_every:
                        last_pull = time.monotonic()
                        services.pull(deliverer)
                except Exception:  # the loop outlives one bad pass (database restart...)
                    db.session.rollback()
                    log.exception("CRM delivery pass failed")
                    result = outbox.Pass()
                finally:
                    db.session.remove()
                if on_pass is not None:
                    on_pass(result)
                if result.handled:
                    continue  # more may be due right away
                if until_empty and outbox.pending_count() == 0:
                    db.session.remove()
                    return
                stop.wait(poll)
        finally:
            deliverer.close()
            db.session.remove()


def start_in_process(app: Flask) -> threading.Thread | None:
    """Start the app's delivery thread once (the first request starts it)."""
    if not app.config.get("CRM_WORKER") or not outbox.connectors.enabled_names(app.config):
        return None
    with _lock:
        running = _started.get(id(app))
        if running is not None and running[0].is_alive():
            return running[0]
        stop = threading.Event()
        thread = threading.Thread(target=run, args=(app, stop), name="crm-worker", daemon=True)
        _started[id(app)] = (thread, stop)
        thread.start()
    background.on_stop(app, lambda: stop_in_process(app))
    return thread


def stop_in_process(app: Flask, timeout: float = 10.0) -> None:
    """Stop the app's delivery thread (`community.background.stop_all` calls it)."""
    with _lock:
        running = _started.pop(id(app), None)
    if running is not None:
        running[1].set()
        running[0].join(timeout)
