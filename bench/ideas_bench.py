"""Ideas benchmark: top and trending lists and the review page on a big board.

    .venv/bin/python bench/ideas_bench.py            # 5,000 ideas, 200,000 votes
    .venv/bin/python bench/ideas_bench.py --smoke    # a few seconds; run by the test suite

Seeds a throwaway instance with bulk inserts, then times requests through the
Flask test client (the app level: routing, access policy, SQL, templates) and
counts SQL statements per request, so a list page whose query count grows with
the data shows up at once. Figures are printed and, with --write, recorded in
bench/README.md. No timing is asserted anywhere: machines are shared and noisy.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # _common, also when a test loads this file by path

import _common as common  # noqa: E402

from community import services  # noqa: E402
from community.extensions import db  # noqa: E402
from community.models import Member, Thread, utcnow  # noqa: E402
from ideas.models import Idea, Vote, trending_weight  # noqa: E402

PAGES = [
    ("ideas top", "/ideas/?sort=top", "customer"),
    ("ideas trending", "/ideas/?sort=trending", "customer"),
    ("ideas newest, page 3", "/ideas/?sort=new&page=3", "customer"),
    ("ideas API top", "/api/v1/ideas?sort=top", "customer"),
    ("review by value", "/ideas/review?sort=value", "product"),
    ("review by trend, segment", "/ideas/review?sort=trend&segment=enterprise", "product"),
    ("review API", "/api/v1/ideas/review?sort=value", "product"),
    ("one idea", "/ideas/{idea}", "customer"),
]
SEGMENTS = ["enterprise", "mid-market", "smb"]


def seed(app, ideas: int, votes: int, members: int) -> dict:
    rng = random.Random(5)
    now = utcnow()
    with app.test_request_context():
        product = services.register_member("pm@bench.example", "Pat Product", "bench password 1")
        services.grant_roles(product, ["product_manager", "admin"])
        customer = services.register_member("c@bench.example", "Cara Customer", "bench password 1")
        space = services.create_space(product, name="Ideas", slug="ideas", description="")
        from ideas import services as idea_services

        areas = [
            idea_services.create_area(product, name=f"Area {i}", slug=f"area-{i}", space=space)
            for i in range(5)
        ]
        password_hash = product.password_hash
        member_rows = [
            {
                "email": f"m{i}@bench.example", "email_key": f"m{i}@bench.example",
                "handle": f"bench-{i}", "display_name": f"Bench Member {i}",
                "password_hash": password_hash, "bio": "", "session_epoch": 0,
                "created_at": now, "customer_value": rng.choice([4000, 30000, 120000]),
                "segment": rng.choice(SEGMENTS),
            }
            for i in range(members)
        ]  # fmt: skip
        db.session.execute(insert(Member), member_rows)
        member_ids = list(db.session.scalars(db.select(Member.id).order_by(Member.id)))
        thread_rows, idea_rows = [], []
        with click.progressbar(range(ideas), label="Seeding ideas", file=sys.stderr) as bar:
            for i in bar:
                created = now - timedelta(days=rng.uniform(0, 365))
                thread_rows.append(
                    {"space_id": space.id, "author_id": rng.choice(member_ids),
                     "kind": "discussion", "title": f"Idea {i}", "created_at": created,
                     "last_post_at": created, "last_number": 0, "reply_count": 0,
                     "view_count": 0, "is_locked": False, "is_hidden": False,
                     "embed_url": f"/ideas/{i + 1}"}
                )  # fmt: skip
        db.session.execute(insert(Thread), thread_rows)
        thread_ids = list(
            db.session.scalars(db.select(Thread.id).where(Thread.embed_url.is_not(None)))
        )
        for i, row in enumerate(thread_rows):
            idea_rows.append(
                {"area_id": areas[i % 5].id, "author_id": row["author_id"],
                 "title": f"Idea {i}: {rng.choice(['export', 'mobile', 'sync', 'report'])} "
                          f"{rng.choice(['faster', 'offline', 'in bulk', 'for teams'])}",
                 "body": "Bench idea.", "body_html": "<p>Bench idea.</p>",
                 "status": rng.choice(["new", "new", "under_review", "planned", "delivered"]),
                 "vote_count": 0, "trending_score": 0.0, "created_at": row["created_at"],
                 "thread_id": thread_ids[i]}
            )  # fmt: skip
        db.session.execute(insert(Idea), idea_rows)
        idea_ids = list(db.session.scalars(db.select(Idea.id)))
        seen = set()
        batch = []
        with click.progressbar(length=votes, label="Seeding votes", file=sys.stderr) as bar:
            while len(seen) < votes:
                # A few popular ideas, a long tail: like a real board.
                idea_id = idea_ids[min(int(rng.paretovariate(1.2)) - 1, len(idea_ids) - 1)]
                if rng.random() < 0.7:
                    idea_id = rng.choice(idea_ids)
                member_id = rng.choice(member_ids)
                if (idea_id, member_id) in seen:
                    continue
                seen.add((idea_id, member_id))
                cast_at = now - timedelta(days=rng.uniform(0, 120))
                batch.append(
                    {"idea_id": idea_id, "member_id": member_id, "created_at": cast_at,
                     "weight": trending_weight(cast_at),
                     "importance": rng.choice([None, "nice_to_have", "important", "critical"])}
                )  # fmt: skip
                if len(batch) == 20_000:
                    db.session.execute(insert(Vote), batch)
                    bar.update(len(batch))
                    batch = []
            if batch:
                db.session.execute(insert(Vote), batch)
                bar.update(len(batch))
        db.session.commit()
        idea_services.check_counts(fix=True)
        top = db.session.scalar(db.select(Idea.id).order_by(Idea.vote_count.desc()).limit(1))
        return {"product": product.email, "customer": customer.email, "idea": top}


def measure(app, who: dict, rounds: int) -> list[dict]:
    with common.counting_statements(db.engine) as statements:
        clients = {}
        for role in ("customer", "product"):
            client = app.test_client()
            response = client.post(
                "/login", data={"email": who[role], "password": "bench password 1"}
            )
            assert response.status_code == 302, f"{role} could not sign in"
            clients[role] = client
        results = []
        for name, path, role in PAGES:
            path = path.format(idea=who["idea"])
            timed = common.time_page(clients[role], path, rounds, statements)
            results.append({"name": name, "path": path, **timed})
    return results


def run(ideas: int, votes: int, members: int, rounds: int) -> tuple[list[dict], float]:
    with common.migrated_app(common.APP_SETTINGS) as (app, _folder):
        started = time.perf_counter()
        who = seed(app, ideas, votes, members)
        seeded = time.perf_counter() - started
        results = measure(app, who, rounds)
    return results, seeded


def table(results: list[dict]) -> str:
    columns = [("page", "name"), ("p50 ms", "p50_ms"), ("p95 ms", "p95_ms"),
               ("SQL statements", "queries")]  # fmt: skip
    return common.markdown_table(results, columns)


def main(argv=None) -> int:
    args = common.bench_parser(__doc__).parse_args(argv)
    if args.smoke:
        small, _ = run(ideas=100, votes=500, members=40, rounds=3)
        large, _ = run(ideas=300, votes=6_000, members=150, rounds=3)
    else:
        small, _ = run(ideas=100, votes=1_000, members=200, rounds=10)
        large, seeded = run(ideas=5_000, votes=200_000, members=10_000, rounds=60)
    print(table(large))
    grew = common.grown_statements(small, large)
    if grew:
        print("SQL statements per page grew with the data:", "; ".join(grew))
        return 1
    print("SQL statements per page do not grow with the number of ideas or votes.")
    if args.write and not args.smoke:
        record(large, seeded)
    return 0


def record(results: list[dict], seeded: float) -> None:
    common.record_section(
        "ideas-bench",
        f"## Ideas: 5,000 ideas, 200,000 votes, 10,000 members\n\n"
        f"`.venv/bin/python bench/ideas_bench.py --write` on {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}, SQLite (WAL), Flask test client (app level, one "
        f"process, 60 requests per page after a warm-up). Seeding took {seeded:.0f} s.\n\n"
        f"{table(results)}\n\nTarget: p95 under 60 ms for the top and trending lists and "
        f"the review page; SQL statements per page constant (checked against a 50-idea "
        f"board in the same run).",
    )


if __name__ == "__main__":
    sys.exit(main())
