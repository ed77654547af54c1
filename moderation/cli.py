"""`flask --app wsgi moderation trust`: recompute every member's trust level."""

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from community.extensions import db
from community.models import Member

from . import services

moderation = AppGroup("moderation", help="Moderation: trust levels.")


@moderation.command("trust")
def trust():
    """Recompute trust levels from the documented thresholds (locked levels stay)."""
    ids = list(db.session.scalars(select(Member.id).order_by(Member.id)))
    changed = 0
    with click.progressbar(ids, label="Trust levels") as bar:
        for member_id in bar:
            member = db.session.get(Member, member_id)
            before = member.trust_level
            if services.refresh_trust(member) != before:
                changed += 1
            db.session.expire_all()
    click.echo(f"{len(ids)} member(s) checked, {changed} changed level.")


def register(app: Flask) -> None:
    app.cli.add_command(moderation)
