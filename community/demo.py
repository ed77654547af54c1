"""A believable demo community: the product's shop window.

Everything is created through the services (so events fire and rules hold),
then back-dated so the site looks lived in. Other domains add their part by
subscribing to ``events.demo_data_seeded``.
"""

from __future__ import annotations

import random
from datetime import timedelta

import click
from sqlalchemy import update

from . import events, help, search, services
from .extensions import db
from .models import Post, Thread, utcnow

ADMIN_EMAIL = "admin@example.com"
DEMO_PASSWORD = "parley-demo-password"  # noqa: S105 - published demo credentials

STAFF = [
    ("admin@example.com", "Morgan Reyes", ["admin"]),
    ("moderator@example.com", "Priya Natarajan", ["moderator"]),
    ("support@example.com", "Sam Okafor", ["support_agent"]),
    ("product@example.com", "Lena Fischer", ["product_manager"]),
    ("sales@example.com", "Diego Alvarez", ["sales"]),
]
CUSTOMERS = [
    ("jordan@acme.example", "Jordan Blake"),
    ("mei@northwind.example", "Mei Tanaka"),
    ("oliver@globex.example", "Oliver Grant"),
    ("fatima@initech.example", "Fatima Haddad"),
    ("lucas@umbrella.example", "Lucas Moreau"),
    ("hannah@stark.example", "Hannah Kowalski"),
    ("raj@wayne.example", "Raj Patel"),
    ("sofia@tyrell.example", "Sofia Lindqvist"),
    ("kwame@cyberdyne.example", "Kwame Mensah"),
    ("elena@soylent.example", "Elena Rossi"),
    ("tom@hooli.example", "Tom Becker"),
    ("aisha@piedpiper.example", "Aisha Rahman"),
]
SPACES = [
    ("getting-started", "Getting started", "Setting up your workspace, inviting your team, first steps."),
    ("billing", "Billing & plans", "Invoices, payment methods, upgrades and seats."),
    ("integrations", "Integrations & API", "Connecting Slack, Salesforce, webhooks and the REST API."),
    ("mobile", "Mobile apps", "The iOS and Android apps: sync, notifications, offline mode."),
    ("lounge", "Community lounge", "Introduce yourself, share tips, talk shop."),
]  # fmt: skip

# (space, kind, title, body, tags, replies[(body, accepted)])
THREADS = [
    ("getting-started", "question", "How do I invite my whole team at once?",
     "We have about 40 people. Is there a bulk invite, or do I add everyone by hand?",
     ["invites", "admin"],
     [("Go to **Settings → Members → Invite** and paste a list of addresses, one per line. "
       "You can also upload a CSV with a role column.", True),
      ("If you use Google Workspace or Azure AD, turn on domain capture instead: anyone with "
       "your domain joins automatically.", False)]),
    ("getting-started", "question", "Workspace shows 'pending verification' for two days",
     "I created a workspace on Monday and it still says pending verification. "
     "Nothing in spam either. What am I missing?",
     ["verification"],
     [("Check that the DNS TXT record was added to the root domain, not a subdomain. "
       "Verification runs every hour.", True)]),
    ("getting-started", "discussion", "Share your onboarding checklist",
     "We're rolling out to three new departments next quarter. What does your onboarding "
     "checklist look like? Ours: SSO, default projects, a 30-minute kickoff, office hours.",
     ["onboarding", "tips"],
     [("We add a *champions* channel: one person per team who gets early answers.", False),
      ("Templates! Pre-built project templates cut our setup questions in half.", False)]),
    ("billing", "question", "Can I switch from monthly to annual billing mid-cycle?",
     "We're on the monthly Team plan and want to move to annual. Do we lose the rest "
     "of this month?", ["billing", "plans"],
     [("No. The remaining days are credited pro rata against the first annual invoice.", True)]),
    ("billing", "question", "Invoice needs our VAT number",
     "Our finance team needs the VAT number on every invoice. Where do I add it so past "
     "invoices get reissued too?", ["invoices", "vat"],
     [("Billing → Company details → Tax ID. Past invoices can be regenerated from the "
       "invoice list with *Reissue*.", True),
      ("Thanks, that worked for us too.", False)]),
    ("billing", "question", "Seats are counted for deactivated users?",
     "We deactivated 6 users but the invoice still counts them. Bug?", ["seats"], []),
    ("integrations", "question", "Salesforce sync stops after about 2,000 records",
     "The Salesforce connector stops syncing after roughly 2,000 contacts with no error "
     "in the log. Anyone seen this?", ["salesforce", "sync"],
     [("That's the API daily limit on Professional edition. Check *Setup → Company "
       "Information → API Requests*. Batching at 200 per request helps a lot.", True),
      ("We hit the same thing. Upgrading the API add-on fixed it.", False)]),
    ("integrations", "question", "Webhook signature doesn't match",
     "I compute HMAC-SHA256 over the body with our secret but never get the same "
     "signature. Python snippet:\n\n```python\nhmac.new(secret, body, 'sha256').hexdigest()\n```",
     ["webhooks", "api"],
     [("The signature covers `timestamp + '.' + body`, not the body alone. Use the raw "
       "bytes of the request, before any JSON parsing.", True)]),
    ("integrations", "question", "Is there a rate limit on the REST API?",
     "We're planning a nightly export. How many requests per minute can we make?",
     ["api", "limits"], []),
    ("integrations", "discussion", "Slack integration: what do you post to channels?",
     "Curious how others route notifications. We post new escalations only.", ["slack"],
     [("Daily digest of unanswered questions goes to our support channel.", False)]),
    ("mobile", "question", "Android app doesn't send push notifications",
     "Notifications work on iOS but not on Android 14. Battery optimisation is off.",
     ["android", "notifications"],
     [("Android 14 needs the notification permission granted explicitly: "
       "*Settings → Apps → Parley → Notifications*.", True)]),
    ("mobile", "question", "Offline mode: how long are changes kept?",
     "If I edit tasks on a flight, how long until unsynced changes are lost?", ["offline"],
     [("They're kept until you're back online, however long that takes. Conflicts show "
       "a merge dialog.", False)]),
    ("mobile", "question", "iPad split view support?",
     "Does the iPad app support split view? Would love to use it next to email.", ["ios"], []),
    ("lounge", "discussion", "Introduce yourself!",
     "New here? Tell us who you are and what you use the product for. I'll start: "
     "community team, based in Lisbon.", ["introductions"],
     [("Hi all, Mei from Northwind. We run customer success for 300 accounts.", False),
      ("Oliver here, ops at Globex. Mostly here for the integrations space.", False),
      ("Hannah from Stark, long-time lurker, first post!", False)]),
    ("lounge", "discussion", "Keyboard shortcuts you can't live without",
     "`g` then `i` for inbox changed my life. What are yours?", ["tips", "shortcuts"],
     [("`/` to search from anywhere.", False), ("`c` to create, obviously.", False)]),
]  # fmt: skip


def _backdate(thread: Thread, days_ago: float, rng: random.Random) -> None:
    start = utcnow() - timedelta(days=days_ago)
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(created_at=start))
    posts = db.session.scalars(
        db.select(Post).where(Post.thread_id == thread.id).order_by(Post.number)
    )
    moment = start
    posts_seen = []
    for post in posts:
        posts_seen.append(post.id)
        if post.number:
            moment = moment + timedelta(hours=rng.uniform(0.5, 30))
        db.session.execute(update(Post).where(Post.id == post.id).values(created_at=moment))
    db.session.execute(
        update(Thread)
        .where(Thread.id == thread.id)
        .values(last_post_at=moment, view_count=rng.randint(12, 40) * (1 + len(posts_seen)))
    )
    db.session.commit()


# What customers typed in /help before a solution helped them (by thread title start).
HELP_QUERIES = {
    "How do I invite": [
        "invite 40 people at once",
        "bulk invite team",
        "add everyone to workspace",
    ],
    "Workspace shows": ["workspace pending verification", "verification stuck two days"],
    "Can I switch": ["change monthly to annual", "annual billing mid cycle"],
    "Invoice needs": ["vat number on invoice", "add tax id to invoices", "reissue old invoice"],
    "Salesforce sync": ["salesforce stops syncing", "salesforce 2000 records limit"],
    "Webhook signature": ["webhook signature mismatch", "hmac signature wrong"],
    "Android app": ["android no push notifications", "notifications android 14"],
}
CASES = [
    ("jordan@acme.example", "Seats still billed after deactivating users",
     "We deactivated 6 users on the 3rd and the new invoice still counts 46 seats.",
     "deactivated users still on invoice"),
    (None, "Cannot verify our domain",
     "The TXT record is on the root domain since Monday and verification still fails.",
     "domain verification fails"),
]  # fmt: skip


def _help_flow(solved: list[Thread], customers, rng: random.Random) -> tuple[int, int]:
    """A month of the help flow: customers (and visitors) confirming solutions,
    and a couple of support cases, through the help services."""
    counted = 0
    now = utcnow()
    for days_ago in range(30, -1, -1):
        for _ in range(rng.randint(1, 6)):
            thread = rng.choice(solved)
            queries = next(
                (q for start, q in HELP_QUERIES.items() if thread.title.startswith(start)),
                [thread.title.lower()],
            )
            member = rng.choice(customers) if rng.random() < 0.4 else None
            result = help.confirm_solution(
                thread.id,
                rng.choice(queries),
                by=member,
                visitor_key=f"s:demo-visitor-{rng.randint(1, 60)}",
                user_agent="Mozilla/5.0 (demo data)",
                scripted=True,
                at=now - timedelta(days=days_ago, hours=rng.uniform(0, 8)),
            )
            counted += result.counted
    for n, (email, subject, description, query) in enumerate(CASES):
        member = services.find_member_by_email(email) if email else None
        help.open_case(
            subject,
            description,
            None if member else "casey@visitor.example",
            by=member,
            visitor_key=f"s:demo-case-{n}",
            query=query,
            at=now - timedelta(days=3 + 9 * n, hours=2),
        )
    return counted, len(CASES)


def seed(app, echo=click.echo) -> dict:
    rng = random.Random(7)
    members = {}
    for email, name, roles in STAFF:
        member = services.register_member(email, name, DEMO_PASSWORD)
        services.grant_roles(member, roles)
        members[name] = member
    for email, name in CUSTOMERS:
        members[name] = services.register_member(email, name, DEMO_PASSWORD)
    admin = members["Morgan Reyes"]
    spaces = {}
    for position, (slug, name, description) in enumerate(SPACES, start=1):
        spaces[slug] = services.create_space(
            admin, name=name, slug=slug, description=description, position=position
        )
    customers = [members[name] for _email, name in CUSTOMERS]
    helpers = [*customers, members["Sam Okafor"]]
    solved = []
    with click.progressbar(THREADS, label="Demo threads", file=None) as bar:
        for index, (slug, kind, title, body, tags, replies) in enumerate(bar):
            asker = customers[index % len(customers)]
            thread = services.create_thread(spaces[slug], asker, kind, title, body, tags)
            for reply_body, accepted in replies:
                author = rng.choice([h for h in helpers if h.id != asker.id])
                post = services.reply(thread, author, reply_body)
                for giver in rng.sample(customers, rng.randint(0, 4)):
                    if giver.id != author.id:
                        services.give_kudos(post, giver)
                if accepted:
                    services.accept_answer(post, asker)
                    solved.append(thread)
            _backdate(thread, days_ago=60 - index * 3.5, rng=rng)
    for member in customers[:4]:
        services.follow_space(spaces["integrations"], member)
    deflected, cases = _help_flow(solved, customers, rng)
    events.demo_data_seeded.send(app, members=members, spaces=spaces)
    search.reindex()  # back-dating moved the dates the index sorts by
    echo(
        f"Demo community ready: {len(members)} members, {len(spaces)} spaces, {len(THREADS)} threads, "
        f"{deflected} deflected cases, {cases} support cases."
    )
    echo(f"Sign in as {ADMIN_EMAIL} (admin) or jordan@acme.example (customer), "
         f"password: {DEMO_PASSWORD}")  # fmt: skip
    return {"members": members, "spaces": spaces}
