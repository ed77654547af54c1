"""Advisory factories: a committee made through the real services, and helpers
to join it through a real invitation."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from advisory import services
from community import services as community
from community.extensions import db


def attached(obj):
    return db.session.get(type(obj), obj.id) if obj is not None else None


def loaded(obj):
    db.session.refresh(obj)
    return obj


@pytest.fixture
def make_committee(app, admin):
    def make(slug="cab", *, name="Customer Advisory Board"):
        with app.test_request_context():
            space = community.create_space(
                attached(admin), name=name, slug=slug, description="Strategy with customers.",
                kind="advisory", visibility="private",
            )  # fmt: skip
            committee = services.committee_of(space)
            services.update_charter(
                committee,
                attached(admin),
                purpose="Shape the roadmap with the company's closest customers.",
                time_commitment="One meeting a month.",
                recognition="A gift card per quarter.",
                response_days=30,
            )
            return loaded(committee)

    return make


@pytest.fixture
def invite_and_join(app, admin):
    """Invite a member (by the admin host) and accept the charter for them."""

    def join(committee, member, cohort=None):
        with app.test_request_context():
            c = attached(committee)
            _inv, url = services.invite(
                c, attached(admin), member=attached(member), cohort=attached(cohort)
            )
            services.accept_invitation(url.rsplit("/", 1)[-1], attached(member), True)

    return join


@pytest.fixture
def cab(app, admin, make_committee, make_member, invite_and_join):
    """A committee with a host (the admin who created it), a staff host and two members."""
    committee = make_committee()
    host = make_member("Hana Host", roles=["product_manager"])
    with app.test_request_context():
        community.add_space_member(
            attached(committee).space, attached(host), by=attached(admin), role="host"
        )
    insider = make_member("Ines Insider")
    second = make_member("Sam Second")
    invite_and_join(committee, insider)
    invite_and_join(committee, second)
    with app.test_request_context():
        committee = loaded(attached(committee))
        space = loaded(committee.space)
    return SimpleNamespace(
        committee=committee, space=space, host=host, insider=insider, second=second, admin=admin
    )
