"""The listening part of `flask demo-data`: a lead watchlist for sales, a churn
watchlist for support, and a few customer posts that set them (and the at-risk
alert) off, so the support queue has something in it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from community import events
from community import services as community
from community.extensions import db
from community.models import Thread, utcnow

from . import services
from .models import Alert

WATCHLISTS = [
    ("Diego Alvarez", "Buying intent", "lead",
     ["pricing", "quote", "upgrade", "licence", "license", "renew", "enterprise plan", "more seats"]),
    ("Sam Okafor", "Churn risk", "churn",
     ["cancel", "switch to", "refund", "competitor", "moving away", "terminate"]),
]  # fmt: skip

# (space, author, title, body, hours ago)
THREADS = [
    ("billing", "Oliver Grant", "Charged twice AGAIN, and nobody answers",
     "This is the third month in a row we are charged twice. I opened a ticket a week ago and "
     "nobody has answered. Honestly this is unacceptable and really frustrating. If this is "
     "not fixed this week we will cancel and ask for a refund.", 5),
    ("billing", "Mei Tanaka", "Pricing for 200 more seats?",
     "We are rolling out to two more departments. What would pricing look like for 200 more "
     "seats, and could we get a quote for the Enterprise plan with SSO?", 26),
    ("integrations", "Kwame Mensah", "Salesforce sync lost our data, terrible",
     "The sync overwrote two weeks of notes with empty fields. Terrible experience, we are "
     "furious and the team is wasting hours fixing it by hand.", 50),
]  # fmt: skip
REPLIES = [
    ("Can I switch from monthly to annual billing mid-cycle?", "Fatima Haddad",
     "Related question: we want to upgrade to annual and renew for three years. Who do I talk to?"),
]  # fmt: skip


def seed(app, members: dict, spaces: dict, **_) -> None:
    for owner, name, kind, terms in WATCHLISTS:
        services.create_watchlist(members[owner], name, terms, kind)
    made = []
    for slug, author, title, body, hours in THREADS:
        thread = community.create_thread(
            spaces[slug], members[author], "question", title, body, ["demo"]
        )
        made.append((thread, hours))
    for title, author, body in REPLIES:
        thread = db.session.scalar(db.select(Thread).where(Thread.title == title))
        if thread is not None:
            community.reply(thread, members[author], body)
    # Support already answered the oldest angry customer; the others wait in the queue.
    now = utcnow()
    for thread, hours in made:
        db.session.execute(
            update(Alert)
            .where(Alert.thread_id == thread.id)
            .values(created_at=now - timedelta(hours=hours))
        )
    db.session.commit()
    oldest = made[-1][0]
    community.reply(
        oldest,
        members["Sam Okafor"],
        "I'm so sorry about this, Kwame. I've restored the notes from last night's backup; "
        "I'll call you this afternoon to go through what happened.",
    )


def connect_subscribers() -> None:
    events.demo_data_seeded.connect(seed)
