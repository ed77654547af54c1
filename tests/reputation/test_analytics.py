"""Engagement levels, the 90-9-1 profile and the social value formula."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import update

from community import services as community
from community.extensions import db
from community.models import Post, SpaceMembership, utcnow
from ideas import services as ideas
from reputation import analytics

from .conftest import attached


def test_engagement_levels(ctx, make_member, make_thread, make_reply, make_space, make_idea):
    reader, reactor, regular, expert, advisor, faded = (
        make_member(name) for name in ("Rea", "Rex", "Reg", "Exa", "Adv", "Fay")
    )
    thread = make_thread(author=faded, kind="discussion", title="Old discussion here")
    community.give_kudos(attached(make_reply(thread, faded)), attached(reactor))
    for n in range(5):
        make_reply(thread, regular, f"Regular reply {n}")
    asker = make_member("Asker")
    question = make_thread(author=asker)
    community.accept_answer(attached(make_reply(question, expert)), attached(asker))
    council = make_space("council", visibility="private", kind="advisory")
    db.session.add(SpaceMembership(space_id=council.id, member_id=advisor.id))
    db.session.commit()
    # Faded answered once, long ago, and got accepted: no recent activity.
    old = utcnow() - timedelta(days=400)
    faded_question = make_thread(author=asker, title="An old question of mine")
    answer = attached(make_reply(faded_question, faded))
    community.accept_answer(answer, attached(asker))
    db.session.execute(update(Post).where(Post.author_id == faded.id).values(created_at=old))
    db.session.commit()
    levels = analytics.engagement_levels(
        [m.id for m in (reader, reactor, regular, expert, advisor, faded)]
    )
    assert levels == {
        reader.id: "aware", reactor.id: "engaged", regular.id: "committed",
        expert.id: "advocate", advisor.id: "advocate", faded.id: "engaged",
    }  # fmt: skip
    distribution = analytics.engagement_distribution()
    assert sum(distribution.values()) >= 7 and distribution["advocate"] >= 2


def test_ninety_nine_one_profile(ctx, make_member, make_thread, make_reply, make_idea):
    creator, replier, voter, reader = (make_member(n) for n in ("Cre", "Rep", "Vot", "Rea"))
    thread = make_thread(author=creator)
    make_reply(thread, replier)
    idea = attached(make_idea(author=creator))
    ideas.vote(idea, attached(voter))
    today = utcnow().date()
    report = analytics.participation(today - timedelta(days=7), today)
    ids = {creator.id, replier.id, voter.id, reader.id}
    assert report.members >= len(ids)
    assert report.creators == 1 and report.contributors == 2
    assert report.readers == report.members - 3
    body = report.as_dict()
    assert body["profile"]["creators"]["share"] == round(1 / report.members, 4)
    # A period before anyone joined has no members.
    assert (
        analytics.participation(today - timedelta(days=900), today - timedelta(days=800)).members
        == 0
    )


def test_social_value_formula(app, ctx, make_member, make_thread, make_reply, make_idea):
    app.config["DEFLECTION_COST_PER_CASE"] = "12.50"
    app.config["REPUTATION_SOCIAL_VALUE"] = {"solution_view": 0, "idea_delivered": 100}
    asker, hero = make_member("Asker"), make_member("Hero")
    pm = make_member("Pia", roles=["product_manager"])
    thread = make_thread(author=asker)
    community.accept_answer(attached(make_reply(thread, hero)), attached(asker))
    idea = attached(make_idea(author=hero))
    ideas.change_status(idea, "delivered", "Shipped.", attached(pm))
    from community.models import Deflection

    db.session.add(Deflection(thread_id=thread.id, visitor_key="s:a", day="2026-01-01", query="q"))
    db.session.commit()
    value = analytics.social_value_of(attached(hero))
    assert (value.accepted_answers, value.deflections, value.ideas_delivered) == (1, 1, 1)
    assert value.savings == Decimal("12.50")
    assert value.social_value == Decimal("12.50") + 10 + 100
    top = analytics.top_social_value(limit=5)
    assert top[0][0].id == hero.id
