"""The listening part of `flask demo-data`: a lead watchlist for sales, a churn
watchlist for support, and a few customer comments on ideas that set them (and
the at-risk alert) off, so the support queue has something in it.

The comments go on ideas rather than new forum threads so the demo's forum
stays as the community demo arranged it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from community import events
from community import services as community
from community.extensions import db
from community.models import Post, utcnow
from ideas.models import Idea

from . import services
from .models import Alert, Sentiment

WATCHLISTS = [
    ("Diego Alvarez", "Buying intent", "lead",
     ["pricing", "quote", "upgrade", "licence", "license", "renew", "enterprise plan", "more seats"]),
    ("Sam Okafor", "Churn risk", "churn",
     ["cancel", "switch to", "refund", "competitor", "moving away", "terminate"]),
]  # fmt: skip

# (idea title, author, comment, hours ago)
COMMENTS = [
    ("Offline mode for the Android app", "Oliver Grant",
     "Two years of asking and still nothing. Our technicians lost a full day of work again "
     "this week. This is ridiculous, unacceptable and really frustrating; if it is not "
     "fixed soon we will cancel.", 5),
    ("Scheduled PDF reports", "Mei Tanaka",
     "We would roll this out to two more departments. What would pricing look like for "
     "200 more seats, and could we get a quote for the Enterprise plan?", 26),
    ("Two-way Salesforce sync of custom fields", "Kwame Mensah",
     "The current one-way sync overwrote two weeks of notes with empty fields. Terrible "
     "experience, we are furious and wasting hours fixing it by hand.", 50),
    ("Microsoft Teams notifications", "Fatima Haddad",
     "Our contract is up for renewal in March. Without Teams support we may switch to a "
     "tool that has it.", 3),
]  # fmt: skip


def seed(app, members: dict, spaces: dict, **_) -> None:
    for owner, name, kind, terms in WATCHLISTS:
        services.create_watchlist(members[owner], name, terms, kind)
    now = utcnow()
    answered = None
    for title, author, body, hours in COMMENTS:
        idea = db.session.scalar(select(Idea).where(Idea.title == title))
        if idea is None or idea.thread is None:
            continue
        post = community.reply(idea.thread, members[author], body)
        when = now - timedelta(hours=hours)
        db.session.execute(update(Post).where(Post.id == post.id).values(created_at=when))
        db.session.execute(update(Alert).where(Alert.post_id == post.id).values(created_at=when))
        answered = answered or (idea.thread if hours == 50 else None)
    _date_scores_like_their_posts()
    db.session.commit()
    if answered is not None:
        # Support already answered the oldest angry customer; the others wait in the queue.
        community.reply(
            answered,
            members["Sam Okafor"],
            "I'm so sorry about this, Kwame. I've restored the notes from last night's "
            "backup and I'll call you this afternoon to go through what happened.",
        )


def _date_scores_like_their_posts() -> None:
    """The demo back-dates its threads and ideas after they were scored: date the
    scores the same way, so sentiment over time has a past."""
    for model, kind in ((Post, "post"), (Idea, "idea")):
        written = select(model.created_at).where(model.id == Sentiment.target_id)
        db.session.execute(
            update(Sentiment)
            .where(Sentiment.target_type == kind)
            .values(created_at=written.scalar_subquery())
        )


def connect_subscribers() -> None:
    events.demo_data_seeded.connect(seed)
