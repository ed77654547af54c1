"""The moderation part of `flask demo-data`: trust levels, a spam reply waiting to be
flagged, flags in the queue, content held for approval, an audit trail and a
suspended member."""

from __future__ import annotations

from datetime import timedelta

from flask_login import login_user, logout_user
from sqlalchemy import select

from community import events
from community import services as community
from community.extensions import db
from community.models import Thread, utcnow

from . import services

SPAMMER = ("dex@deals.example", "Dex Deals")
SPAM_REPLY = (
    "Cheapest licences anywhere!!! Message me for 90% off, limited offer, "
    "cheap-licences.example has them all."
)
RANT = "This whole forum is useless, nobody here knows anything. Off to a competitor."
HELD = "Earn $500 a day from home, click www.quick-cash.example now"
HELD_TOO = "Free followers for your team at https://quick-cash.example/followers"
NEWCOMER = ("nina@newco.example", "Nina Newcomer")
FIRST_LINK = "The setup guide helped me: https://docs.example.com/setup (see step 3)."


def _thread(space) -> Thread:
    return db.session.scalar(
        select(Thread)
        .where(Thread.space_id == space.id, Thread.embed_url.is_(None))
        .order_by(Thread.id)
        .limit(1)
    )


def seed(app, members: dict, spaces: dict, **_) -> None:
    moderator = members["Priya Natarajan"]
    customers = [m for m in members.values() if not m.is_staff]
    # Demo members have no visit history yet: their levels are set and locked so
    # the demo shows every gate (flagging needs level 1, auto-hide counts level 2+).
    for index, member in enumerate(customers):
        community.set_trust_level(member, [2, 3, 1, 2, 4][index % 5], locked=True)
    for member in members.values():
        if member.is_staff:
            community.set_trust_level(member, 4)
    spammer = community.register_member(SPAMMER[0], SPAMMER[1], "parley-demo-password")
    members[SPAMMER[1]] = spammer

    # Not flagged yet: the browser journey flags it and a moderator hides it live.
    community.reply(_thread(spaces["integrations"]), spammer, SPAM_REPLY)

    # In the queue: a rant flagged by two members, and a held spam post.
    rant = community.reply(_thread(spaces["lounge"]), customers[3], RANT)
    services.flag(customers[0], "post", rant.id, "abusive", "Rude to everyone.")
    services.flag(customers[1], "post", rant.id, "off_topic")
    services.add_spam_rule(moderator, "domain", "quick-cash.example")
    newcomer = community.register_member(*NEWCOMER, "parley-demo-password")
    members[NEWCOMER[1]] = newcomer
    screening = app.config.get("MODERATION_SCREENING", True)
    app.config["MODERATION_SCREENING"] = True  # the demo shows the approval queue even in tests
    with app.test_request_context():  # screening applies to members posting themselves
        login_user(spammer)
        community.reply(_thread(spaces["billing"]), spammer, HELD)
        rejected = community.reply(_thread(spaces["mobile"]), spammer, HELD_TOO)
        logout_user()
        login_user(newcomer)
        approved = community.reply(_thread(spaces["getting-started"]), newcomer, FIRST_LINK)
        logout_user()
    app.config["MODERATION_SCREENING"] = screening
    # Decisions for the spam report.
    services.act(moderator, "reject", "post", rejected.id, "Spam")
    services.act(moderator, "approve", "post", approved.id, "A helpful link")

    # An audit trail: a moderator at work.
    noisy = community.reply(_thread(spaces["mobile"]), customers[4], "First!!!")
    services.act(moderator, "hide", "post", noisy.id, "Adds nothing to the discussion.")
    services.act(moderator, "warn", "member", customers[4].id, "Please keep replies on topic.")
    locked = _thread(spaces["getting-started"])
    services.act(moderator, "lock", "thread", locked.id, "Answered; please start a new thread.")
    services.act(moderator, "unlock", "thread", locked.id, "Reopened for follow-ups.")
    until = (utcnow() + timedelta(days=7)).replace(microsecond=0)
    services.act(moderator, "suspend", "member", customers[5].id,
                 "Repeated personal attacks after a warning.", until=until)  # fmt: skip
    services.add_fraud_item(
        customers[2], "Suspicious voting (ring) benefiting this member: 3 accounts voted "
        "for each other's posts within minutes."
    )  # fmt: skip


def connect_subscribers() -> None:
    events.demo_data_seeded.connect(seed)
