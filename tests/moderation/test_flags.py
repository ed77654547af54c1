"""Flags, the review queue, the auto-hide threshold, the live queue and voting fraud."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community import events, services
from community.errors import Conflict, Invalid, NotAllowed, NotFound
from community.extensions import db
from community.models import Notification, Thread
from moderation import services as moderation
from moderation.models import Flag, ReviewItem

from .conftest import attached, received


@pytest.fixture
def reply(make_thread, make_reply, make_member):
    thread = make_thread()
    return make_reply(thread, make_member("Spencer Spam"), body="Cheap watches here")


def test_flagging_opens_at_trust_level_one(ctx, reply, member_at):
    with pytest.raises(NotAllowed, match="trust level 1"):
        moderation.flag(member_at(0), "post", reply.id, "spam")
    flag = moderation.flag(member_at(1), "post", reply.id, "spam")
    assert flag.item.flag_count == 1 and flag.item.status == "open"


def test_one_flag_per_member_per_item_and_other_needs_a_note(ctx, reply, member_at):
    member = member_at(1)
    with pytest.raises(Invalid):
        moderation.flag(member, "post", reply.id, "other", "")
    with pytest.raises(Invalid):
        moderation.flag(member, "post", reply.id, "lovely")
    moderation.flag(member, "post", reply.id, "other", "Looks like an ad")
    with pytest.raises(Conflict):
        moderation.flag(member, "post", reply.id, "spam")
    assert db.session.scalar(select(ReviewItem.flag_count)) == 1


def test_members_cannot_flag_what_they_cannot_see_or_their_own(
    ctx, admin, make_space, make_thread, member_at
):
    private = make_space(visibility="private")
    hidden_thread = make_thread(private, admin)
    member = member_at(2)
    with pytest.raises(NotFound):
        moderation.flag(member, "thread", hidden_thread.id, "spam")
    own = make_thread(author=member)
    with pytest.raises(Invalid, match="your own"):
        moderation.flag(member, "thread", own.id, "spam")


def test_three_trusted_flags_hide_the_post_pending_review(ctx, reply, member_at):
    thread = db.session.get(Thread, reply.thread_id)
    assert thread.reply_count == 1
    # Flags from level 1 do not count towards the threshold.
    moderation.flag(member_at(1), "post", reply.id, "spam")
    moderation.flag(member_at(2), "post", reply.id, "spam")
    moderation.flag(member_at(3), "post", reply.id, "abusive")
    assert not services.get_post(reply.id, None).is_hidden
    moderation.flag(member_at(2), "post", reply.id, "spam")

    with pytest.raises(NotFound):
        services.get_post(reply.id, None)
    assert thread.reply_count == 0
    item = db.session.scalar(select(ReviewItem))
    assert item.auto_hidden and item.status == "open" and item.flag_count == 4
    note = db.session.scalar(select(Notification).where(Notification.member_id == reply.author_id))
    assert "automatically after several flags" in note.summary


def test_the_threshold_is_configurable(app, ctx, reply, member_at):
    app.config["MODERATION_AUTO_HIDE_FLAGS"] = 1
    moderation.flag(member_at(2), "post", reply.id, "spam")
    assert services.get_post(reply.id, reply.author).is_hidden


def test_queue_shows_flags_author_history_and_sorts(
    ctx, make_thread, make_reply, member_at, moderator
):
    a = make_reply(make_thread(), body="One")
    b = make_reply(make_thread(), body="Two")
    moderation.flag(member_at(1), "post", b.id, "spam")
    moderation.flag(member_at(1), "post", a.id, "spam")
    moderation.flag(member_at(1), "post", b.id, "off_topic")
    _page, newest = moderation.review_queue(moderator)
    assert [e.target.id for e in newest] == [b.id, a.id]
    _page, most = moderation.review_queue(moderator, sort="most_flagged")
    assert [e.item.flag_count for e in most] == [2, 1]
    entry = most[0]
    assert entry.reasons == {"Spam": 1, "Off-topic": 1}
    assert entry.author.id == b.author_id and entry.author.trust_level == 0
    assert [p.id for p in entry.recent_posts] == [b.id]
    with pytest.raises(NotFound):
        moderation.review_queue(member_at(4))


def test_dismissing_resolves_the_item_and_keeps_the_post(ctx, reply, member_at, moderator):
    moderation.flag(member_at(1), "post", reply.id, "spam")
    moderation.act(moderator, "dismiss", "post", reply.id, "Not spam")
    assert db.session.scalar(select(ReviewItem.resolution)) == "dismiss"
    assert not services.get_post(reply.id, None).is_hidden
    assert moderation.open_count() == 0


def test_bulk_actions_on_several_items(ctx, make_thread, make_reply, member_at, moderator):
    posts = [make_reply(make_thread(), body=f"Ad {n}") for n in range(3)]
    flagger = member_at(1)
    for post in posts:
        moderation.flag(flagger, "post", post.id, "spam")
    ids = list(db.session.scalars(select(ReviewItem.id).order_by(ReviewItem.id)))
    result = moderation.act_on_items(moderator, "hide", [*ids[:2], 999], "Ads")
    assert result.done == ids[:2] and list(result.failed) == [999]
    assert [services.get_post(p.id, moderator).is_hidden for p in posts] == [True, True, False]


def test_flags_on_ideas_and_profiles(ctx, make_idea, member_at, moderator):
    idea = make_idea()
    member = member_at(2)
    moderation.flag(member, "idea", idea.id, "off_topic")
    moderation.flag(member, "member", idea.author_id, "needs_staff", "Odd profile")
    kinds = {(e.item.target_type, e.target.title) for e in moderation.review_queue(moderator)[1]}
    assert ("idea", "Better exports") in kinds
    assert ("member", idea.author.display_name) in kinds


def test_voting_fraud_lands_in_the_queue(ctx, make_member, moderator):
    beneficiary = make_member("Vic Votes")
    events.voting_fraud_detected.send(
        beneficiary, voter_ids=[5, 6], kind="ring", detail="Three accounts voting together."
    )
    events.voting_fraud_detected.send(
        beneficiary, voter_ids=[5, 6, 7], kind="ring", detail="Again."
    )
    (entry,) = moderation.review_queue(moderator, kind="fraud")[1]
    assert entry.item.kind == "fraud" and entry.target.id == beneficiary.id
    assert "ring" in entry.item.detail and "5, 6, 7" in entry.item.detail


def test_the_queue_updates_live_for_moderators_only(
    app, socket_for, make_thread, make_reply, member_at, moderator
):
    post = make_reply(make_thread())
    mod_socket, _ = socket_for(moderator)
    assert mod_socket.emit("join_moderation", {}, callback=True) == {"ok": True}
    member = member_at(1)
    member_socket, _ = socket_for(member)
    assert member_socket.emit("join_moderation", {}, callback=True)["ok"] is False
    mod_socket.get_received()
    member_socket.get_received()
    with app.test_request_context():
        moderation.flag(attached(member), "post", post.id, "spam")
    (update,) = received(mod_socket, "moderation_queue")
    assert update["open"] == 1
    assert received(member_socket, "moderation_queue") == []


def test_flag_count_is_kept_per_flag_row(ctx, reply, member_at):
    for level in (1, 1, 2):
        moderation.flag(member_at(level), "post", reply.id, "spam")
    assert db.session.scalar(select(ReviewItem.flag_count)) == len(
        db.session.scalars(select(Flag)).all()
    )
