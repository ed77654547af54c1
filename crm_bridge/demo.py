"""The CRM bridge part of `flask demo-data`: the built-in CRM's accounts and contacts
for the demo customers (linked by e-mail), a delivered outbox with a day of delivery
lag, one dead letter, and a case whose status and resolution came back."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select, update

from community import events
from community.extensions import db
from community.models import Thread, utcnow

from . import outbox, services
from .models import Account, Case, OutboxItem

OWNERS = ["Dana Whitfield", "Chris Alvarez"]
TIERS = {"enterprise": "Platinum", "mid-market": "Gold", "smb": "Silver"}
PROSPECTS = [
    ("priya@massive.example", "Priya Nair", "Massive Dynamic"),
    ("leo@vandelay.example", "Leo Brandt", "Vandelay Industries"),
]


def seed(app, members: dict, spaces: dict, **_) -> None:
    rng = random.Random(23)
    admin = members["Morgan Reyes"]
    customers = [m for m in members.values() if not m.is_staff and m.email.endswith(".example")]
    today = utcnow().date()
    for i, member in enumerate(customers):
        company = member.email.split("@")[1].split(".")[0].replace("-", " ").title()
        services.save_contact(
            {
                "email": member.email, "name": member.display_name, "account": f"{company} Inc.",
                "segment": member.segment, "tier": TIERS.get(member.segment or "", "Silver"),
                "owner": OWNERS[i % 2], "customer_value": member.customer_value,
                "renewal_on": (today + timedelta(days=30 + 41 * i)).isoformat(),
                "custom_fields": {"advisory_candidate": i % 4 == 0, "plan": "Business"},
            },
            by=admin,
        )  # fmt: skip
    for email, name, company in PROSPECTS:
        services.save_contact(
            {"email": email, "name": name, "account": company, "segment": "enterprise",
             "tier": "Prospect", "owner": OWNERS[0], "customer_value": "0"},
            by=admin,
        )  # fmt: skip
    for account in db.session.scalars(select(Account)):
        account.owner = account.owner or OWNERS[account.id % 2]
    db.session.commit()
    # Support escalates one of Jordan's threads: the case goes to the CRM with the rest.
    agent = members["Sam Okafor"]
    jordan = members["Jordan Blake"]
    thread = db.session.scalar(
        select(Thread)
        .where(Thread.author_id == jordan.id, Thread.kind == "question")
        .where(Thread.embed_url.is_(None), Thread.accepted_post_id.is_(None))
        .order_by(Thread.created_at.desc())
    )
    escalated = None
    if thread is not None:
        escalated = services.escalate_thread(
            thread, by=agent, description="Jordan's team is blocked; their renewal is next month."
        )
    # A row the CRM refuses: the dead-letter list has something to show.
    outbox.enqueue("survey_response", {"score": "ten"}, member=customers[0])
    db.session.commit()
    deliverer = outbox.Deliverer("demo")
    while deliverer.deliver_due(limit=500).handled:
        pass
    deliverer.close()
    _spread_lag(rng)
    # Support solved the escalated case in the built-in CRM; the status and resolution
    # come back to the thread, ready to be published as its answer.
    if escalated is not None:
        case = db.session.scalar(
            select(Case).where(Case.reference == escalated.reference, Case.connector == "builtin")
        )
        if case is not None:
            services.update_case(
                case, by=admin, status="solved",
                resolution="Support reproduced it and shipped a fix in 5.3: deactivated seats "
                "are credited on the next invoice, and a credit note was issued for the past one.",
            )  # fmt: skip


def _spread_lag(rng: random.Random) -> None:
    """Demo deliveries all happened just now; spread them over two days with the
    lag a real worker shows, so the chart has a shape."""
    now = utcnow()
    ids = list(db.session.scalars(select(OutboxItem.id).where(OutboxItem.status == "delivered")))
    for item_id in ids:
        delivered = now - timedelta(hours=rng.uniform(0, 47))
        lag = rng.lognormvariate(0.5, 0.8)
        db.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(delivered_at=delivered, created_at=delivered - timedelta(seconds=lag))
        )
    db.session.commit()


def connect_subscribers() -> None:
    events.demo_data_seeded.connect(seed)
