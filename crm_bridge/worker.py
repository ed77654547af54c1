"""CRM delivery as background jobs (community/background.py): `crm-delivery` runs
in every runner and shares the rows out (SKIP LOCKED on PostgreSQL, a lease on
SQLite); `crm-pull` fetches attributes and case statuses every CRM_PULL_SECONDS.
`flask --app wsgi crm worker` runs these two alone, with a report per pass."""

from __future__ import annotations

from flask import Flask

from community import background

from . import outbox, services

JOBS = {"crm-delivery", "crm-pull"}


def _deliver(state: dict) -> outbox.Pass:
    deliverer = state.setdefault("deliverer", outbox.Deliverer())
    return deliverer.deliver_due()


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
            description="deliver the CRM outbox", waiting=outbox.pending_count,
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
