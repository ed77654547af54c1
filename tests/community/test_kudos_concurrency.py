"""Kudos stay exact when many members give them at the same moment, and when one
member clicks give and withdraw from several tabs at once: the count on the post,
the kudos rows and the author's reputation always agree, and nobody sees an error."""

from __future__ import annotations

from sqlalchemy import func, select

from community import services
from community.extensions import db
from community.models import Kudos, Post
from reputation import services as reputation
from tests.concurrency import all_at_once, bulk_members


def stored(app, post_id):
    with app.app_context():
        post = db.session.get(Post, post_id)
        rows = db.session.scalar(select(func.count(Kudos.id)).where(Kudos.post_id == post_id))
        return post.kudos_count, rows, reputation.points_of([post.author_id])[post.author_id]


def test_thirty_members_giving_kudos_at_once_give_exactly_thirty(app, make_thread, make_reply):
    reply = make_reply(make_thread())
    before = stored(app, reply.id)[2]  # the first reply to the question earned points too
    crowd = bulk_members(app, 30, "fans")
    all_at_once(app, [(services.give_kudos, Post, reply.id, m) for m in crowd])
    assert stored(app, reply.id) == (30, 30, before + 30 * 5)


def test_give_and_withdraw_from_many_tabs_at_once_stay_consistent(
    app, make_thread, make_reply, make_member
):
    reply = make_reply(make_thread())
    before = stored(app, reply.id)[2]
    member = make_member("Click Happy")
    calls = [(services.give_kudos, Post, reply.id, member.id)] * 12
    calls += [(services.withdraw_kudos, Post, reply.id, member.id)] * 12
    calls = [c for pair in zip(calls[:12], calls[12:], strict=True) for c in pair]
    all_at_once(app, calls)
    count, rows, points = stored(app, reply.id)
    assert count == rows and rows in (0, 1)
    assert points == before + 5 * rows  # each withdrawal took back exactly one award
