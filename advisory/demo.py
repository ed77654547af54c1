"""The advisory part of `flask demo-data`: a committee with a charter, hosts,
members and alumni, meetings, suggestions with the company's responses (one
overdue) and a rewards ledger."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from community import events
from community import services as community
from community.extensions import db
from community.models import utcnow
from ideas import services as ideas
from ideas.models import Idea, StatusChange

from . import services

SUGGESTIONS = [
    ("Jordan Blake", "Quarterly roadmap preview for committee members",
     "Show us the next quarter's roadmap a month early so we can plan rollouts.", 70,
     ("planned", "Yes: from next quarter, committee members get the roadmap preview four weeks ahead.")),
    ("Mei Tanaka", "Single sign-on for contractors",
     "Our contractors need SSO without a full seat.", 55,
     ("under_review", "Security is reviewing guest SSO; we report back at the next meeting.")),
    ("Oliver Grant", "Data residency in the EU",
     "Several of our customers require EU hosting.", 45, None),
    ("Fatima Haddad", "Bulk user import from the HR system",
     "Importing 2,000 employees by hand is painful.", 6, None),
]  # fmt: skip


def _join(committee, member, host, cohort):
    _invitation, url = services.invite(committee, host, member=member, cohort=cohort)
    token = url.rsplit("/", 1)[-1]
    services.accept_invitation(token, member, True)


def seed(app, members: dict, spaces: dict, **_) -> None:
    admin, product = members["Morgan Reyes"], members["Lena Fischer"]
    space = community.create_space(
        admin,
        name="Customer Advisory Board",
        slug="customer-advisory-board",
        description="Strategic customers shaping the roadmap with us.",
        kind="advisory",
        visibility="private",
    )
    committee = services.committee_of(space)
    community.add_space_member(space, product, by=admin, role="host")
    services.update_charter(
        committee,
        admin,
        purpose="Bring the customers who use us most - and challenge us most - into our "
        "strategy: review the roadmap, test early releases, and tell us what we miss.",
        time_commitment="One 90-minute video meeting a month and a quarterly planning call.",
        recognition="A $250 gift card per quarter of active membership, early access to "
        "betas, and the Advisory committee badge on your profile.",
        response_days=30,
    )
    today = utcnow().date()
    current = services.create_cohort(
        committee, admin, name="2026-27 committee",
        starts_on=today - timedelta(days=60), ends_on=today + timedelta(days=300),
    )  # fmt: skip
    former = services.create_cohort(
        committee, admin, name="2025 committee",
        starts_on=today - timedelta(days=420), ends_on=today - timedelta(days=60),
    )  # fmt: skip
    for name in ("Jordan Blake", "Mei Tanaka", "Oliver Grant", "Fatima Haddad"):
        _join(committee, members[name], admin, current)
    for name in ("Lucas Moreau", "Hannah Kowalski"):
        _join(committee, members[name], admin, former)
    services.end_terms()  # the 2025 cohort's members become alumni
    services.invite(committee, admin, email="new.customer@initech.example")
    services.create_rule(
        committee, admin, name="Strategic accounts renewing within a year",
        conditions=[{"field": "tier", "op": "eq", "value": "strategic"},
                    {"field": "renewal_on", "op": "within_months", "value": "12"}],
        cohort_id=current.id,
    )  # fmt: skip
    area = services.area_of(committee)
    now = utcnow()
    for author, title, body, days_ago, answer in SUGGESTIONS:
        idea = ideas.submit_idea(members[author], area, title, body)
        if answer:
            ideas.change_status(idea, answer[0], answer[1], by=product)
        db.session.execute(
            update(Idea).where(Idea.id == idea.id).values(created_at=now - timedelta(days=days_ago))
        )
        db.session.execute(
            update(StatusChange)
            .where(StatusChange.idea_id == idea.id)
            .values(created_at=now - timedelta(days=days_ago - 10))
        )
    community.create_thread(
        space, members["Jordan Blake"], "discussion", "What should the next meeting cover?",
        "I'd like to go through the EU hosting question and the SSO review.",
    )  # fmt: skip
    past = services.create_meeting(
        committee, admin, title="October committee meeting",
        starts_at=now + timedelta(days=1), agenda="1. Roadmap preview\n2. Guest SSO",
    )  # fmt: skip
    services.update_meeting(
        past, admin, title=past.title, starts_at=now - timedelta(days=20), agenda=past.agenda,
        minutes="Roadmap preview agreed; security to report on guest SSO next time.",
    )  # fmt: skip
    upcoming = services.create_meeting(
        committee, admin, title="November committee meeting",
        starts_at=(now + timedelta(days=10)).replace(hour=16, minute=0),
        agenda="1. EU data residency\n2. Bulk import from HR systems\n3. Open floor",
    )  # fmt: skip
    services.rsvp(upcoming, members["Jordan Blake"], "yes")
    services.rsvp(upcoming, members["Mei Tanaka"], "maybe")
    for name in ("Jordan Blake", "Mei Tanaka", "Lucas Moreau"):
        services.record_reward(
            committee, admin, member_id=members[name].id, description="Quarterly gift card",
            amount="250", currency="USD", given_on=today - timedelta(days=30),
        )  # fmt: skip
    db.session.commit()


def connect_subscribers() -> None:
    events.demo_data_seeded.connect(seed)
