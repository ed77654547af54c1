"""`flask --app wsgi reputation recompute | check-fraud`."""

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from community import background

from . import services

reputation = AppGroup("reputation", help="Reputation: totals and fraud checks.")


@reputation.command("recompute")
@click.option("--chunk", default=20_000, show_default=True, help="Members per aggregate.")
def recompute(chunk):
    """Rebuild every member's cached total from the ledger; report the drift fixed."""

    def progress(ranges):
        with click.progressbar(ranges, label="Recomputing totals", file=sys.stderr) as bar:
            yield from bar

    drifts = services.recompute(chunk=max(1, chunk), progress=progress)
    if not drifts:
        click.echo("All totals match the ledger.")
        return
    for d in drifts[:50]:
        click.echo(f"member {d.member_id}: stored {d.stored}, ledger {d.actual}")
    if len(drifts) > 50:
        click.echo(f"... and {len(drifts) - 50} more")
    click.echo(f"{len(drifts)} total(s) had drifted; fixed.")


@reputation.command("check-fraud")
def check_fraud():
    """Look for rings of new accounts voting only for each other (run it hourly)."""
    rings = services.detect_rings()
    for ring in rings:
        members = ", ".join(str(m) for m in ring.member_ids)
        click.echo(f"ring of members {members}: {ring.votes} votes reversed and flagged")
    click.echo(f"{len(rings)} voting ring(s) found.")


def register(app: Flask) -> None:
    app.cli.add_command(reputation)
    background.add_job(
        app,
        background.Job(
            "reputation-fraud-check",
            "REPUTATION_FRAUD_CHECK_SECONDS",
            lambda _state: len(services.detect_rings()),
            description="look for voting rings",
        ),
    )
