"""The analytics part of `flask demo-data`: two engagement snapshots, so the
dashboard's level movements have something to compare. Connected last, after
every other domain has seeded its data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from community import events
from community.extensions import db
from community.models import Post, utcnow

from . import services
from .models import EngagementSnapshot

DAYS_BACK = 30  # just before the dashboard's default 30-day period


def seed(app, **_) -> None:
    today = utcnow().date()
    earlier = today - timedelta(days=DAYS_BACK)
    services.take_snapshot(earlier)
    # The demo's content is all recent, so a month ago the members who have
    # posted since were still only aware: that is the movement the panel shows.
    posters = select(Post.author_id).distinct()
    db.session.execute(
        update(EngagementSnapshot)
        .where(EngagementSnapshot.day == earlier, EngagementSnapshot.member_id.in_(posters))
        .values(level="aware")
    )
    db.session.commit()
    services.take_snapshot(today)


def connect_subscribers() -> None:
    events.demo_data_seeded.connect(seed)
