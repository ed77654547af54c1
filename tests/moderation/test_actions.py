"""Each moderator action: what members then see, the counts, the author's
notification with the reason, and the audit entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from community import services
from community.errors import NotAllowed, NotFound
from community.extensions import db
from community.models import EmailOutbox, Notification, Thread, utcnow
from moderation import services as moderation
from moderation.models import AuditEntry

pytestmark = pytest.mark.usefixtures("ctx")


def notes_of(member):
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.member_id == member.id)
            .order_by(Notification.id)
        )
    )


def audit(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_hiding_a_reply_hides_it_from_others_keeps_it_for_author_and_moderators(
    make_thread, make_reply, make_member, moderator
):
    thread = make_thread()
    author, reader = make_member("Ann Author"), make_member("Rita Reader")
    post = make_reply(thread, author, body="Buy cheap watches")
    thread = db.session.get(Thread, thread.id)
    assert thread.reply_count == 1

    moderation.act(moderator, "hide", "post", post.id, "Advertising")

    assert thread.reply_count == 0
    assert services.thread_replies(thread, reader).items == []
    with pytest.raises(NotFound):
        services.get_post(post.id, reader)
    assert [p.id for p in services.thread_replies(thread, author).items] == [post.id]
    assert [p.id for p in services.thread_replies(thread, moderator).items] == [post.id]
    assert services.get_post(post.id, author).hidden_reason == "Advertising"
    (note,) = notes_of(author)
    assert "was hidden by a moderator" in note.summary and "Advertising" in note.summary
    (entry,) = audit("hide")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (moderator.id, "post", post.id)
    assert entry.reason == "Advertising"


def test_restore_brings_back_the_reply_and_its_count(make_thread, make_reply, moderator):
    thread = make_thread()
    post = make_reply(thread)
    moderation.act(moderator, "hide", "post", post.id, "Check")
    moderation.act(moderator, "restore", "post", post.id, "False alarm")
    thread = db.session.get(Thread, thread.id)
    assert thread.reply_count == 1
    assert not services.get_post(post.id, None).is_hidden
    assert [e.reason for e in audit("restore")] == ["False alarm"]
    assert "restored" in notes_of(post.author)[-1].summary


def test_delete_is_soft(make_thread, make_reply, moderator):
    thread = make_thread()
    post = make_reply(thread, body="Something rude")
    moderation.act(moderator, "delete", "post", post.id, "Insulting")
    row = services.get_post(post.id, moderator)
    assert row.deleted_at is not None and row.body == "Something rude"
    assert db.session.get(Thread, thread.id).reply_count == 0
    with pytest.raises(NotFound):
        services.get_post(post.id, None)
    assert "deleted by a moderator" in notes_of(post.author)[-1].summary


def test_hiding_a_thread_takes_it_out_of_lists(make_thread, make_member, moderator):
    thread = make_thread(title="Spammy thread title")
    reader = make_member()
    moderation.act(moderator, "hide", "thread", thread.id, "Spam")
    assert thread.id not in [t.id for t in services.list_threads(reader).items]
    assert thread.id in [t.id for t in services.list_threads(moderator).items]
    with pytest.raises(NotFound):
        services.get_thread(thread.id, reader)
    assert audit("hide")[0].target_type == "thread"


def test_move_thread_to_another_space(make_thread, make_space, moderator):
    thread = make_thread()
    target = make_space("elsewhere")
    moderation.act(moderator, "move", "thread", thread.id, "Belongs there", into="elsewhere")
    assert db.session.get(Thread, thread.id).space_id == target.id
    (entry,) = audit("move")
    assert '"space": "elsewhere"' in entry.after
    assert "moved to Elsewhere" in notes_of(thread.author)[-1].summary


def test_locked_thread_refuses_member_replies_but_not_moderators(
    make_thread, make_member, moderator
):
    thread = make_thread()
    member = make_member()
    moderation.act(moderator, "lock", "thread", thread.id, "Heated")
    thread = db.session.get(Thread, thread.id)
    with pytest.raises(NotAllowed, match="locked"):
        services.reply(thread, member, "One more thing")
    services.reply(thread, moderator, "Closing note from the moderators")
    moderation.act(moderator, "unlock", "thread", thread.id, "")
    services.reply(thread, member, "Thanks")
    assert [e.reason for e in audit("lock") + audit("unlock")] == ["Heated", ""]


def test_merge_moves_posts_and_counts(make_thread, make_reply, make_space, moderator):
    space = make_space()
    keep = make_thread(space, title="Export to CSV?")
    make_reply(keep, body="Use the export button")
    dupe = make_thread(space, title="How to export CSV")
    make_reply(dupe, body="Settings, then export")
    moderation.act(moderator, "merge", "thread", dupe.id, "Duplicate", into=keep.id)
    keep = db.session.get(Thread, keep.id)
    assert keep.reply_count == 3  # its reply, the other opening post, the other reply
    bodies = [p.body for p in services.thread_replies(keep, None).items]
    assert bodies == ["Use the export button", "Details here.", "Settings, then export"]
    assert dupe.id not in [t.id for t in services.list_threads(None).items]
    assert services.merged_into(dupe.id, None).id == keep.id


def test_warn_sends_a_private_message_with_the_reason(make_member, moderator):
    member = make_member("Wes Warned")
    moderation.act(moderator, "warn", "member", member.id, "Please stay polite")
    (note,) = notes_of(member)
    assert note.kind == "warning" and "Please stay polite" in note.summary
    assert db.session.scalar(select(EmailOutbox).where(EmailOutbox.member_id == member.id))
    assert audit("warn")[0].reason == "Please stay polite"


def test_edit_with_reason_keeps_before_and_after(make_thread, make_reply, moderator):
    thread = make_thread()
    post = make_reply(thread, body="Call me at 555-0100")
    moderation.act(moderator, "edit", "post", post.id, "Removed phone number", body="[removed]")
    assert services.get_post(post.id, None).body == "[removed]"
    (entry,) = audit("edit")
    assert "555-0100" in entry.before and "[removed]" in entry.after
    assert "edited by a moderator" in notes_of(post.author)[-1].summary


def test_actions_need_a_moderator(make_thread, make_reply, make_member):
    post = make_reply(make_thread())
    with pytest.raises(NotFound):
        moderation.act(make_member(), "hide", "post", post.id, "No")


def test_suspend_until_a_date_through_the_action(make_member, moderator):
    member = make_member()
    until = (utcnow() + timedelta(days=3)).isoformat(timespec="seconds") + "Z"
    moderation.act(moderator, "suspend", "member", member.id, "Cool down", until=until)
    assert db.session.get(type(member), member.id).is_suspended
    assert '"until"' in audit("suspend")[0].after


def test_hide_and_restore_an_idea(make_idea, make_member, moderator):
    idea = make_idea(title="Better exports")
    reader = make_member()
    from ideas import services as ideas

    moderation.act(moderator, "hide", "idea", idea.id, "Duplicate of another")
    with pytest.raises(NotFound):
        ideas.get_idea(idea.id, reader)
    assert idea.id not in [i.id for i in ideas.list_ideas(reader).items]
    assert ideas.get_idea(idea.id, idea.author).hidden_reason == "Duplicate of another"
    moderation.act(moderator, "restore", "idea", idea.id, "")
    assert ideas.get_idea(idea.id, reader).hidden_at is None
    assert [(e.target_type, e.target_id) for e in audit("hide") + audit("restore")] == [
        ("idea", idea.id),
        ("idea", idea.id),
    ]
