"""The search index follows moderation: hidden, deleted, moved and merged content."""

from __future__ import annotations

from community import search
from community.extensions import db
from community.models import Member
from moderation import services as moderation

from .conftest import attached


def find(app, q, member=None, **options):
    with app.test_request_context():
        viewer = db.session.get(Member, member.id) if member is not None else None
        return search.query(viewer, q, **options)


def act(app, moderator, *args, **kwargs):
    with app.test_request_context():
        moderation.act(attached(moderator), *args, **kwargs)


def test_hidden_thread_and_deleted_reply_leave_search_for_others(
    app, make_thread, make_reply, moderator
):
    thread = make_thread(title="Quokka export question", body="How do quokkas export?")
    reply = make_reply(thread, body="Try the wombatfeature button")
    assert find(app, "wombatfeature").total == 1
    act(app, moderator, "delete", "post", reply.id, "Wrong")
    assert find(app, "wombatfeature").total == 0
    assert find(app, "quokka").total == 1
    act(app, moderator, "hide", "thread", thread.id, "Spam")
    assert find(app, "quokka").total == 0
    assert find(app, "quokka", moderator).total == 1
    act(app, moderator, "restore", "thread", thread.id, "Fine after all")
    assert find(app, "quokka").total == 1


def test_moved_and_merged_threads_are_reindexed(
    app, make_thread, make_reply, make_space, moderator
):
    first, second = make_space("first-space"), make_space("second-space")
    thread = make_thread(first, title="Platypus sync trouble")
    act(app, moderator, "move", "thread", thread.id, "Better there", into="second-space")
    with app.test_request_context():
        from community import services

        target = services.get_space("second-space", None)
        assert find(app, "platypus", space=target).total == 1
    keep = make_thread(second, title="Echidna questions")
    dupe = make_thread(second, title="Another thread", body="About the narwhalsetting")
    act(app, moderator, "merge", "thread", dupe.id, "Duplicate", into=keep.id)
    assert [hit.id for hit in find(app, "narwhalsetting").items] == [keep.id]
    assert first is not None
