"""Ideas use cases, called the way views and the API call them.

Every test runs inside one request context (``ctx``), so the objects the
factories return stay attached to the session the services use.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, event, func, select, text, update

from community import events
from community import services as community
from community.errors import Conflict, Invalid, NotAllowed, NotFound
from community.extensions import db
from community.models import (
    EmailOutbox,
    Member,
    Notification,
    Post,
    SpaceMembership,
    Tag,
    Thread,
    ThreadFollow,
    utcnow,
)
from ideas import services
from ideas.models import (
    TRENDING_EPOCH,
    TRENDING_HALF_LIFE_DAYS,
    Idea,
    StatusChange,
    Vote,
    trending_now,
    trending_weight,
)


@pytest.fixture(autouse=True)
def _in_request(ctx):
    """Set up the request context before any factory runs (objects stay attached)."""


@pytest.fixture
def area(make_area):
    return make_area("integrations")


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def live_votes(idea) -> list[Vote]:
    return list(
        db.session.scalars(
            select(Vote).where(Vote.idea_id == idea.id, Vote.voided_at.is_(None)).order_by(Vote.id)
        )
    )


def reloaded(idea) -> Idea:
    db.session.expire_all()
    return db.session.get(Idea, idea.id)


def notes_for(member, kind=None) -> list[Notification]:
    query = select(Notification).where(Notification.member_id == member.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query.order_by(Notification.id)))


def outbox_for(member) -> list[EmailOutbox]:
    return list(db.session.scalars(select(EmailOutbox).where(EmailOutbox.member_id == member.id)))


def suspend(member, moderator):
    community.suspend_member(member, utcnow() + timedelta(days=3), by=moderator, reason="Spam")


def backdate(idea, days: float, member=None) -> None:
    """Move an idea's votes (or one member's) back in time, weights included."""
    cast_at = utcnow() - timedelta(days=days)
    query = update(Vote).where(Vote.idea_id == idea.id)
    if member is not None:
        query = query.where(Vote.member_id == member.id)
    db.session.execute(query.values(created_at=cast_at, weight=trending_weight(cast_at)))
    services.refresh_demand([idea.id])  # history was rewritten: rebuild the summaries
    db.session.commit()


# ---- submit -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body", "tags", "field"),
    [
        ("Tiny", "Details", [], "title"),
        ("x" * 201, "Details", [], "title"),
        (None, "Details", [], "title"),
        ("A perfectly fine idea", "", [], "body"),
        ("A perfectly fine idea", "   \n\t ", [], "body"),
        ("A perfectly fine idea", "Details", ["no spaces allowed!"], "tags"),
        ("A perfectly fine idea", "Details", ["a", "b", "c", "d", "e", "f"], "tags"),
        ("A perfectly fine idea", "Details", [1, 2], "tags"),
    ],
)
def test_submit_refuses_bad_input_and_writes_nothing(area, make_member, title, body, tags, field):
    author = make_member("Ann Author")
    before = {m: count(m) for m in (Idea, Vote, Thread, Post, ThreadFollow, Tag)}
    with pytest.raises(Invalid) as refused:
        services.submit_idea(author, area, title, body, tags)
    assert field in refused.value.fields
    db.session.rollback()
    assert {m: count(m) for m in before} == before


def test_submit_counts_the_authors_vote_and_attaches_a_discussion_kept_out_of_forums(
    area, make_member, admin
):
    author = make_member("Ann Author")
    idea = services.submit_idea(
        author,
        area,
        "Export dashboards as CSV files",
        "Numbers **behind** charts",
        ["CSV", "export"],
    )
    idea = reloaded(idea)
    assert idea.status == "new"
    assert idea.vote_count == 1
    assert idea.tag_names == ["csv", "export"]
    assert "<strong>behind</strong>" in idea.body_html
    [ballot] = live_votes(idea)
    assert ballot.member_id == author.id and ballot.importance is None
    assert idea.trending_score == ballot.weight

    thread = idea.thread
    assert thread is not None
    assert thread.embed_url == f"/ideas/{idea.id}"
    assert community.is_following_thread(thread, author)
    for viewer in (None, author, admin):
        listed = community.list_threads(viewer, space=area.space).items
        assert thread.id not in [t.id for t in listed]
        assert thread.id not in [t.id for t in community.list_threads(viewer).items]
    [summary] = [s for s in community.space_summaries(admin) if s.space.id == area.space_id]
    assert summary.thread_count == 0


def test_suspended_members_can_neither_submit_nor_vote(area, make_member, make_idea, moderator):
    idea = make_idea(area)
    member = make_member("Sue Suspended")
    suspend(member, moderator)
    with pytest.raises(NotAllowed):
        services.submit_idea(member, area, "An idea from a spammer", "Buy now")
    with pytest.raises(NotAllowed):
        services.vote(idea, member, "critical")
    db.session.rollback()
    assert count(Idea) == 1
    assert reloaded(idea).vote_count == 1
    assert len(live_votes(idea)) == 1


def test_private_area_ideas_are_invisible_to_non_members(board, make_idea, make_area, pm, admin):
    public = make_idea(make_area("mobile"), title="Confidential roadmap canary-4417 mobile")
    for viewer in (None, board.outsider, pm):
        with pytest.raises(NotFound):
            services.get_idea(board.secret.id, viewer)
        with pytest.raises(NotFound):
            services.get_area(board.area.slug, viewer)
        assert board.area.id not in [a.id for a in services.list_areas(viewer)]
        for sort in services.SORTS:
            ids = [i.id for i in services.list_ideas(viewer, sort=sort).items]
            assert ids == [public.id]
        assert services.list_ideas(viewer, status="new").total == 1
        similar = services.similar_ideas(viewer, "canary-4417 confidential roadmap")
        assert [i.id for i in similar] == [public.id]
    for member in (board.outsider, pm):
        with pytest.raises(NotFound):
            services.vote(board.secret, member)
        with pytest.raises(NotFound):
            services.unvote(board.secret, member)
        with pytest.raises(NotFound):
            services.submit_idea(member, board.area, "Sneaking an idea in", "Hello")
    # A product manager outside the committee does not see its ideas on the review page.
    assert [r.idea.id for r in services.review(pm).items] == [public.id]
    with pytest.raises(NotFound):
        services.change_status(board.secret, "planned", "", by=pm)
    db.session.rollback()
    assert reloaded(board.secret).vote_count == 1
    # Members of the space, and admins, see everything.
    for viewer in (board.insider, admin):
        assert services.get_idea(board.secret.id, viewer).id == board.secret.id
        assert {i.id for i in services.list_ideas(viewer).items} == {public.id, board.secret.id}
        assert len(services.similar_ideas(viewer, "canary-4417 confidential roadmap")) == 2
    assert {r.idea.id for r in services.review(admin).items} == {public.id, board.secret.id}


# ---- vote and unvote ------------------------------------------------------------------


def test_voting_twice_leaves_one_vote_and_a_second_vote_updates_importance(
    area, make_idea, make_member
):
    idea = make_idea(area)
    voter = make_member("Val Voter")
    services.vote(idea, voter)
    services.vote(idea, voter)
    assert reloaded(idea).vote_count == 2
    assert count(Vote, Vote.idea_id == idea.id, Vote.member_id == voter.id) == 1

    services.vote(idea, voter, "critical")
    idea = reloaded(idea)
    assert idea.vote_count == 2
    assert services.my_vote(idea, voter).importance == "critical"
    assert count(Vote, Vote.idea_id == idea.id) == 2
    # Voting again without saying how important keeps what was said.
    services.vote(idea, voter)
    assert services.my_vote(reloaded(idea), voter).importance == "critical"
    # The author's own vote is already there: voting changes nothing.
    services.vote(idea, idea.author)
    assert reloaded(idea).vote_count == 2


def test_unvote_is_idempotent_and_restores_count_and_score(area, make_idea, make_member):
    idea = make_idea(area)
    score_before = reloaded(idea).trending_score
    voter = make_member("Val Voter")
    services.vote(idea, voter, "important")
    assert reloaded(idea).vote_count == 2
    services.unvote(idea, voter)
    services.unvote(idea, voter)
    idea = reloaded(idea)
    assert idea.vote_count == 1
    assert idea.trending_score == pytest.approx(score_before, rel=1e-12)
    assert services.my_vote(idea, voter) is None
    # Someone who never voted withdrawing changes nothing either.
    services.unvote(idea, make_member("Never Voted"))
    assert reloaded(idea).vote_count == 1
    assert services.check_counts(fix=False) == []


@pytest.mark.parametrize("importance", ["urgent", "CRITICAL", 3, ["critical"], {"x": 1}])
def test_invalid_importance_is_refused(area, make_idea, make_member, importance):
    idea = make_idea(area)
    voter = make_member("Val Voter")
    with pytest.raises(Invalid) as refused:
        services.vote(idea, voter, importance)
    assert "importance" in refused.value.fields
    assert refused.value.status == 422
    assert reloaded(idea).vote_count == 1
    assert services.my_vote(idea, voter) is None


def test_a_merged_idea_refuses_votes_with_a_conflict(area, make_idea, make_member, pm):
    duplicate, kept = make_idea(area), make_idea(area)
    services.merge_ideas(duplicate, kept, by=pm)
    voter = make_member("Late Voter")
    with pytest.raises(Conflict) as refused:
        services.vote(reloaded(duplicate), voter)
    assert refused.value.status == 409
    assert str(kept.id) in refused.value.message
    assert count(Vote, Vote.member_id == voter.id) == 0


def test_a_voided_voter_cannot_vote_again(area, make_idea, make_member, moderator):
    idea = make_idea(area)
    cheat = make_member("Chet Cheat")
    services.vote(idea, cheat)
    services.void_votes(cheat, moderator, "Sock puppet ring")
    with pytest.raises(NotAllowed):
        services.vote(reloaded(idea), cheat, "critical")
    # Withdrawing a voided vote is a no-op, not a way to vote afresh.
    services.unvote(reloaded(idea), cheat)
    with pytest.raises(NotAllowed):
        services.vote(reloaded(idea), cheat)
    assert reloaded(idea).vote_count == 1
    assert count(Vote, Vote.member_id == cheat.id) == 1


def test_counts_and_trending_scores_are_exact_sums_of_live_votes(area, make_idea, make_member):
    idea = make_idea(area)
    voters = [make_member(f"Voter {n}") for n in range(6)]
    for n, voter in enumerate(voters):
        services.vote(idea, voter, [None, "nice_to_have", "important", "critical"][n % 4])
    backdate(idea, 3, voters[0])
    backdate(idea, 12, voters[1])
    services.check_counts(fix=True)
    services.unvote(reloaded(idea), voters[2])
    idea = reloaded(idea)
    votes = live_votes(idea)
    assert idea.vote_count == len(votes) == 6
    assert idea.trending_score == pytest.approx(math.fsum(v.weight for v in votes), rel=1e-12)
    assert services.check_counts(fix=False) == []


def test_a_vote_that_fails_midway_leaves_neither_vote_nor_count(area, make_idea, make_member):
    """The vote and its counter are one transaction: a failure between them (a lock
    timeout, a crash) must not leave a vote the count does not include."""
    idea = make_idea(area)
    voter = make_member("Val Voter")

    def fail_counter(conn, cursor, statement, *args):
        if statement.startswith("UPDATE ideas_idea SET vote_count"):
            raise RuntimeError("the database went away")

    event.listen(db.engine, "before_cursor_execute", fail_counter)
    try:
        with pytest.raises(RuntimeError):
            services.vote(idea, voter)
    finally:
        event.remove(db.engine, "before_cursor_execute", fail_counter)
    db.session.rollback()
    assert count(Vote, Vote.member_id == voter.id) == 0
    assert reloaded(idea).vote_count == 1
    assert services.check_counts(fix=False) == []


# ---- trending ----------------------------------------------------------------------


def test_half_life_math():
    assert trending_weight(TRENDING_EPOCH) == 1.0
    assert TRENDING_HALF_LIFE_DAYS == 7.0
    week = timedelta(days=TRENDING_HALF_LIFE_DAYS)
    assert trending_weight(TRENDING_EPOCH + week) == pytest.approx(2.0, rel=1e-12)
    some_day = utcnow()
    assert trending_weight(some_day + week) / trending_weight(some_day) == pytest.approx(2.0)
    # A vote's decayed weight is 1 when cast, 1/2 a half-life later, 1/4 after two.
    assert trending_now(trending_weight(some_day), some_day) == pytest.approx(1.0)
    assert trending_now(trending_weight(some_day), some_day + week) == pytest.approx(0.5)
    assert trending_now(trending_weight(some_day), some_day + 2 * week) == pytest.approx(0.25)
    three_days = timedelta(days=3)
    assert trending_now(trending_weight(some_day - three_days), some_day) == pytest.approx(
        2 ** (-3 / 7)
    )
    assert trending_now(0.0, some_day) == 0.0


def test_fewer_recent_votes_trend_above_many_old_votes(area, make_idea, make_member):
    old = make_idea(area, title="Old favourite with many votes")
    recent = make_idea(area, title="Fresh idea everyone is talking about")
    for n in range(6):
        services.vote(old, make_member(f"Early voter {n}"))
    services.vote(recent, make_member("Recent voter"))
    backdate(old, 28)
    # The back-dated weights no longer add up to the stored score: the check sees it.
    [drift] = services.check_counts(fix=True)
    assert drift.idea_id == old.id and drift.stored_votes == drift.actual_votes == 7

    trending = [i.id for i in services.list_ideas(None, sort="trending").items]
    top = [i.id for i in services.list_ideas(None, sort="top").items]
    assert trending == [recent.id, old.id]
    assert top == [old.id, recent.id]
    now = utcnow()
    # Seven votes four half-lives old weigh 7/16 now; two fresh votes weigh about 2.
    assert trending_now(reloaded(old).trending_score, now) == pytest.approx(7 / 16, rel=1e-3)
    assert trending_now(reloaded(recent).trending_score, now) == pytest.approx(2.0, rel=1e-3)


def test_newest_and_status_and_tag_filters(area, make_idea, make_area, pm):
    first = make_idea(area, title="First idea about webhooks", tags=["webhooks"])
    second = make_idea(make_area("mobile"), title="Second idea about the phone app")
    services.change_status(second, "planned", "", by=pm)
    assert [i.id for i in services.list_ideas(None, sort="new").items] == [second.id, first.id]
    assert [i.id for i in services.list_ideas(None, status="planned").items] == [second.id]
    assert [i.id for i in services.list_ideas(None, tag="webhooks").items] == [first.id]
    assert [i.id for i in services.list_ideas(None, area=area).items] == [first.id]
    with pytest.raises(Invalid):
        services.list_ideas(None, sort="hot")
    with pytest.raises(Invalid):
        services.list_ideas(None, status="shipped")


# ---- status changes ----------------------------------------------------------------


def test_only_product_managers_and_admins_change_statuses(
    area, make_idea, make_member, moderator, pm, admin
):
    author = make_member("Ann Author")
    idea = make_idea(area, author)
    for who in (author, make_member("Random Member"), moderator):
        with pytest.raises(NotAllowed):
            services.change_status(idea, "planned", "Sure", by=who)
    db.session.rollback()
    assert reloaded(idea).status == "new"
    assert count(StatusChange) == 0
    services.change_status(reloaded(idea), "under_review", "", by=pm)
    services.change_status(reloaded(idea), "planned", "", by=admin)
    assert reloaded(idea).status == "planned"


@pytest.mark.parametrize("status", ["delivered", "declined"])
def test_a_final_answer_needs_a_note(area, make_idea, make_member, pm, status):
    idea = make_idea(area)
    services.vote(idea, make_member("Val Voter"))
    for note in ("", "   "):
        with pytest.raises(Invalid) as refused:
            services.change_status(reloaded(idea), status, note, by=pm)
        assert "note" in refused.value.fields
    db.session.rollback()
    assert reloaded(idea).status == "new"
    assert count(StatusChange) == 0
    assert count(Notification) == 0 and count(EmailOutbox) == 0
    services.change_status(reloaded(idea), status, "Here is why.", by=pm)
    assert reloaded(idea).status == status


@pytest.mark.parametrize("status", ["merged", "shipped", "", None, 3])
def test_unknown_statuses_are_refused(area, make_idea, pm, status):
    idea = make_idea(area)
    with pytest.raises(Invalid) as refused:
        services.change_status(idea, status, "A note", by=pm)
    assert "status" in refused.value.fields
    db.session.rollback()
    assert reloaded(idea).status == "new"


def test_status_change_reports_back_to_author_voters_and_followers_once_each(
    area, make_idea, make_member, pm
):
    author = make_member("Ann Author")
    idea = make_idea(area, author, title="Microsoft Teams notifications")
    voters = [make_member(f"Voter {n}") for n in range(3)]
    for voter in voters:
        services.vote(idea, voter)
    follower = make_member("Fran Follower")
    community.follow_thread(idea.thread, follower)
    # A voter who also follows hears once; the product manager who votes hears nothing.
    community.follow_thread(idea.thread, voters[0])
    services.vote(idea, pm)
    bystander = make_member("Bea Bystander")

    change = services.change_status(
        reloaded(idea), "declined", "We focus on **Slack** for now.", by=pm
    )
    assert change.note_html and "<strong>Slack</strong>" in change.note_html
    for member in (author, *voters, follower):
        [note] = notes_for(member)
        assert note.kind == "idea_status"
        assert note.url == f"/ideas/{idea.id}"
        assert "Declined" in note.summary and "Slack" in note.summary
        assert note.actor_id == pm.id
        [mail] = outbox_for(member)
        assert "Microsoft Teams notifications" in mail.subject
        assert "We focus on **Slack** for now." in mail.body
        assert f"/ideas/{idea.id}" in mail.body
        assert community.unread_count(member) == 1
    for member in (pm, bystander):
        assert notes_for(member) == [] and outbox_for(member) == []
    assert count(Notification) == count(EmailOutbox) == 5


def test_members_who_cannot_see_the_space_hear_nothing(board, make_member, pm, app):
    leaver = make_member("Lee Leaver")
    db.session.add(SpaceMembership(space_id=board.space.id, member_id=leaver.id))
    db.session.commit()
    services.vote(board.secret, leaver, "critical")
    db.session.execute(delete(SpaceMembership).where(SpaceMembership.member_id == leaver.id))
    db.session.commit()
    # The product manager joins the committee's space to review its ideas.
    db.session.add(SpaceMembership(space_id=board.space.id, member_id=pm.id))
    db.session.commit()
    services.change_status(reloaded(board.secret), "under_review", "Looking into it", by=pm)
    assert [n.kind for n in notes_for(board.insider)] == ["idea_status"]
    assert len(outbox_for(board.insider)) == 1
    assert notes_for(leaver) == [] and outbox_for(leaver) == []


def test_status_history_keeps_every_note_and_the_event_fires_after_commit(area, make_idea, pm):
    idea = make_idea(area)
    seen = []

    def on_changed(sender, change, by, **_):
        # A separate connection sees only committed data.
        with db.engine.connect() as conn:
            stored = conn.execute(select(Idea.status).where(Idea.id == sender.id)).scalar_one()
            notes = conn.execute(
                select(func.count())
                .select_from(Notification)
                .where(Notification.kind == "idea_status")
            ).scalar_one()
        seen.append((sender.id, change.to_status, change.note, by.id, stored, notes))

    with events.idea_status_changed.connected_to(on_changed):
        services.change_status(idea, "under_review", "", by=pm)
        services.change_status(reloaded(idea), "planned", "Next quarter.", by=pm)
    assert seen == [
        (idea.id, "under_review", "", pm.id, "under_review", 1),
        (idea.id, "planned", "Next quarter.", pm.id, "planned", 2),
    ]
    history = services.status_history(reloaded(idea))
    assert [(c.from_status, c.to_status, c.note) for c in history] == [
        ("new", "under_review", ""),
        ("under_review", "planned", "Next quarter."),
    ]
    # The same status again only makes sense with something new to say.
    with pytest.raises(Invalid):
        services.change_status(reloaded(idea), "planned", "", by=pm)
    services.change_status(reloaded(idea), "planned", "Moved to July.", by=pm)
    assert len(services.status_history(reloaded(idea))) == 3


# ---- merge -------------------------------------------------------------------------


def test_merge_counts_members_who_voted_on_both_once(area, make_idea, make_member, pm):
    dup_author, kept_author = make_member("Dee Dup"), make_member("Kay Kept")
    duplicate = make_idea(area, dup_author, title="Teams notifications for mentions")
    kept = make_idea(area, kept_author, title="Microsoft Teams notifications")
    only_dup = [make_member(f"Only dup {n}") for n in range(2)]
    only_kept = [make_member("Only kept")]
    both = [make_member(f"Both {n}") for n in range(2)]
    for member in only_dup:
        services.vote(duplicate, member, "important")
    for member in both:
        services.vote(duplicate, member, "nice_to_have")
        services.vote(kept, member, "critical")
    for member in only_kept:
        services.vote(kept, member)
    # The kept idea's author voted for the duplicate too.
    services.vote(duplicate, kept_author)
    assert reloaded(duplicate).vote_count == 6
    assert reloaded(kept).vote_count == 4

    merged: list = []

    def on_merged(sender, **kw):
        merged.append(kw)

    with events.idea_merged.connected_to(on_merged):
        services.merge_ideas(reloaded(duplicate), reloaded(kept), by=pm)

    duplicate, kept = reloaded(duplicate), reloaded(kept)
    expected = {kept_author, dup_author, *only_dup, *only_kept, *both}
    votes = live_votes(kept)
    assert sorted(v.member_id for v in votes) == sorted(m.id for m in expected)
    assert kept.vote_count == 7
    assert kept.trending_score == pytest.approx(math.fsum(v.weight for v in votes), rel=1e-12)
    # Members who voted on both keep the vote (and importance) they gave the kept idea.
    assert {v.importance for v in votes if v.member_id in {m.id for m in both}} == {"critical"}
    assert duplicate.status == "merged"
    assert duplicate.merged_into_id == kept.id
    assert duplicate.vote_count == 0 and duplicate.trending_score == 0
    assert count(Vote, Vote.idea_id == duplicate.id) == 0
    assert services.check_counts(fix=False) == []
    [change] = services.status_history(duplicate)
    assert change.to_status == "merged" and "Microsoft Teams notifications" in change.note
    assert merged and merged[0]["into"].id == kept.id and merged[0]["by"].id == pm.id
    # Every voter of the duplicate hears where their vote went (not the product manager).
    for member in (dup_author, *only_dup, *both, kept_author):
        assert [n.kind for n in notes_for(member, "idea_merged")] == ["idea_merged"]
    assert notes_for(only_kept[0], "idea_merged") == []
    # Merged ideas leave the lists; the kept one stays.
    assert [i.id for i in services.list_ideas(None).items] == [kept.id]
    assert services.list_ideas(None, status="merged").items[0].id == duplicate.id


def test_merge_keeps_followers_and_comments(area, make_idea, make_member, pm):
    duplicate, kept = make_idea(area), make_idea(area)
    fan = make_member("Fay Fan")
    community.follow_thread(duplicate.thread, fan)
    comment = community.reply(duplicate.thread, fan, "We need this for our field teams.")
    services.merge_ideas(duplicate, kept, by=pm)
    kept = reloaded(kept)
    assert fan.id in community.follower_ids(kept.thread)
    assert duplicate.author_id in community.follower_ids(kept.thread)
    [merged] = services.merged_discussions(kept)
    assert merged.id == duplicate.id
    assert [p.id for p in community.thread_replies(merged.thread, None).items] == [comment.id]
    assert merged.thread.embed_url == f"/ideas/{kept.id}"
    # Followers of the duplicate now hear about the kept idea's status.
    services.change_status(kept, "planned", "Soon.", by=pm)
    assert [n.kind for n in notes_for(fan, "idea_status")] == ["idea_status"]


def test_merge_refusals(area, make_idea, make_member, pm):
    a, b, c = make_idea(area), make_idea(area), make_idea(area)
    with pytest.raises(Invalid):
        services.merge_ideas(a, a, by=pm)
    with pytest.raises(NotAllowed):
        services.merge_ideas(a, b, by=make_member("Not Staff"))
    services.merge_ideas(b, c, by=pm)
    with pytest.raises(Invalid) as refused:
        services.merge_ideas(reloaded(a), reloaded(b), by=pm)  # into a merged idea
    assert "into" in refused.value.fields
    with pytest.raises(Conflict):
        services.merge_ideas(reloaded(b), reloaded(a), by=pm)  # merging it again
    db.session.rollback()
    assert reloaded(a).status == "new" and reloaded(a).vote_count == 1
    assert reloaded(c).vote_count == 2


# ---- void_votes and the check command ----------------------------------------------------


def test_void_votes_is_for_moderators_and_every_count_and_score_drops(
    area, make_idea, make_member, moderator, pm, runner
):
    ideas = [make_idea(area) for _ in range(3)]
    cheat, honest = make_member("Chet Cheat"), make_member("Hon Est")
    for idea in ideas:
        services.vote(idea, cheat, "critical")
        services.vote(idea, honest)
    before = {i.id: reloaded(i).trending_score for i in ideas}
    weights = {
        v.idea_id: v.weight
        for v in db.session.scalars(select(Vote).where(Vote.member_id == cheat.id))
    }
    for who in (pm, honest):
        with pytest.raises(NotAllowed):
            services.void_votes(cheat, who, "Looks fishy")
    with pytest.raises(Invalid):
        services.void_votes(cheat, moderator, "")
    db.session.rollback()
    assert all(reloaded(i).vote_count == 3 for i in ideas)

    voided = services.void_votes(cheat, moderator, "Sock puppet ring")
    assert voided == sorted(i.id for i in ideas)
    for idea in ideas:
        idea = reloaded(idea)
        assert idea.vote_count == 2
        assert idea.trending_score == pytest.approx(before[idea.id] - weights[idea.id], rel=1e-9)
        assert cheat.id not in [v.member_id for v in live_votes(idea)]
    # The record stays: voided, by whom.
    assert {v.voided_by_id for v in services.member_votes(cheat, moderator)} == {moderator.id}
    with pytest.raises(NotFound):
        services.member_votes(cheat, honest)
    result = runner.invoke(args=["ideas", "check"])
    assert result.exit_code == 0, result.output
    assert "All vote counts and trending scores match" in result.output
    # Voiding again changes nothing.
    assert services.void_votes(cheat, moderator, "Again") == []
    assert reloaded(ideas[0]).vote_count == 2


def test_check_command_reports_and_fixes_drift(area, make_idea, make_member, runner):
    idea = make_idea(area)
    other = make_idea(area)
    services.vote(idea, make_member("Val Voter"))
    score = reloaded(idea).trending_score
    db.session.execute(
        text("UPDATE ideas_idea SET vote_count = 99, trending_score = 0 WHERE id = :id"),
        {"id": idea.id},
    )
    db.session.commit()

    dry = runner.invoke(args=["ideas", "check", "--dry-run"])
    assert dry.exit_code != 0
    assert f"idea {idea.id}: stored 99 votes, actual 2" in dry.output
    assert f"idea {other.id}:" not in dry.output
    assert "would fix" in dry.output
    assert reloaded(idea).vote_count == 99

    fixed = runner.invoke(args=["ideas", "check"])
    assert fixed.exit_code == 0, fixed.output
    assert f"idea {idea.id}: stored 99 votes, actual 2" in fixed.output
    assert "1 idea(s) had drifted; fixed." in fixed.output
    idea = reloaded(idea)
    assert idea.vote_count == 2
    assert idea.trending_score == pytest.approx(score, rel=1e-12)

    again = runner.invoke(args=["ideas", "check"])
    assert again.exit_code == 0
    assert "All vote counts and trending scores match" in again.output


# ---- the product team's review ---------------------------------------------------------


@pytest.fixture
def demand(area, make_idea, make_member, admin):
    """Three ideas whose voters carry customer value and segments."""

    def customer(name, value=None, segment=None):
        member = make_member(name)
        if value is not None or segment is not None:
            community.set_customer_attributes(member, value, segment, by=admin)
        return member

    e1 = customer("Ent One", "120000.10", "enterprise")
    e2 = customer("Ent Two", "45000.25", "enterprise")
    m1 = customer("Mid One", "30000.40", "mid-market")
    s1 = customer("Small One", "4000.05", "smb")
    s2 = customer("Small Two", "999.99", "smb")
    a = customer("Small Author", "10.00", "smb")
    u1 = customer("Unknown One")
    x = make_idea(area, e1, title="Single sign-on with Okta")
    services.vote(x, e2, "critical")
    y = make_idea(area, s1, title="Cheaper plan for small teams")
    for member, importance in ((s2, "important"), (m1, "nice_to_have"), (u1, None), (a, None)):
        services.vote(y, member, importance)
    z = make_idea(area, u1, title="Confetti when a task is done")
    return x, y, z


def test_review_weighs_demand_by_the_exact_customer_value_of_voters(demand, pm):
    x, y, z = demand
    rows = {r.idea.id: r for r in services.review(pm).items}
    assert rows[x.id].votes == 2
    assert rows[x.id].value == Decimal("165000.35")
    assert rows[x.id].importance == {"nice_to_have": 0, "important": 0, "critical": 1}
    assert rows[x.id].segments == {"enterprise": {"votes": 2, "value": Decimal("165000.35")}}
    assert rows[y.id].votes == 5
    assert rows[y.id].value == Decimal("35010.44")
    assert rows[y.id].importance == {"nice_to_have": 1, "important": 1, "critical": 0}
    assert rows[y.id].segments == {
        "mid-market": {"votes": 1, "value": Decimal("30000.40")},
        "smb": {"votes": 3, "value": Decimal("5010.04")},
        "unknown": {"votes": 1, "value": Decimal("0.00")},
    }
    assert rows[z.id].votes == 1 and rows[z.id].value == Decimal("0.00")


def test_review_sorts_by_value_votes_and_trend_and_filters_by_segment(demand, pm):
    x, y, z = demand
    assert [r.idea.id for r in services.review(pm, sort="value").items] == [x.id, y.id, z.id]
    assert [r.idea.id for r in services.review(pm, sort="votes").items] == [y.id, x.id, z.id]
    backdate(y, 40)  # every vote for y falls in the previous 30 days
    rows = services.review(pm, sort="trend").items
    assert [r.idea.id for r in rows] == [x.id, z.id, y.id]
    assert [(r.recent, r.previous, r.trend) for r in rows] == [(2, 0, 2), (1, 0, 1), (0, 5, -5)]

    [smb] = services.review(pm, segment="smb").items
    assert smb.idea.id == y.id
    assert smb.votes == 3
    assert smb.value == Decimal("5010.04")
    assert smb.segments == {"smb": {"votes": 3, "value": Decimal("5010.04")}}
    assert services.review(pm, segment="nobody-here").items == []
    with pytest.raises(Invalid):
        services.review(pm, sort="hype")


def test_review_trend_is_last_30_days_against_the_30_before(area, make_idea, make_member, pm):
    idea = make_idea(area)
    recent = [make_member(f"Recent {n}") for n in range(3)]
    earlier = [make_member(f"Earlier {n}") for n in range(2)]
    ancient = make_member("Ancient")
    for member in (*recent, *earlier, ancient):
        services.vote(idea, member)
    backdate(idea, 10, idea.author)
    for member in earlier:
        backdate(idea, 45, member)
    backdate(idea, 75, ancient)
    [row] = services.review(pm).items
    assert (row.votes, row.recent, row.previous, row.trend) == (7, 4, 2, 2)


def test_review_is_for_product_managers_only(area, make_idea, make_member, moderator, admin, pm):
    make_idea(area)
    for viewer in (None, make_member("Cus Tomer"), moderator):
        with pytest.raises(NotFound):
            services.review(viewer)
    assert services.review(admin).total == services.review(pm).total == 1


def test_bulk_status_change_reports_back_for_every_idea(area, make_idea, make_member, pm):
    ideas = [make_idea(area) for _ in range(3)]
    voter = make_member("Val Voter")
    for idea in ideas:
        services.vote(idea, voter)
    changed = services.bulk_change_status(
        [ideas[0].id, ideas[1].id], "planned", "On the roadmap.", by=pm
    )
    assert changed == 2
    assert [reloaded(i).status for i in ideas] == ["planned", "planned", "new"]
    assert len(notes_for(voter, "idea_status")) == 2
    with pytest.raises(Invalid):
        services.bulk_change_status([], "planned", "", by=pm)
    with pytest.raises(NotAllowed):
        services.bulk_change_status([ideas[2].id], "planned", "", by=voter)


def test_customer_attributes_are_checked(make_member, admin):
    member = make_member("Cus Tomer")
    with pytest.raises(Invalid):
        community.set_customer_attributes(member, "lots", "enterprise", by=admin)
    with pytest.raises(NotAllowed):
        community.set_customer_attributes(member, "10", "smb", by=member)
    db.session.rollback()
    assert db.session.get(Member, member.id).customer_value is None
