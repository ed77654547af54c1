"""The reputation part of `flask demo-data`. The demo's threads, kudos, accepted
answers, votes and idea statuses already wrote ledger rows through the
subscribers as they ran; here the rows take the dates the demo back-dated its
content to (so this week's board differs from all time), advisory committee
members get their badge, and everyone's count badges are checked."""

from __future__ import annotations

from sqlalchemy import select, update

from community import events
from community.extensions import db
from community.models import Member, Post, Space, SpaceMembership
from ideas.models import Idea, Vote

from . import services
from .models import Entry


def _backdate_entries() -> None:
    post_time = select(Post.created_at).where(Post.id == Entry.object_id).scalar_subquery()
    db.session.execute(
        update(Entry).where(Entry.object_type == "post").values(created_at=post_time)
    )
    vote_time = (
        select(Vote.created_at)
        .where(Vote.idea_id == Entry.object_id, Vote.member_id == Entry.actor_id)
        .scalar_subquery()
    )
    db.session.execute(
        update(Entry)
        .where(Entry.rule == "idea_vote_received", Entry.reverses_id.is_(None))
        .values(created_at=vote_time)
    )
    decided = select(Idea.status_changed_at).where(Idea.id == Entry.object_id).scalar_subquery()
    db.session.execute(
        update(Entry).where(Entry.rule == "idea_delivered").values(created_at=decided)
    )
    db.session.commit()


def seed(app, members: dict, **_) -> None:
    _backdate_entries()
    services.recompute()  # this week's and this month's totals follow the new dates
    advisory = db.session.execute(
        select(SpaceMembership.member_id, Space)
        .join(Space, Space.id == SpaceMembership.space_id)
        .where(Space.kind == "advisory")
    ).all()
    for member_id, space in advisory:
        services.advisory_joined(db.session.get(Member, member_id), space)
    for member in members.values():
        services.check_badges(member)
        if db.session.scalar(select(Post.id).where(Post.author_id == member.id, Post.number > 0)):
            post = db.session.scalar(
                select(Post).where(Post.author_id == member.id, Post.number > 0).limit(1)
            )
            services.check_post_badges(post, post.thread)


def connect_subscribers() -> None:
    events.demo_data_seeded.connect(seed)
