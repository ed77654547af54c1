"""`flask --app wsgi ideas check`: recompute vote counts and trending scores."""

import click
from flask import Flask
from flask.cli import AppGroup

from . import services

ideas = AppGroup("ideas", help="Ideas: integrity checks.")


@ideas.command("check")
@click.option("--dry-run", is_flag=True, help="Report drift without fixing it.")
def check(dry_run):
    """Recompute every idea's vote count and trending score from its live votes."""
    drifts = services.check_counts(fix=not dry_run)
    if not drifts:
        click.echo("All vote counts and trending scores match the votes.")
        return
    for d in drifts:
        click.echo(
            f"idea {d.idea_id}: stored {d.stored_votes} votes, actual {d.actual_votes}; "
            f"score {d.stored_score:.6g} -> {d.actual_score:.6g}"
        )
    verb = "would fix" if dry_run else "fixed"
    click.echo(f"{len(drifts)} idea(s) had drifted; {verb}.")
    if dry_run:
        raise SystemExit(1)


def register(app: Flask) -> None:
    app.cli.add_command(ideas)
