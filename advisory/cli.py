"""`flask --app wsgi advisory remind` and `advisory end-terms`: the committee's upkeep
(the background runners do both every ADVISORY_UPKEEP_SECONDS)."""

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from community import background

from . import services

advisory = AppGroup("advisory", help="Advisory committees: reminders and terms.")


@advisory.command("remind")
def remind():
    """Notify committee members of meetings starting within ADVISORY_REMINDER_HOURS."""
    with background.site_context(current_app):
        count = services.remind_due_meetings()
    click.echo(f"{count} meeting reminder(s) sent.")


@advisory.command("end-terms")
def end_terms():
    """Make the members of cohorts whose term ended alumni (badge kept, access gone)."""
    with background.site_context(current_app):
        count = services.end_terms()
    click.echo(f"{count} member(s) became alumni.")


def register(app: Flask) -> None:
    app.cli.add_command(advisory)
    background.add_job(
        app,
        background.Job(
            "advisory-upkeep",
            "ADVISORY_UPKEEP_SECONDS",
            lambda _state: services.remind_due_meetings() + services.end_terms(),
            needs_site=True,
            description="meeting reminders and the end of committee terms",
        ),
    )
