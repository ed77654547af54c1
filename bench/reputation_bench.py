"""Reputation benchmark: recompute every total from a big ledger, and the leaderboards.

    .venv/bin/python bench/reputation_bench.py            # 1,000,000 rows, 100,000 members
    .venv/bin/python bench/reputation_bench.py --smoke    # a few seconds; run by the test suite

Seeds a throwaway instance with bulk inserts (a year of awards and reversals in
six spaces, one private), then times `services.recompute()` from an empty
totals table (every total rebuilt) and again with nothing to fix, times the
leaderboards through the Flask test client, and counts the SQL statements an
award adds to the transaction that caused it and the statements per board page
(they must not grow with the data). Figures are printed and, with --write,
recorded in bench/README.md. No timing is asserted anywhere.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy import event, insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # _common, also when a test loads this file by path

import _common as common  # noqa: E402

from community import events, services  # noqa: E402
from community.extensions import db  # noqa: E402
from community.models import Kudos, Member, Post, utcnow  # noqa: E402
from reputation import services as reputation  # noqa: E402

# Measured a second time with the board cache off: the cost of summing the ledger.
UNCACHED = [
    ("leaderboard API, one space, all time, uncached", "/api/v1/leaderboard?space=space-1"),
    ("leaderboard API, one space, this month, uncached",
     "/api/v1/leaderboard?space=space-2&period=month"),
]  # fmt: skip
PAGES = [
    ("leaderboard API, all time", "/api/v1/leaderboard?period=all"),
    ("leaderboard API, this month", "/api/v1/leaderboard?period=month"),
    ("leaderboard API, this week", "/api/v1/leaderboard?period=week"),
    ("leaderboard API, one space, all time", "/api/v1/leaderboard?space=space-1"),
    ("leaderboard API, one space, this month", "/api/v1/leaderboard?space=space-2&period=month"),
    ("leaderboard page, all time", "/leaderboard"),
    ("leaderboard page, this week", "/leaderboard?period=week"),
    ("member reputation API", "/api/v1/members/{member}/reputation"),
]
RULES = [("kudos_received", 5), ("idea_vote_received", 2), ("answer_accepted", 15),
         ("first_reply", 2), ("accepted_an_answer", 2), ("idea_delivered", 50)]  # fmt: skip
WEIGHTS = [50, 25, 10, 8, 6, 1]
INSERT_ENTRY = (
    "INSERT INTO reputation_entry (member_id, rule, points, cause, object_type, object_id, "
    "space_id, actor_id, created_at, reverses_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def seed(app, members: int, rows: int) -> dict:
    rng = random.Random(6)
    now = utcnow()
    with app.test_request_context():
        admin = services.register_member("admin@bench.example", "Ada Admin", "bench password 1")
        services.grant_roles(admin, ["admin"])
        spaces = [
            services.create_space(
                admin, name=f"Space {i}", slug=f"space-{i}", description="",
                visibility="private" if i == 5 else "public",
            )
            for i in range(6)
        ]  # fmt: skip
        password_hash = admin.password_hash
    member_rows = [
        {"email": f"m{i}@bench.example", "email_key": f"m{i}@bench.example",
         "handle": f"bench-{i}", "display_name": f"Bench Member {i}",
         "password_hash": password_hash, "bio": "", "session_epoch": 0, "created_at": now}
        for i in range(members)
    ]  # fmt: skip
    for start in range(0, members, 20_000):
        db.session.execute(insert(Member), member_rows[start : start + 20_000])
    member_ids = list(db.session.scalars(db.select(Member.id).order_by(Member.id)))
    # A long tail: a few members earn most points.
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(member_ids))]
    earners = iter(rng.choices(member_ids, weights, k=rows))
    rules = iter(rng.choices(RULES, WEIGHTS, k=rows))
    space_ids = [s.id for s in spaces]
    connection = db.session.connection()
    sql = INSERT_ENTRY
    next_id, batch, live = 1, [], []
    with click.progressbar(length=rows, label="Seeding the ledger", file=sys.stderr) as bar:
        while next_id <= rows:
            if live and rng.random() < 0.04:  # a reversal of an earlier award
                original = live.pop(rng.randrange(len(live)))
                member_id, rule, points, object_id, space_id, actor_id, at = original[1:]
                later = at + timedelta(hours=1)
                batch.append((member_id, rule, -points, "kudos_withdrawn", "post", object_id,
                              space_id, actor_id, later, original[0]))  # fmt: skip
            else:
                member_id = next(earners)
                rule, points = next(rules)
                at = now - timedelta(days=rng.uniform(0, 365))
                space_id = rng.choice(space_ids)
                actor_id = rng.choice(member_ids)
                object_id = rng.randrange(1, 500_000)
                batch.append((member_id, rule, points, "kudos_given", "post", object_id,
                              space_id, actor_id, at, None))  # fmt: skip
                if len(live) < 50_000:
                    live.append((next_id, member_id, rule, points, object_id, space_id,
                                 actor_id, at))  # fmt: skip
            next_id += 1
            if len(batch) == 50_000:
                connection.exec_driver_sql(sql, [_stamp(row) for row in batch])
                bar.update(len(batch))
                batch = []
        if batch:
            connection.exec_driver_sql(sql, [_stamp(row) for row in batch])
            bar.update(len(batch))
    db.session.commit()
    return {"member": member_ids[0], "admin": admin.id}


def _stamp(row: tuple) -> tuple:
    return (*row[:8], row[8].isoformat(sep=" "), row[9])


def award_statements(app) -> int:
    """Statements reputation adds to a kudos's transaction (other domains' recording
    receivers, such as the CRM outbox, are counted in their own benches)."""
    with app.test_request_context():
        giver = services.register_member("giver@bench.example", "Gil Giver", "bench password 1")
        author = services.register_member("author@bench.example", "Ann Author", "bench password 1")
        space = services.get_space("space-0", author)
        thread = services.create_thread(space, author, "discussion", "Bench thread", "Body.")
        post = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id))
        kudos = Kudos(post_id=post.id, member_id=giver.id)
        db.session.add(kudos)
        db.session.flush()
        assert post.thread is not None
        seen = []

        def count(_conn, _cursor, statement, *_args, **_kwargs):
            if "reputation_" in statement:
                seen.append(1)

        event.listen(db.engine, "before_cursor_execute", count)
        events.recording(events.kudos_given).send(kudos, post=post, by=giver)
        event.remove(db.engine, "before_cursor_execute", count)
        db.session.rollback()
        return len(seen)


def measure(app, who: dict, rounds: int) -> list[dict]:
    with common.counting_statements(db.engine) as statements:
        client = app.test_client()
        results = []
        pages = [(name, path, 60) for name, path in PAGES]
        pages += [(name, path, 0) for name, path in UNCACHED]
        for name, path, cache_seconds in pages:
            app.config["REPUTATION_BOARD_CACHE_SECONDS"] = cache_seconds
            path = path.format(member=who["member"])
            timed = common.time_page(client, path, rounds, statements)
            results.append({"name": name, "path": path, **timed})
    return results


def run(members: int, rows: int, rounds: int) -> dict:
    with common.migrated_app(common.APP_SETTINGS) as (app, _folder):
        started = time.perf_counter()
        who = seed(app, members, rows)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        drifts = reputation.recompute()
        rebuilt = time.perf_counter() - started
        started = time.perf_counter()
        again = reputation.recompute()
        checked = time.perf_counter() - started
        assert not again, "recompute left drift behind"
        results = measure(app, who, rounds)
        statements = award_statements(app)
    return {
        "results": results, "seeded": seeded, "rebuilt": rebuilt, "fixed": len(drifts),
        "checked": checked, "award_statements": statements, "members": members, "rows": rows,
    }  # fmt: skip


def table(results: list[dict]) -> str:
    columns = [("request", "name"), ("p50 ms", "p50_ms"), ("p95 ms", "p95_ms"),
               ("SQL statements", "queries")]  # fmt: skip
    return common.markdown_table(results, columns)


def summary(run_: dict) -> str:
    return (
        f"recompute from {run_['rows']:,} ledger rows for {run_['members']:,} members: "
        f"{run_['rebuilt']:.1f} s rebuilding every total ({run_['fixed']:,} fixed), "
        f"{run_['checked']:.1f} s checking with nothing to fix; an award adds "
        f"{run_['award_statements']} SQL statements to the transaction that caused it."
    )


def main(argv=None) -> int:
    args = common.bench_parser(__doc__).parse_args(argv)
    if args.smoke:
        small = run(members=300, rows=3_000, rounds=3)
        large = run(members=1_500, rows=20_000, rounds=3)
    else:
        small = run(members=1_000, rows=10_000, rounds=10)
        large = run(members=100_000, rows=1_000_000, rounds=100)
    print(summary(large))
    print(table(large["results"]))
    grew = common.grown_statements(small["results"], large["results"])
    if grew or large["award_statements"] > 2:
        print("SQL statements grew with the data:", "; ".join(grew) or "award")
        return 1
    print("SQL statements per request do not grow with the ledger.")
    if args.write and not args.smoke:
        record(large)
    return 0


def record(run_: dict) -> None:
    common.record_section(
        "reputation-bench",
        f"## Reputation: 1,000,000 ledger rows, 100,000 members\n\n"
        f"`.venv/bin/python bench/reputation_bench.py --write` on {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}, SQLite (WAL), Flask test client (app level, one "
        f"process, 100 requests per row after a warm-up). A year of awards (4 % of them "
        f"reversed) in six spaces, points on a long tail. Seeding took {run_['seeded']:.0f} s.\n\n"
        f"**Recompute** (`flask --app wsgi reputation recompute`): {summary(run_)}\n\n"
        f"{table(run_['results'])}\n\nOverall boards (all time, this week, this month) "
        f"read the totals every award keeps per member; space boards sum ledger rows and "
        f"are kept for 60 s per process (`REPUTATION_BOARD_CACHE_SECONDS`): the *uncached* "
        f"rows show what computing one costs.\n\nTargets: recompute under 30 s, leaderboard "
        f"p95 under 50 ms, at most two statements per award; SQL statements per request "
        f"constant (checked against a 10,000-row ledger in the same run).",
    )


if __name__ == "__main__":
    sys.exit(main())
