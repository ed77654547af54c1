"""Ideas factories: product areas and ideas, made through the real services.

Like the shared factories, each runs in its own request context (objects stay
attached when a test already holds one, as the ``ctx`` fixture does) and returns
an object whose columns are loaded.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from community.extensions import db
from community.models import SpaceMembership
from ideas import services


def attached(obj):
    """The same row in the current session (objects from other contexts are detached)."""
    return db.session.get(type(obj), obj.id) if obj is not None else None


def loaded(obj):
    db.session.refresh(obj)
    return obj


@pytest.fixture
def make_area(app, admin, make_space):
    counter = itertools.count(1)

    def make(slug: str | None = None, *, space=None, name: str | None = None):
        n = next(counter)
        slug = slug or f"area-{n}"
        space = space or make_space(f"{slug}-space")
        with app.test_request_context():
            area = services.create_area(
                attached(admin),
                name=name or slug.replace("-", " ").title(),
                slug=slug,
                description=f"Ideas about {slug}",
                space=attached(space),
            )
            return loaded(area)

    return make


@pytest.fixture
def make_idea(app, make_area, make_member):
    counter = itertools.count(1)

    def make(area=None, author=None, *, title=None, body="It would help us a lot.", tags=()):
        n = next(counter)
        area = area or make_area()
        author = author or make_member()
        with app.test_request_context():
            idea = services.submit_idea(
                attached(author),
                attached(area),
                title or f"Idea number {n} for the product",
                body,
                list(tags),
            )
            return loaded(idea)

    return make


@pytest.fixture
def vote_as(app):
    """Cast votes through the service, each in its own context."""

    def cast(idea, *members, importance=None):
        for member in members:
            with app.test_request_context():
                services.vote(attached(idea), attached(member), importance)

    return cast


@pytest.fixture
def pm(make_member):
    return make_member("Pia Product", roles=["product_manager"])


@pytest.fixture
def moderator(make_member):
    return make_member("Mo Moderator", roles=["moderator"])


@pytest.fixture
def board(app, make_space, make_area, make_member, make_idea):
    """A private advisory space with an idea area: only `insider` (and admins) see it;
    `outsider` is a signed-in member who does not belong."""
    insider = make_member("Ines Insider")
    outsider = make_member("Otto Outsider")
    space = make_space("advisory-board", visibility="private", kind="advisory")
    with app.test_request_context():
        db.session.add(SpaceMembership(space_id=space.id, member_id=insider.id, role="member"))
        db.session.commit()
    area = make_area("advisory-ideas", space=space, name="Advisory ideas")
    secret = make_idea(
        area, insider, title="Confidential roadmap canary-4417 integration", tags=["secret"]
    )
    return SimpleNamespace(
        insider=insider, outsider=outsider, space=space, area=area, secret=secret
    )
