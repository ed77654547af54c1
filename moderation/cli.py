"""`flask --app wsgi moderation trust`: recompute every member's trust level (the
background runners do it daily, MODERATION_TRUST_SECONDS)."""

import click
from flask import Flask
from flask.cli import AppGroup

from community import background

from . import services

moderation = AppGroup("moderation", help="Moderation: trust levels.")


@moderation.command("trust")
def trust():
    """Recompute trust levels from the documented thresholds (locked levels stay)."""
    ids = services.member_ids()
    with click.progressbar(ids, label="Trust levels") as bar:
        changed = services.refresh_trust_levels(bar)
    click.echo(f"{len(ids)} member(s) checked, {changed} changed level.")


def register(app: Flask) -> None:
    app.cli.add_command(moderation)
    background.add_job(
        app,
        background.Job(
            "moderation-trust",
            "MODERATION_TRUST_SECONDS",
            lambda _state: services.refresh_trust_levels(services.member_ids()),
            description="recompute trust levels",
        ),
    )
