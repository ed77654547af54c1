"""Analytics benchmark: every dashboard panel's JSON API on the issue's data set.

    .venv/bin/python bench/analytics_bench.py            # 10,000 members, 100,000 posts, ...
    .venv/bin/python bench/analytics_bench.py --smoke    # a few seconds; run by the test suite
    .venv/bin/python bench/analytics_bench.py --write    # and record the figures in bench/README.md

Seeds a throwaway instance with bulk inserts: 10,000 members (four segments, a third
with a customer value), six spaces (one private), 100,000 posts in 20,000 threads (most
questions, half of them solved), 5,000 ideas with 200,000 votes, status changes and
demand rows, 50,000 help-flow events (45,000 deflections, 5,000 support cases),
sentiment scores, alerts and CRM outbox rows, all spread over a year; then records two
engagement snapshots (`analytics snapshot`, timed) and times every panel through the
Flask test client, for a support agent (the private space filtered out) and an admin,
over the default 30 days. No timing is asserted: the figures belong to bench/README.md.
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import click
from sqlalchemy import insert, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # _common, also when a test loads this file by path

import _common as common  # noqa: E402

from advisory.models import Committee  # noqa: E402
from analytics import services as analytics  # noqa: E402
from analytics.panels import PANELS  # noqa: E402
from community import services  # noqa: E402
from community.app import create_app  # noqa: E402
from community.extensions import db  # noqa: E402
from community.models import (  # noqa: E402
    Deflection,
    Kudos,
    Member,
    Post,
    SupportCase,
    Thread,
    utcnow,
)
from crm_bridge.models import OutboxItem  # noqa: E402
from ideas.models import Demand, Idea, StatusChange, Vote  # noqa: E402
from moderation.listening.models import Alert, Sentiment  # noqa: E402

FULL = {"members": 10_000, "posts": 100_000, "ideas": 5_000, "votes": 200_000, "help": 50_000}
SMOKE = {"members": 300, "posts": 3_000, "ideas": 150, "votes": 3_000, "help": 1_500}
SEGMENTS = ["enterprise", "mid-market", "smb", "public-sector"]
PASSWORD = "bench password 1"  # noqa: S105 - a throwaway instance
BATCH = 20_000


def _bulk(model, rows: list[dict], bar=None) -> None:
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        db.session.execute(insert(model), chunk)
        if bar is not None:
            bar.update(len(chunk))


def seed(app, size: dict) -> dict:
    rng = random.Random(9)
    now = utcnow()

    def when(days=365):
        return now - timedelta(days=rng.uniform(0, days), seconds=rng.randrange(86_400))

    with app.test_request_context():
        admin = services.register_member("admin@bench.example", "Ada Admin", PASSWORD)
        services.grant_roles(admin, ["admin"])
        agent = services.register_member("agent@bench.example", "Sam Support", PASSWORD)
        services.grant_roles(agent, ["support_agent"])
        spaces = [
            services.create_space(
                admin, name=f"Space {i}", slug=f"space-{i}", description="",
                visibility="private" if i == 5 else "public",
            )
            for i in range(6)
        ]  # fmt: skip
        advisory_space = services.create_space(
            admin, name="Council", slug="council", description="", kind="advisory",
            visibility="private",
        )  # fmt: skip
        password_hash = admin.password_hash
        admin_id, agent_id = admin.id, agent.id
        space_ids = [s.id for s in spaces]
        council_area = db.session.scalar(
            select(Committee.area_id).where(Committee.space_id == advisory_space.id)
        )
    total = sum(size.values()) + size["members"]
    with click.progressbar(length=total, label="Seeding", file=sys.stderr) as bar:
        members = []
        for i in range(size["members"]):
            valued = rng.random() < 0.33
            members.append({
                "email": f"m{i}@bench.example", "email_key": f"m{i}@bench.example",
                "handle": f"bench-{i}", "display_name": f"Bench Member {i}",
                "password_hash": password_hash, "bio": "", "session_epoch": 0,
                "created_at": when(), "segment": rng.choice(SEGMENTS),
                "customer_value": Decimal(rng.randrange(1_000, 200_000)) if valued else None,
            })  # fmt: skip
        _bulk(Member, members, bar)
        ids = list(db.session.scalars(select(Member.id).order_by(Member.id)))
        segment_of = dict(db.session.execute(select(Member.id, Member.segment)).all())
        value_of = dict(db.session.execute(select(Member.id, Member.customer_value)).all())
        weights = [1 / (rank + 1) ** 0.7 for rank in range(len(ids))]
        authors = iter(rng.choices(ids, weights, k=size["posts"] * 2))

        # Threads with their posts: five posts per thread on average.
        n_threads = size["posts"] // 5
        threads, posts = [], []
        for t in range(n_threads):
            created = when()
            threads.append({
                "space_id": rng.choice(space_ids), "author_id": next(authors),
                "kind": "question" if rng.random() < 0.8 else "discussion",
                "title": f"Bench thread {t}", "created_at": created, "last_post_at": created,
                "last_number": 4, "reply_count": 4, "view_count": rng.randrange(500),
                "is_locked": False, "is_hidden": rng.random() < 0.01,
            })  # fmt: skip
        _bulk(Thread, threads)
        thread_rows = db.session.execute(
            select(Thread.id, Thread.author_id, Thread.created_at, Thread.kind).order_by(Thread.id)
        ).all()
        for thread_id, author_id, created, _kind in thread_rows:
            for number in range(5):
                posts.append({
                    "thread_id": thread_id, "number": number,
                    "author_id": author_id if number == 0 else next(authors),
                    "body": "Body.", "body_html": "<p>Body.</p>",
                    "created_at": created + timedelta(hours=number * rng.uniform(0.5, 30)),
                    "kudos_count": 0, "is_hidden": rng.random() < 0.01,
                })  # fmt: skip
        _bulk(Post, posts, bar)
        # Half of the questions get an accepted answer: their first reply.
        solved = [
            (tid, kind) for tid, _a, _c, kind in thread_rows if kind == "question"
        ][:: 2]  # fmt: skip
        first_replies = dict(
            db.session.execute(
                select(Post.thread_id, Post.id).where(
                    Post.number == 1, Post.thread_id.in_([t for t, _ in solved])
                )
            ).all()
        )
        db.session.execute(
            update(Thread),
            [{"id": t, "accepted_post_id": p} for t, p in first_replies.items()],
        )
        post_ids = list(db.session.scalars(select(Post.id)))
        kudos = {(rng.choice(post_ids), rng.choice(ids)) for _ in range(size["posts"] // 5)}
        _bulk(Kudos, [{"post_id": p, "member_id": m, "created_at": when()} for p, m in kudos])

        # Ideas, votes, status changes and the demand table the votes keep.
        area_ids = []
        with app.test_request_context():
            from ideas import services as ideas

            for i in range(4):
                area = ideas.create_area(
                    db.session.get(Member, admin_id), name=f"Area {i}", slug=f"area-{i}",
                    space=db.session.get(type(spaces[0]), space_ids[i]),
                )  # fmt: skip
                area_ids.append(area.id)
        area_ids.append(council_area)
        statuses = ["new", "under_review", "planned", "in_progress", "delivered", "declined"]
        ideas_rows = [
            {"area_id": rng.choice(area_ids), "author_id": rng.choice(ids),
             "title": f"Bench idea {i}", "body": "Idea.", "body_html": "<p>Idea.</p>",
             "status": rng.choice(statuses), "created_at": when()}
            for i in range(size["ideas"])
        ]  # fmt: skip
        _bulk(Idea, ideas_rows, bar)
        idea_rows = db.session.execute(
            select(Idea.id, Idea.status, Idea.created_at).order_by(Idea.id)
        ).all()
        changes = []
        for idea_id, status, created in idea_rows:
            path = statuses[: statuses.index(status) + 1] if status != "declined" else [
                "new", "declined"]  # fmt: skip
            at = created
            for before, after in itertools.pairwise(path):
                at = at + timedelta(days=rng.uniform(0.5, 20))
                changes.append({
                    "idea_id": idea_id, "from_status": before, "to_status": after,
                    "note": "Thanks." if rng.random() < 0.7 else "", "note_html": "",
                    "by_id": admin_id, "created_at": at,
                })  # fmt: skip
        _bulk(StatusChange, changes)
        idea_ids = [row[0] for row in idea_rows]
        pairs = set()
        while len(pairs) < min(size["votes"], len(idea_ids) * len(ids) // 2):
            pairs.add((rng.choice(idea_ids), rng.choice(ids)))
        votes, demand = [], {}
        for idea_id, member_id in pairs:
            segment, value = segment_of.get(member_id) or "", value_of.get(member_id)
            votes.append({
                "idea_id": idea_id, "member_id": member_id, "importance": None,
                "created_at": when(), "weight": 1.0, "value_at_vote": value,
                "segment_at_vote": segment or None,
            })  # fmt: skip
            row = demand.setdefault((idea_id, segment), [0, Decimal(0)])
            row[0] += 1
            row[1] += value or 0
        _bulk(Vote, votes, bar)
        _bulk(Demand, [{"idea_id": i, "segment": s, "votes": n, "value": v}
                       for (i, s), (n, v) in demand.items()])  # fmt: skip

        # The help flow: deflections on solved threads, support cases.
        solved_ids = list(first_replies)
        deflections, cases = [], []
        for n in range(size["help"]):
            at = when()
            member_id = rng.choice(ids) if rng.random() < 0.4 else None
            if n % 10:
                deflections.append({
                    "thread_id": rng.choice(solved_ids), "member_id": member_id,
                    "visitor_key": f"s:{n}", "query": "q", "day": at.date().isoformat(),
                    "created_at": at,
                })  # fmt: skip
            else:
                cases.append({
                    "reference": f"CASE-{n:08d}", "member_id": member_id, "visitor_key": f"s:{n}",
                    "email": "c@bench.example", "subject": "Help", "description": "Broken.",
                    "status": "open", "created_at": at,
                })  # fmt: skip
        _bulk(Deflection, deflections, bar)
        _bulk(SupportCase, cases)

        # Listening and the CRM outbox.
        thread_space = dict(db.session.execute(select(Thread.id, Thread.space_id)).all())
        sample = rng.sample(posts, min(len(posts), size["posts"] // 4))
        _bulk(Sentiment, [
            {"target_type": "post", "target_id": n, "member_id": p["author_id"],
             "space_id": thread_space[p["thread_id"]], "compound": rng.uniform(-1, 1),
             "created_at": p["created_at"]}
            for n, p in enumerate(sample, 1)
        ])  # fmt: skip
        alerts = []
        for n in range(size["posts"] // 50):
            at = when()
            handled = at + timedelta(hours=rng.uniform(0.1, 48)) if rng.random() < 0.7 else None
            alerts.append({
                "key": f"bench:{n}", "kind": rng.choice(["at_risk", "lead", "churn"]),
                "target_type": "post", "space_id": rng.choice(space_ids),
                "member_id": rng.choice(ids), "created_at": at, "handled_at": handled,
            })  # fmt: skip
        _bulk(Alert, alerts)
        _bulk(OutboxItem, [
            {"event_id": f"e{n}", "connector": "builtin",
             "kind": rng.choice(["activity", "contact", "case", "lead"]),
             "contact_key": f"m:{m}", "member_id": m, "created_at": at, "status": "delivered",
             "delivered_at": at}
            for n, (m, at) in enumerate(
                (m, when()) for m in rng.choices(ids, k=size["posts"] // 5)
            )
        ])  # fmt: skip
        db.session.commit()
    return {"admin": admin_id, "agent": agent_id}


def snapshots() -> float:
    """The two snapshots a daily cron would have left: 31 days ago and today."""
    started = time.perf_counter()
    today = utcnow().date()
    analytics.take_snapshot(today - timedelta(days=31))
    analytics.take_snapshot(today)
    analytics.refresh_planner_statistics()  # what the snapshot command does after it
    return (time.perf_counter() - started) / 2


def measure(app, who: dict, rounds: int) -> list[dict]:
    client = app.test_client()
    results = []
    for role in ("agent", "admin"):
        token = client.post(
            "/api/v1/auth/token", json={"email": f"{role}@bench.example", "password": PASSWORD}
        ).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for name in PANELS:
            path = f"/api/v1/analytics/{name}"
            client.get(path, headers=headers)  # warm up
            timings = []
            for _ in range(rounds):
                start = time.perf_counter()
                response = client.get(path, headers=headers)
                timings.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, f"{path} answered {response.status_code}"
            timings.sort()
            results.append({
                "name": f"{name} ({'support agent' if role == 'agent' else 'admin'})",
                "p50_ms": round(statistics.median(timings), 1),
                "p95_ms": common.percentile(timings, 0.95),
            })  # fmt: skip
    return results


def run(size: dict, rounds: int) -> dict:
    with common.instance_folder():
        settings = {"RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False}
        app = create_app({**settings, "PASSWORD_HASH_MEMORY_KIB": 8192})
        with app.app_context():
            common.migrate()
            started = time.perf_counter()
            who = seed(app, size)
            seeded = time.perf_counter() - started
            snapshot = snapshots()
        # Outside the app context: each request gets its own (and its own signed-in user).
        results = measure(app, who, rounds)
        load = os.getloadavg()[0]
        with app.app_context():
            common.shut_down(app)
    return {"results": results, "seeded": seeded, "snapshot": snapshot, "size": size, "load": load}


def table(results: list[dict]) -> str:
    return common.markdown_table(
        results, [("panel API (viewer)", "name"), ("p50 ms", "p50_ms"), ("p95 ms", "p95_ms")]
    )


def describe(size: dict) -> str:
    return (
        f"{size['members']:,} members, {size['posts']:,} posts, {size['ideas']:,} ideas, "
        f"{size['votes']:,} votes, {size['help']:,} help-flow events"
    )


def main(argv=None) -> int:
    args = common.bench_parser(__doc__).parse_args(argv)
    result = run(SMOKE if args.smoke else FULL, rounds=3 if args.smoke else 40)
    print(f"analytics on {describe(result['size'])}: seeded in {result['seeded']:.0f} s, "
          f"one engagement snapshot in {result['snapshot']:.1f} s")  # fmt: skip
    print(table(result["results"]))
    slow = [r["name"] for r in result["results"] if r["p95_ms"] >= 200]
    print("Panels at or over 200 ms p95:", ", ".join(slow) if slow else "none")
    if args.write and not args.smoke:
        record(result)
    return 0


def record(result: dict) -> None:
    common.record_section(
        "analytics-bench",
        f"## Analytics: {describe(result['size'])}\n\n"
        f"`.venv/bin/python bench/analytics_bench.py --write` on {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}, SQLite (WAL), Flask test client (app level, one process, "
        f"40 requests per row after a warm-up), the default 30-day period, no segment. Data "
        f"spread over a year, one private space of six. Seeding took {result['seeded']:.0f} s; "
        f"one `flask analytics snapshot` took {result['snapshot']:.1f} s. Load average while "
        f"measuring: {result['load']:.1f} (the machine is shared; on a busy one every figure "
        f"is inflated alike).\n\n"
        f"{table(result['results'])}\n\nTarget (issue #9): every panel's API p95 under 200 ms.",
    )


if __name__ == "__main__":
    sys.exit(main())
