"""The ideas part of `flask demo-data`: areas, ideas with votes and statuses,
and customer values and segments so the review page has something to weigh."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import update

from community import events
from community import services as community
from community.extensions import db
from community.models import utcnow

from . import services
from .models import Idea, StatusChange, Vote, trending_weight

AREAS = [
    ("mobile-ideas", "Mobile apps", "mobile", "Ideas for the iOS and Android apps."),
    ("integration-ideas", "Integrations", "integrations", "Connectors, API and webhooks."),
    (
        "reporting-ideas",
        "Reporting & analytics",
        "getting-started",
        "Dashboards, exports, insights.",
    ),
]
# (area, title, body, tags, status, note)
IDEAS = [
    ("mobile-ideas", "Offline mode for the Android app",
     "Let us read and edit tasks without a connection and sync later, like on iOS.",
     ["offline", "android"], "in_progress", "Engineering started this sprint; beta in about six weeks."),
    ("mobile-ideas", "Dark mode", "A dark theme for night shifts, following the system setting.",
     ["ui"], "delivered", "Shipped in version 5.2 for iOS and Android. Thank you for voting!"),
    ("mobile-ideas", "Home screen widgets", "A widget with today's tasks on iOS and Android.",
     ["widgets"], "planned", "Planned for the next quarter."),
    ("mobile-ideas", "Apple Watch app", "Check off tasks from the watch.", ["watch"], "new", ""),
    ("integration-ideas", "Two-way Salesforce sync of custom fields",
     "Custom fields should flow both ways between our CRM and the workspace.",
     ["salesforce", "sync"], "under_review", "We are interviewing customers about which objects matter most."),
    ("integration-ideas", "Microsoft Teams notifications",
     "Post mentions and assignments to a Teams channel, like the Slack integration does.",
     ["teams"], "planned", "On the roadmap after the Slack rewrite."),
    ("integration-ideas", "Webhook retries visible in the UI",
     "Show failed webhook deliveries and let us replay them.", ["webhooks"], "new", ""),
    ("integration-ideas", "Zapier triggers for comments", "Trigger a Zap when someone comments.",
     ["zapier"], "declined", "We are focusing on native integrations; the webhook API covers this case."),
    ("reporting-ideas", "Scheduled PDF reports",
     "E-mail a dashboard as PDF every Monday to people without an account.",
     ["reports", "pdf"], "under_review", ""),
    ("reporting-ideas", "Export dashboards to CSV", "One click to get the numbers behind a chart.",
     ["export", "csv"], "new", ""),
    ("reporting-ideas", "Time-in-status report",
     "How long do tasks spend in each status? Helps us find bottlenecks.", ["reports"], "new", ""),
]  # fmt: skip
SEGMENTS = ["enterprise", "mid-market", "smb"]
COMMENTS = {
    "Offline mode for the Android app": [
        "Our field technicians lose signal in basements all the time. This would save us hours.",
        "Same here. Even read-only offline access would be a great first step.",
    ],
    "Microsoft Teams notifications": [
        "We are a Teams shop, so this is the one thing missing for us."
    ],
    "Export dashboards to CSV": ["Finance asks me for these numbers every month; please!"],
}


def seed(app, members: dict, spaces: dict, **_) -> None:
    rng = random.Random(11)
    admin, product = members["Morgan Reyes"], members["Lena Fischer"]
    customers = [m for m in members.values() if not m.is_staff and m.email.endswith(".example")]
    # Customer attributes, as the CRM bridge would bring them.
    for i, member in enumerate(customers):
        segment = SEGMENTS[i % 3]
        value = {"enterprise": 120_000, "mid-market": 30_000, "smb": 4_000}[segment]
        community.set_customer_attributes(member, value + 1_000 * i, segment, by=admin)
    areas = {}
    for slug, name, space, description in AREAS:
        areas[slug] = services.create_area(
            admin, name=name, slug=slug, description=description, space=spaces[space]
        )
    for index, (area, title, body, tags, status, note) in enumerate(IDEAS):
        author = customers[index % len(customers)]
        idea = services.submit_idea(author, areas[area], title, body, tags)
        voters = rng.sample(customers, rng.randint(2, len(customers) - 1))
        for voter in voters:
            if voter.id != author.id:
                services.vote(
                    idea, voter, rng.choice([None, "nice_to_have", "important", "critical"])
                )
        if status != "new":
            services.change_status(idea, status, note, by=product)
        for comment in COMMENTS.get(title, []):
            commenter = rng.choice([c for c in customers if c.id != author.id])
            community.reply(idea.thread, commenter, comment)
        _spread_votes(idea, rng, days=90 - index * 6)
    services.check_counts(fix=True)


def _spread_votes(idea: Idea, rng: random.Random, days: int) -> None:
    """Back-date the demo's votes so trending and the 30-day trend look real."""
    now = utcnow()
    for vote in db.session.scalars(db.select(Vote).where(Vote.idea_id == idea.id)):
        cast_at = now - timedelta(days=rng.uniform(0, max(days, 1)))
        db.session.execute(
            update(Vote)
            .where(Vote.id == vote.id)
            .values(created_at=cast_at, weight=trending_weight(cast_at))
        )
    created = now - timedelta(days=days)
    decided = now - timedelta(days=days / 3)
    db.session.execute(update(Idea).where(Idea.id == idea.id).values(created_at=created))
    if idea.status != "new":
        db.session.execute(update(Idea).where(Idea.id == idea.id).values(status_changed_at=decided))
        db.session.execute(
            update(StatusChange).where(StatusChange.idea_id == idea.id).values(created_at=decided)
        )
    db.session.commit()


def connect_subscribers() -> None:
    events.demo_data_seeded.connect(seed)
