"""Writers that must commit with their cause (ledger rows, outbox rows) share its transaction."""

import pytest
from sqlalchemy import select

from community import events, services
from community.extensions import db
from community.models import Kudos, Member, Post, Tag


@pytest.fixture
def recording_kudos():
    receivers = []

    def connect(fn):
        events.recording(events.kudos_given).connect(fn)
        receivers.append(fn)
        return fn

    yield connect
    for fn in receivers:
        events.recording(events.kudos_given).disconnect(fn)


def test_a_recording_writer_commits_with_the_cause(
    ctx, make_member, make_thread, make_reply, recording_kudos
):
    author, fan = make_member(), make_member()
    post = db.session.get(Post, make_reply(make_thread(author=make_member()), author=author).id)
    fan = db.session.get(Member, fan.id)
    seen_after_commit = []

    @recording_kudos
    def write_row(kudos, post, by):
        db.session.add(Tag(name=f"recorded-{kudos.post_id}-{by.id}"))

    def after_commit(kudos, **kwargs):
        seen_after_commit.append(kudos)

    events.kudos_given.connect(after_commit)
    try:
        services.give_kudos(post, fan)
    finally:
        events.kudos_given.disconnect(after_commit)
    db.session.rollback()  # only what was committed survives
    assert db.session.scalar(select(Tag.name).where(Tag.name.like("recorded-%"))) == (
        f"recorded-{post.id}-{fan.id}"
    )
    assert len(seen_after_commit) == 1


def test_a_failing_recording_writer_leaves_no_trace_of_the_cause(
    ctx, make_member, make_thread, make_reply, recording_kudos
):
    author, fan = make_member(), make_member()
    post = db.session.get(Post, make_reply(make_thread(author=make_member()), author=author).id)
    fan = db.session.get(Member, fan.id)

    @recording_kudos
    def fail(kudos, post, by):
        raise RuntimeError("the ledger is full")

    with pytest.raises(RuntimeError):
        services.give_kudos(post, fan)
    db.session.rollback()
    assert db.session.scalar(select(Kudos).where(Kudos.post_id == post.id)) is None
