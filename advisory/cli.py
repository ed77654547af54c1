"""`flask --app wsgi advisory remind` and `advisory end-terms`: the committee's upkeep
(also checked in-process when a committee's page is opened)."""

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import services


def _site_context():
    """Links in reminders point at the site: PARLEY_SITE_URL (or localhost) as the base."""
    base = current_app.config.get("SITE_URL") or "http://localhost"
    return current_app.test_request_context(base_url=base)


advisory = AppGroup("advisory", help="Advisory committees: reminders and terms.")


@advisory.command("remind")
def remind():
    """Notify committee members of meetings starting within ADVISORY_REMINDER_HOURS."""
    with _site_context():
        count = services.remind_due_meetings()
    click.echo(f"{count} meeting reminder(s) sent.")


@advisory.command("end-terms")
def end_terms():
    """Make the members of cohorts whose term ended alumni (badge kept, access gone)."""
    with _site_context():
        count = services.end_terms()
    click.echo(f"{count} member(s) became alumni.")


def register(app: Flask) -> None:
    app.cli.add_command(advisory)
