"""The review's demand summary stays equal to what the votes say, whatever happens."""

import random

from sqlalchemy import select

from community import services as community
from community.extensions import db
from ideas import services
from ideas.models import Demand, Idea, VoteDay


def snapshot():
    demand = sorted(
        (d.idea_id, d.segment, d.votes, d.value, d.nice_to_have, d.important, d.critical)
        for d in db.session.scalars(select(Demand))
        if d.votes
    )
    days = sorted(
        (v.idea_id, v.segment, v.day, v.votes)
        for v in db.session.scalars(select(VoteDay))
        if v.votes
    )
    values = sorted((i.id, i.demand_value) for i in db.session.scalars(select(Idea)))
    return demand, days, values


def test_incremental_summary_matches_a_rebuild(ctx, make_member, make_idea, admin):
    rng = random.Random(3)
    moderator = make_member("Mona Mod", roles=["moderator"])
    members = [make_member(f"Voter {i}") for i in range(12)]
    ideas = [make_idea(title=f"Idea number {i} for the board") for i in range(3)]
    for i, member in enumerate(members):
        community.set_customer_attributes(
            member, 1000 * (i + 1), ["smb", "enterprise", None][i % 3], by=admin
        )
    for _ in range(60):
        member, idea = rng.choice(members), rng.choice(ideas)
        action = rng.random()
        try:
            if action < 0.55:
                services.vote(
                    idea, member, rng.choice([None, "nice_to_have", "important", "critical"])
                )
            elif action < 0.85:
                services.unvote(idea, member)
            elif action < 0.95:
                community.set_customer_attributes(
                    member,
                    rng.randint(0, 9) * 500,
                    rng.choice(["smb", "mid-market", None]),
                    by=admin,
                )
            else:
                services.void_votes(member, moderator, "test ring")
        except Exception as error:  # a voided member may no longer vote: that is the rule
            assert "voided" in str(error)
    incremental = snapshot()
    assert incremental[0], "the scenario should leave some demand"
    services.refresh_demand([i.id for i in ideas])
    db.session.commit()
    assert snapshot() == incremental
    # And the review shows the same figures as the summary.
    pm = make_member("Pia PM", roles=["product_manager"])
    rows = services.review(pm, sort="value").items
    for row in rows:
        stored = db.session.get(Idea, row.idea.id)
        assert row.value == stored.demand_value
        assert row.votes == stored.vote_count
