"""`flask --app wsgi moderation trust`: recompute every member's trust level (the
background runners do it daily, MODERATION_TRUST_SECONDS)."""

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from community import background
from community.extensions import db
from community.models import Member

from . import services

moderation = AppGroup("moderation", help="Moderation: trust levels.")


@moderation.command("trust")
def trust():
    """Recompute trust levels from the documented thresholds (locked levels stay)."""
    ids = member_ids()
    with click.progressbar(ids, label="Trust levels") as bar:
        changed = refresh_levels(bar)
    click.echo(f"{len(ids)} member(s) checked, {changed} changed level.")


def member_ids() -> list[int]:
    return list(db.session.scalars(select(Member.id).order_by(Member.id)))


def refresh_levels(ids) -> int:
    """Refresh each member's trust level; returns how many changed."""
    changed = 0
    for member_id in ids:
        member = db.session.get(Member, member_id)
        before = member.trust_level
        if services.refresh_trust(member) != before:
            changed += 1
        db.session.expire_all()
    return changed


def register(app: Flask) -> None:
    app.cli.add_command(moderation)
    background.add_job(
        app,
        background.Job(
            "moderation-trust",
            "MODERATION_TRUST_SECONDS",
            lambda _state: refresh_levels(member_ids()),
            description="recompute trust levels",
        ),
    )
