"""CRM delivery as background jobs (community/background.py): `crm-delivery` runs
in every runner and shares the rows out (SKIP LOCKED on PostgreSQL, a lease on
SQLite); `crm-pull` fetches attributes and case statuses every CRM_PULL_SECONDS.
`flask --app wsgi crm worker` runs the same delivery alone, with a report per pass."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from community import background
from community.extensions import db

from . import outbox, services

log = logging.getLogger(__name__)


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


def _deliver(state: dict) -> int:
    deliverer = state.setdefault("deliverer", outbox.Deliverer())
    return deliverer.deliver_due().handled


def _pull(_state: dict) -> int:
    return sum(members + cases for members, cases in services.pull().values())


def _close(state: dict) -> None:
    if "deliverer" in state:
        state.pop("deliverer").close()


def add_jobs(app: Flask) -> None:
    if not outbox.connectors.enabled_names(app.config):
        return
    background.add_job(
        app,
        background.Job(
            "crm-delivery", "CRM_POLL_SECONDS", _deliver, shared=True, close=_close,
            description="deliver the CRM outbox",
        ),
    )  # fmt: skip
    background.add_job(
        app,
        background.Job(
            "crm-pull", "CRM_PULL_SECONDS", _pull,
            description="pull customer attributes and case statuses",
        ),
    )  # fmt: skip
    # Social value also grows without an event (views of accepted answers), so the
    # figures of every linked member are re-pushed daily, coalesced per contact.
    background.add_job(
        app,
        background.Job(
            "crm-sync", "CRM_SYNC_SECONDS", lambda _state: sum(1 for _ in services.sync_full()),
            description="re-push every linked member's community figures",
        ),
    )  # fmt: skip
