"""Reputation fixtures: ideas factories, acting as the moderation domain (which
sends post_hidden and friends), and reading a member's ledger and total."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from community import events
from community.extensions import db
from community.models import Member
from ideas import services as ideas
from reputation.models import Entry, Score


def attached(obj):
    return db.session.get(type(obj), obj.id) if obj is not None else None


@pytest.fixture
def make_area(app, admin, make_space):
    counter = itertools.count(1)

    def make(space=None):
        n = next(counter)
        space = space or make_space(f"ideas-{n}")
        with app.test_request_context():
            area = ideas.create_area(
                attached(admin), name=f"Area {n}", slug=f"area-{n}", space=attached(space)
            )
            db.session.refresh(area)
            return area

    return make


@pytest.fixture
def make_idea(app, make_area, make_member):
    counter = itertools.count(1)

    def make(area=None, author=None):
        n = next(counter)
        area = area or make_area()
        author = author or make_member()
        with app.test_request_context():
            idea = ideas.submit_idea(
                attached(author), attached(area), f"Idea number {n} for the product", "Please."
            )
            db.session.refresh(idea)
            return idea

    return make


def total(member) -> int:
    """The cached total, read fresh from the database."""
    return db.session.scalar(select(Score.points).where(Score.member_id == member.id)) or 0


def ledger_sum(member) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.member_id == member.id)
    )


def rows(member) -> list[Entry]:
    return list(
        db.session.scalars(select(Entry).where(Entry.member_id == member.id).order_by(Entry.id))
    )


def moderate(signal, target, **kwargs):
    """Send a moderation event the way its service will: record, commit, send."""
    sent = events.record(signal, target, **kwargs)
    db.session.commit()
    sent()


def fresh(member) -> Member:
    return db.session.get(Member, member.id)
