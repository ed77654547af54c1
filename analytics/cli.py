"""`flask --app wsgi analytics snapshot`: record today's engagement levels and
social values, the history the participation and return panels compare (the
background runners record it daily, ANALYTICS_SNAPSHOT_SECONDS)."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from community import background
from community.extensions import db
from community.models import Member

from . import services

analytics = AppGroup("analytics", help="Analytics: the daily engagement snapshot.")


@analytics.command("snapshot")
@click.option("--day", default=None, help="The UTC day to record (YYYY-MM-DD); today by default.")
def snapshot(day):
    """Record every member's engagement level and social value as of a day."""
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--day") from None
    total = db.session.scalar(select(func.count(Member.id))) or 0
    with click.progressbar(length=total, label="Recording levels") as bar:
        count = services.record_snapshot(when, progress=bar.update)
    click.echo(f"Recorded {count} member(s); planner statistics refreshed.")


def register(app: Flask) -> None:
    app.cli.add_command(analytics)
    background.add_job(
        app,
        background.Job(
            "analytics-snapshot",
            "ANALYTICS_SNAPSHOT_SECONDS",
            lambda _state: services.record_snapshot(),
            description="record today's engagement levels and social values",
        ),
    )
