"""Badges: awarded by rules once, listed on the badge page and the profile."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from community import events
from community import services as community
from community.extensions import db
from community.models import Post, SpaceMembership, utcnow
from ideas import services as ideas
from reputation import services
from reputation.models import BadgeAward

from .conftest import attached


def badges(member) -> set[str]:
    return set(
        db.session.scalars(select(BadgeAward.badge).where(BadgeAward.member_id == member.id))
    )


def test_first_answer_badge(ctx, make_thread, make_reply, make_member):
    asker, answerer = make_member("Asa"), make_member("Ann")
    thread = make_thread(author=asker)
    make_reply(thread, asker, "Bumping my own question.")
    assert badges(asker) == set()
    awarded = []
    with events.badge_awarded.connected_to(lambda m, **kw: awarded.append((m.id, kw))):
        make_reply(thread, answerer)
    assert badges(answerer) == {"first_answer"}
    assert awarded == [(answerer.id, {"badge": "first_answer", "name": "First answer"})]


def test_solution_and_helpful_badges_from_configurable_thresholds(
    app, ctx, make_thread, make_reply, make_member
):
    app.config["REPUTATION_BADGE_THRESHOLDS"] = {
        "solutions_10": ("accepted_answers", 2),
        "helpful": ("kudos_received", 2),
    }
    answerer = make_member("Ann")
    for n in range(2):
        asker = make_member(f"Asker {n}")
        post = attached(make_reply(make_thread(author=asker), answerer))
        community.accept_answer(post, attached(asker))
        assert ("solutions_10" in badges(answerer)) is (n == 1)
        community.give_kudos(post, attached(asker))
    assert {"solutions_10", "helpful"} <= badges(answerer)
    assert "solutions_100" not in badges(answerer)


def test_idea_delivered_badge(ctx, make_idea, make_member):
    author, pm = make_member("Ida"), make_member("Pia", roles=["product_manager"])
    idea = attached(make_idea(author=author))
    ideas.change_status(idea, "delivered", "Shipped.", attached(pm))
    assert "idea_delivered" in badges(author)
    ideas.change_status(idea, "planned", "Oops.", attached(pm))
    assert "idea_delivered" in badges(author)  # badges are kept once earned


def _join(space, member):
    membership = SpaceMembership(space_id=space.id, member_id=member.id, role="member")
    db.session.add(membership)
    sent = events.record(events.space_member_added, membership, space=space, member=member, by=None)
    db.session.commit()
    sent()


def _leave(space, member, reason):
    db.session.query(SpaceMembership).filter_by(space_id=space.id, member_id=member.id).delete()
    sent = events.record(events.space_member_removed, space, member=member, by=None, reason=reason)
    db.session.commit()
    sent()


def test_advisory_committee_badge_and_alumni(ctx, make_space, make_member):
    council = attached(make_space("council", visibility="private", kind="advisory"))
    forum = attached(make_space("private-forum", visibility="private"))
    member, other = attached(make_member("Ada Advisor")), attached(make_member("Otto"))
    _join(forum, member)
    assert badges(member) == set()
    _join(council, member)
    _join(council, other)
    assert badges(member) == {"advisory_member"}
    _leave(council, member, "term ended")
    assert badges(member) == {"advisory_alumni"}
    _leave(council, other, "removed by host")
    assert badges(other) == set()


def test_thirty_day_streak(ctx, make_thread, make_reply, make_member):
    author = make_member("Daily Dana")
    thread = make_thread(kind="discussion", title="Daily standup notes")
    posts = [attached(make_reply(thread, author, f"Day {n}")) for n in range(30)]
    assert "streak_30" not in badges(author)
    now = utcnow()
    for days_ago, post in enumerate(posts[:-1], start=1):
        db.session.execute(
            update(Post).where(Post.id == post.id).values(created_at=now - timedelta(days=days_ago))
        )
    db.session.commit()
    assert "streak_30" not in badges(author)  # 29 back-dated days + today, not checked yet
    make_reply(thread, author, "Day 31")
    assert "streak_30" in badges(author)


def test_badge_pages_list_holders(client, app, make_thread, make_reply, make_member):
    holder = make_member("Holder Hana")
    make_reply(make_thread(), holder)
    page = client.get("/badges/first_answer")
    assert page.status_code == 200
    assert "Holder Hana" in page.get_data(as_text=True)
    assert client.get("/badges").status_code == 200
    assert client.get("/badges/no-such-badge").status_code == 404
    profile = client.get(f"/members/{holder.id}").get_data(as_text=True)
    assert "First answer" in profile and "Reputation" in profile
    with app.test_request_context():
        assert services.badge_counts() == {"first_answer": 1}
