"""Moderation fixtures: a moderator, members at a chosen trust level, screening on."""

from __future__ import annotations

import pytest

from community import services
from community.extensions import db, socketio


def attached(obj):
    return db.session.get(type(obj), obj.id) if obj is not None else None


@pytest.fixture
def screening(app):
    """Trust gates and spam rules on (TestConfig turns them off for other domains)."""
    app.config["MODERATION_SCREENING"] = True
    return app


@pytest.fixture
def moderator(make_member):
    return make_member("Mona Moderator", roles=["moderator"])


@pytest.fixture
def member_at(app, make_member):
    """A member whose trust level is set (and locked, so visits do not change it)."""

    def make(level: int, name: str | None = None):
        member = make_member(name)
        with app.test_request_context():
            row = attached(member)
            services.set_trust_level(row, level, locked=True)
            db.session.refresh(row)
            return row

    return make


@pytest.fixture
def socket_for(app, login):
    def connect(member=None):
        http = app.test_client()
        if member is not None:
            login(member, the_client=http)
        sock = socketio.test_client(app, flask_test_client=http)
        assert sock.is_connected()
        return sock, http

    return connect


def received(sock, name):
    return [e["args"][0] for e in sock.get_received() if e["name"] == name]


@pytest.fixture
def make_idea(app, admin, make_space, make_member):
    """An idea in a fresh public area (ideas' own factories live in tests/ideas)."""
    from ideas import services as ideas

    counter = iter(range(1, 10_000))

    def make(*, title="Better exports", body="It would help us a lot.", author=None):
        n = next(counter)
        space = make_space(f"idea-space-{n}")
        author = author or make_member()
        with app.test_request_context():
            area = ideas.create_area(
                attached(admin), name=f"Area {n}", slug=f"area-{n}", space=attached(space)
            )
            idea = ideas.submit_idea(attached(author), area, title, body)
            db.session.refresh(idea)
            idea.author  # noqa: B018 - load it while attached
            return idea

    return make
