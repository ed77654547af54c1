"""Listening fixtures: the support and sales staff, a customer, and helpers to
read alerts back; everything is made through the real services."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community.extensions import db
from moderation.listening import services
from moderation.listening.models import Alert


def attached(obj):
    return db.session.get(type(obj), obj.id) if obj is not None else None


@pytest.fixture
def agent(make_member):
    return make_member("Sam Support", roles=["support_agent"])


@pytest.fixture
def seller(make_member):
    return make_member("Diego Sales", roles=["sales"])


@pytest.fixture
def customer(make_member):
    return make_member("Carla Customer")


@pytest.fixture
def make_watchlist(app):
    def make(owner, terms, *, kind="lead", name=None):
        with app.test_request_context():
            watchlist = services.create_watchlist(
                attached(owner), name or f"{kind} list", list(terms), kind
            )
            db.session.refresh(watchlist)
            return watchlist

    return make


@pytest.fixture
def alerts_in_db(app):
    """Every alert, as plain dicts (readable outside any context)."""

    def read(**where):
        with app.app_context():
            query = select(Alert).order_by(Alert.id)
            for name, value in where.items():
                query = query.where(getattr(Alert, name) == value)
            return [
                {
                    "id": a.id, "kind": a.kind, "post_id": a.post_id, "thread_id": a.thread_id,
                    "idea_id": a.idea_id, "member_id": a.member_id, "terms": a.term_list,
                    "sentiment": a.sentiment, "watchlist_id": a.watchlist_id,
                    "handled_action": a.handled_action, "handled_by_id": a.handled_by_id,
                    "case_id": a.case_id,
                }
                for a in db.session.scalars(query)
            ]  # fmt: skip

    return read


@pytest.fixture
def captured():
    """Collect a signal's sends while the test runs."""
    from community import events

    connected = []

    def capture(name):
        seen = []

        def receiver(sender, **kwargs):
            seen.append((sender, kwargs))

        signal = getattr(events, name)
        signal.connect(receiver)
        connected.append((signal, receiver))
        return seen

    yield capture
    for signal, receiver in connected:
        signal.disconnect(receiver)
