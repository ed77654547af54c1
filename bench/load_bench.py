"""Load benchmark: a big community served by gunicorn, driven by wrk, beside the ceiling.

    .venv/bin/python bench/load_bench.py            # `make bench`: 10,000 members,
                                                    # 100,000 posts, 5,000 ideas, 200,000 votes
    .venv/bin/python bench/load_bench.py --smoke    # `make bench-smoke`: tiny, a few seconds

1. Seeds a throw-away instance with bulk INSERTs (SQLAlchemy Core, not the
   services: no events), then builds the search index with `search.reindex()`,
   what `flask search reindex` runs.
2. Serves it with gunicorn on 127.0.0.1 (gthread workers, as in production, see
   README "Production"), with PARLEY_BENCH_QUERY_HEADER=1 so every response says
   how many SQL statements it ran.
3. Signs in for real (the login form, a session cookie) as a member and as a
   product manager, and measures each page of PAGES signed out and signed in with
   wrk, a separate process, for --duration seconds at --connections connections.
   Writes (a reply, a vote) are POSTs with the session's CSRF token, sent by a
   wrk Lua script that spreads them over many threads and ideas.
4. Right after each page, serves the response it captured from bench/ceiling.py
   (bare Flask, same gunicorn settings, the same bytes) and measures that too: the
   ceiling, taken under the same machine load as the page.
5. Writes bench/results/latest.json and latest.md (--out elsewhere), and fails
   when SQL statements per page differ between a 20-reply thread and a
   1,000-reply thread (first or last page): they must not grow with the data.

Timings are reported, never asserted (machines are shared and noisy); the targets
are shown next to them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import click
import requests
from sqlalchemy import insert, inspect, select, text, update

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import _common as common  # noqa: E402
from search_bench import DOMAIN, Corpus  # noqa: E402

from community import search, services  # noqa: E402
from community.app import create_app  # noqa: E402
from community.extensions import db  # noqa: E402
from community.models import Member, Post, Tag, Thread, thread_tag, utcnow  # noqa: E402
from ideas.models import Idea, Vote, trending_weight  # noqa: E402

PASSWORD = "bench password 1"  # noqa: S105 - a throw-away instance
SECRET = "load-bench-secret-not-for-production"  # noqa: S105
SEGMENTS = ["enterprise", "mid-market", "smb"]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")

# Who asks: None is a visitor, "member" a signed-in customer, "pm" a product manager.
SIGNED_OUT, MEMBER, PM = None, "member", "pm"


@dataclass
class Page:
    name: str
    path: str  # formatted with the seeded ids (see seed())
    who: tuple = (SIGNED_OUT, MEMBER)
    method: str = "GET"
    optional: bool = False  # skipped with a note when the URL answers 404


# One line per page; the leaderboard is measured as soon as its route exists.
PAGES = [
    Page("home", "/"),
    Page("space thread list", "/s/{space}"),
    Page("thread, 20 replies", "/t/{thread_20}"),
    Page("thread, 1,000+ replies, first page", "/t/{thread_big}"),
    Page("thread, 1,000+ replies, last page", "/t/{thread_big}?page={thread_big_last}"),
    Page("ideas, top", "/ideas/?sort=top"),
    Page("ideas, trending", "/ideas/?sort=trending"),
    Page("idea review", "/ideas/review?sort=value", who=(PM,)),
    Page("search", "/search?q={query}"),
    Page("member profile", "/members/{profile}"),
    Page("leaderboard", "/leaderboard", optional=True),
    Page("JSON API: threads", "/api/v1/threads?per_page=20"),
    Page("post a reply", "/t/{{thread}}/reply", who=(MEMBER,), method="POST"),
    Page("vote", "/ideas/{{idea}}/vote", who=(MEMBER,), method="POST"),
]
# Pages whose SQL statement count must be equal (it must not grow with thread length).
SAME_QUERIES = [
    "thread, 20 replies",
    "thread, 1,000+ replies, first page",
    "thread, 1,000+ replies, last page",
]

FULL = {"members": 10_000, "threads": 10_000, "posts": 100_000, "big_threads": 5,
        "big_replies": 1_200, "ideas": 5_000, "votes": 200_000, "ledger": 1_000_000}  # fmt: skip
SMOKE = {"members": 60, "threads": 40, "posts": 600, "big_threads": 1, "big_replies": 130,
         "ideas": 30, "votes": 300, "ledger": 2_000}  # fmt: skip


# ---- seeding --------------------------------------------------------------------------


def reply_counts(rng: random.Random, size: dict) -> list[int]:
    """Replies per thread: a few with 1,000+, most 5-40, summing to the posts asked."""
    big = [size["big_replies"] + rng.randint(0, 200) for _ in range(size["big_threads"])]
    rest = size["threads"] - len(big)
    budget = size["posts"] - size["threads"] - sum(big)
    # Geometric-ish: many short threads, some up to 40; then scaled to the budget.
    raw = [min(40, 5 + int(rng.expovariate(1 / 6))) for _ in range(rest)]
    scale = budget / max(1, sum(raw))
    counts = [max(5, min(40, round(n * scale))) for n in raw]
    counts[0] = 20  # the bench's 20-reply thread
    return big + counts


def seed(app, size: dict) -> dict:
    rng = random.Random(10)
    corpus = Corpus(random.Random(7))
    now = utcnow()
    label = "Seeding"
    ledger = size["ledger"] if inspect(db.engine).has_table("reputation_entry") else 0
    steps = size["members"] + size["posts"] + 2 * size["ideas"] + size["votes"] + ledger
    with (
        app.test_request_context(),
        click.progressbar(length=steps, label=label, file=sys.stderr) as bar,
    ):
        admin = services.register_member("admin@bench.example", "Ada Admin", PASSWORD)
        services.grant_roles(admin, ["admin"])
        pm = services.register_member("pm@bench.example", "Pat Product", PASSWORD)
        services.grant_roles(pm, ["product_manager"])
        member = services.register_member("c@bench.example", "Cara Customer", PASSWORD)
        spaces = [
            services.create_space(admin, name=f"Space {n}", slug=f"space-{n}", description="")
            for n in range(8)
        ]
        ideas_space = services.create_space(admin, name="Ideas", slug="ideas", description="")
        from ideas import services as idea_services

        areas = [
            idea_services.create_area(admin, name=f"Area {i}", slug=f"area-{i}", space=ideas_space)
            for i in range(5)
        ]
        db.session.commit()
        db.session.execute(
            insert(Member),
            [
                {"email": f"m{i}@bench.example", "email_key": f"m{i}@bench.example",
                 "handle": f"bench-{i}", "display_name": f"{rng.choice(DOMAIN).title()} Member {i}",
                 "password_hash": admin.password_hash, "bio": corpus.text(corpus.topics[i % 50], 8),
                 "session_epoch": 0, "created_at": now - timedelta(days=rng.uniform(0, 900)),
                 "customer_value": rng.choice([4000, 30000, 120000]),
                 "segment": rng.choice(SEGMENTS)}
                for i in range(size["members"])
            ],
        )  # fmt: skip
        member_ids = list(db.session.scalars(select(Member.id)))
        db.session.execute(insert(Tag), [{"name": name} for name in DOMAIN[:60]])
        tag_ids = list(db.session.scalars(select(Tag.id)))
        bar.update(size["members"])

        counts = reply_counts(rng, size)
        thread_rows, topics = [], []
        for replies in counts:
            topic = rng.choice(corpus.topics)
            topics.append(topic)
            created = now - timedelta(days=rng.uniform(1, 700))
            thread_rows.append(
                {"space_id": rng.choice(spaces).id, "author_id": rng.choice(member_ids),
                 "kind": "question" if rng.random() < 0.8 else "discussion",
                 "title": corpus.title(topic), "created_at": created,
                 "last_post_at": created + timedelta(minutes=replies),
                 "last_poster_id": rng.choice(member_ids), "last_number": replies,
                 "reply_count": replies, "view_count": rng.randint(0, 500),
                 "is_locked": False, "is_hidden": False}
            )  # fmt: skip
        db.session.execute(insert(Thread), thread_rows)
        thread_ids = list(db.session.scalars(select(Thread.id).order_by(Thread.id)))
        db.session.execute(
            insert(thread_tag),
            [{"thread_id": t, "tag_id": tag} for t in thread_ids
             for tag in rng.sample(tag_ids, rng.randint(0, 3))],
        )  # fmt: skip

        batch, written = [], 0
        for thread_id, row, replies, topic in zip(
            thread_ids, thread_rows, counts, topics, strict=True
        ):
            for number in range(replies + 1):
                body = corpus.text(topic, rng.randint(15, 60))
                batch.append(
                    {"thread_id": thread_id, "author_id": rng.choice(member_ids),
                     "number": number, "body": body, "body_html": f"<p>{body}</p>",
                     "created_at": row["created_at"] + timedelta(minutes=number),
                     "kudos_count": 0, "is_hidden": False}
                )  # fmt: skip
            if len(batch) >= 20_000:
                db.session.execute(insert(Post), batch)
                written += len(batch)
                bar.update(len(batch))
                batch = []
        if batch:
            db.session.execute(insert(Post), batch)
            bar.update(len(batch))
        first_replies = db.session.execute(
            select(Post.thread_id, Post.id).where(Post.number == 1)
        ).all()
        db.session.execute(
            update(Thread),
            [{"id": t, "accepted_post_id": p} for t, p in first_replies if rng.random() < 0.4],
        )
        # The measured threads both have an accepted answer: the same page, but longer.
        measured = {thread_ids[0], thread_ids[len([c for c in counts if c >= size["big_replies"]])]}
        db.session.execute(
            update(Thread),
            [{"id": t, "accepted_post_id": p} for t, p in first_replies if t in measured],
        )
        db.session.commit()

        idea_ids = seed_ideas(rng, size, areas, ideas_space, member_ids, now)
        bar.update(2 * size["ideas"])
        seed_votes(rng, size, idea_ids, member_ids, now, bar)
        db.session.commit()
        idea_services.check_counts(fix=True)
        ledger_note = seed_ledger(rng, size, member_ids, now, bar)
        # Planner statistics, as a live site has them (`PRAGMA optimize` on SQLite,
        # autovacuum on PostgreSQL): without them SQLite sorts every thread to list 30.
        db.session.execute(text("ANALYZE"))
        db.session.commit()

        short = thread_ids[len([c for c in counts if c >= size["big_replies"]])]
        big = thread_ids[0]
        per_page = app.config["POSTS_PER_PAGE"]
        return {
            "space": spaces[0].slug,
            "thread_20": short,
            "thread_big": big,
            "thread_big_last": -(-counts[0] // per_page),
            "query": "export+invoices",
            "profile": member_ids[len(member_ids) // 2],
            "threads": thread_ids[len(counts) // 2 :],
            "ideas": idea_ids,
            "emails": {MEMBER: member.email, PM: pm.email},
            "ledger_note": ledger_note,
        }


def seed_ideas(rng, size, areas, space, member_ids, now) -> list[int]:
    thread_rows = []
    for i in range(size["ideas"]):
        created = now - timedelta(days=rng.uniform(0, 365))
        thread_rows.append(
            {"space_id": space.id, "author_id": rng.choice(member_ids), "kind": "discussion",
             "title": f"Idea {i}", "created_at": created, "last_post_at": created,
             "last_number": 0, "reply_count": 0, "view_count": 0, "is_locked": False,
             "is_hidden": False, "embed_url": f"/ideas/{i + 1}"}
        )  # fmt: skip
    db.session.execute(insert(Thread), thread_rows)
    thread_ids = list(
        db.session.scalars(
            select(Thread.id).where(Thread.embed_url.is_not(None)).order_by(Thread.id)
        )
    )
    words = ["export", "mobile", "sync", "report", "calendar", "billing", "sso", "api"]
    how = ["faster", "offline", "in bulk", "for teams", "with filters", "on a schedule"]
    db.session.execute(
        insert(Idea),
        [
            {"area_id": areas[i % len(areas)].id, "author_id": row["author_id"],
             "title": f"{rng.choice(words).title()} {rng.choice(how)} ({i})",
             "body": "A bench idea.", "body_html": "<p>A bench idea.</p>",
             "status": rng.choice(["new", "new", "under_review", "planned", "delivered"]),
             "vote_count": 0, "trending_score": 0.0, "created_at": row["created_at"],
             "thread_id": thread_id}
            for i, (row, thread_id) in enumerate(zip(thread_rows, thread_ids, strict=True))
        ],
    )  # fmt: skip
    # The seeded idea ids line up with the threads' embed_url (/ideas/<n>) on a fresh database.
    return list(db.session.scalars(select(Idea.id).order_by(Idea.id)))


def seed_votes(rng, size, idea_ids, member_ids, now, bar) -> None:
    seen: set[tuple[int, int]] = set()
    batch = []
    while len(seen) < size["votes"]:
        # A few popular ideas, a long tail: like a real board.
        if rng.random() < 0.3:
            idea_id = idea_ids[min(int(rng.paretovariate(1.2)) - 1, len(idea_ids) - 1)]
        else:
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


def seed_ledger(rng, size, member_ids, now, bar) -> str:
    """1,000,000 reputation ledger rows when the reputation domain's table exists.

    Written from the table's own columns (this bench predates the table): member
    references get a member, numbers small points, texts a reason, times a moment."""
    if not inspect(db.engine).has_table("reputation_entry"):
        note = "no reputation_entry table yet: ledger rows skipped"
        click.echo(f"\nNote: {note}.", err=True)
        return note
    table = db.metadata.tables.get("reputation_entry")
    if table is None:
        return "reputation_entry exists but is not in the models: ledger rows skipped"
    reasons = ["reply", "accepted_answer", "kudos", "idea_voted", "badge"]

    def value(column, n):
        kind = column.type.python_type if hasattr(column.type, "python_type") else str
        for fk in column.foreign_keys:
            if fk.column.table.name == "community_member":
                return rng.choice(member_ids)
            return None  # other references stay empty when they may
        if kind is int:
            return rng.choice([1, 2, 5, 10, 15]) if "point" in column.name else n
        if kind is str:
            return f"{rng.choice(reasons)}:{n}" if column.unique else rng.choice(reasons)
        if kind is bool:
            return False
        if kind.__name__ in ("datetime",):
            return now - timedelta(minutes=n % 500_000)
        if kind.__name__ == "date":
            return (now - timedelta(days=n % 700)).date()
        if kind.__name__ in ("float", "Decimal"):
            return 1
        return None

    columns = [c for c in table.columns if not (c.primary_key and c.autoincrement)]
    written = 0
    while written < size["ledger"]:
        rows = [
            {c.name: value(c, written + i) for c in columns}
            for i in range(min(20_000, size["ledger"] - written))
        ]
        db.session.execute(insert(table), rows)
        written += len(rows)
        bar.update(len(rows))
    db.session.commit()
    return f"{written:,} reputation ledger rows"


# ---- servers --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn on 127.0.0.1 with the production worker class (gthread)."""

    def __init__(self, target: str, env: dict, workers: int, threads: int, log: Path, cwd: Path):
        self.port = free_port()
        self.log = log
        command = [
            GUNICORN, "--worker-class", "gthread", "--workers", str(workers),
            "--threads", str(threads), "--bind", f"127.0.0.1:{self.port}",
            "--graceful-timeout", "10", "--log-level", "warning", target,
        ]  # fmt: skip
        self.output = log.open("w")
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=self.output, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        self.url = f"http://127.0.0.1:{self.port}"

    def worker_peak_mb(self) -> list[float]:
        """Peak resident memory (VmHWM) of each worker process."""
        peaks = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            if re.search(rf"^PPid:\s+{self.process.pid}$", text, re.M):
                found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
                if found:
                    peaks.append(round(int(found[1]) / 1024, 1))
        return sorted(peaks)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()


def app_environment(instance: Path, database: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.pop("REDIS_URL", None)
    env |= {
        "PARLEY_INSTANCE": str(instance),
        "DATABASE_URL": database,
        "SECRET_KEY": SECRET,
        "PARLEY_BENCH_QUERY_HEADER": "1",
        # Writes at full speed: the posting limit would turn most of them into 429s.
        "PARLEY_RATELIMIT_ENABLED": "false",
        # Scheduled upkeep (a trust recompute over 10,000 members...) belongs to
        # `flask worker` processes in production, not to the measured servers.
        "PARLEY_BACKGROUND_IN_PROCESS": "false",
    }
    return env


# ---- the load -------------------------------------------------------------------------

REPORT_LUA = """
done = function(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.4f, "p50_us": %d, "p99_us": %d, '
    .. '"errors": %d, "status": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, summary.errors.status))
end
"""

POST_LUA = """
local paths = {%(paths)s}
local bodies = {%(bodies)s}
local counter = 0
local n = 0
setup = function(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
request = function()
  n = n + 1
  local k = ((offset or 0) + n * %(threads)d) %% #paths + 1
  return wrk.format("POST", paths[k], nil, bodies[k])
end
"""


def wrk_threads(connections: int) -> int:
    return min(2, connections)


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal here


def run_wrk(url: str, *, seconds: float, connections: int, headers: dict, script: str,
            folder: Path, name: str) -> dict:  # fmt: skip
    threads = wrk_threads(connections)
    lua = folder / f"{name}.lua"
    lua.write_text(script + REPORT_LUA)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
               "--latency", "-s", str(lua)]  # fmt: skip
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    result = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed on {url}:\n{result.stdout}\n{result.stderr}")
    figures = json.loads(line[len("BENCH ") :])
    return {
        "rps": round(figures["requests"] / figures["seconds"], 1),
        "p50_ms": round(figures["p50_us"] / 1000, 2),
        "p99_ms": round(figures["p99_us"] / 1000, 2),
        "requests": figures["requests"],
        "errors": figures["errors"] + figures["status"],
    }


def sign_in(base: str, email: str) -> requests.Session:
    browser = requests.Session()
    form = browser.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)[1]
    answer = browser.post(
        f"{base}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=60,
    )
    assert answer.status_code == 302, f"{email} could not sign in ({answer.status_code})"
    return browser


def csrf_of(browser: requests.Session, base: str) -> str:
    page = browser.get(f"{base}/", timeout=30).text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]


# The visitor is one browser, which keeps the viewer cookie the thread page sets: without
# it every request would be a new visitor and a view row to write (wrk keeps no cookies).
VISITOR_COOKIE = {"Cookie": "parley_viewer=benchvisitor0001"}


def cookie_header(browser: requests.Session | None) -> dict:
    if browser is None:
        return dict(VISITOR_COOKIE)
    return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in browser.cookies)}


def measure(base: str, ceiling: str, who: dict, args, folder: Path) -> tuple[list[dict], list]:
    """wrk on every page, then on its ceiling at once (the machine's load drifts; a
    page and its ceiling are measured under the same); returns rows and notes."""
    browsers = {SIGNED_OUT: None}
    for role, email in who["emails"].items():
        browsers[role] = sign_in(base, email)
    tokens = {role: csrf_of(b, base) for role, b in browsers.items() if b is not None}
    rows, notes = [], []
    for page in PAGES:
        path = page.path.format(**who)
        for role in page.who:
            if args.only and (page.name, role) not in args.only:
                continue
            browser = browsers[role]
            headers = cookie_header(browser)
            label = f"{page.name} ({'signed in' if role else 'signed out'})"
            if page.method == "POST":
                row, response = measure_post(base, page, path, who, role, tokens, headers, args,
                                             folder)  # fmt: skip
            else:
                first = requests.get(base + path, headers=headers, timeout=60,
                                     allow_redirects=False)  # fmt: skip
                if first.status_code == 404 and page.optional:
                    notes.append(f"{page.name}: {path} answers 404 here, skipped")
                    break
                if first.status_code != 200:
                    raise RuntimeError(f"{label}: {path} answered {first.status_code}")
                # Statements of a render (a visitor's page with a fresh cache key, so
                # the cache cannot answer it: what a miss costs).
                fresh = path + ("&" if "?" in path else "?") + f"bench={time.monotonic_ns()}"
                rendered = requests.get(base + fresh, headers=headers, timeout=60)
                queries = int(rendered.headers.get("X-Parley-Queries", -1))
                # Each worker keeps its own copy (without Redis): enough requests, each
                # on a new connection, that every worker has rendered the page once.
                for _ in range(4 * args.workers):
                    response = requests.get(base + path, headers=headers, timeout=60)
                row = run_wrk(base + path, seconds=args.duration, connections=args.connections,
                              headers=headers, script="", folder=folder,
                              name=f"p{len(rows)}")  # fmt: skip
                row |= {"queries": queries, "cache": response.headers.get("X-Parley-Cache", "-")}
            row["ceiling_rps"] = measure_ceiling(ceiling, len(rows), response, page, args, folder)
            row["ratio"] = round(row["rps"] / row["ceiling_rps"], 3) if row["ceiling_rps"] else 0
            rows.append({"name": page.name, "signed_in": role is not None, "path": path,
                         "method": page.method, **row})  # fmt: skip
            click.echo(
                f"  {label:<50} {row['rps']:>8.1f} req/s  p50 {row['p50_ms']:>7.2f} ms  "
                f"p99 {row['p99_ms']:>7.2f} ms  {row['queries']:>3} queries  "
                f"{row['ratio']:>5.0%} of {row['ceiling_rps']:.0f} req/s",
                err=True,
            )
    return rows, notes


def measure_post(base, page, path, who, role, tokens, headers, args, folder):
    token = tokens[role]
    rng = random.Random(3)
    if "{thread}" in path:
        targets = (
            [path.format(thread=t) for t in rng.sample(who["threads"], 200)]
            if len(who["threads"]) > 200
            else [path.format(thread=t) for t in who["threads"]]
        )
        bodies = [f"csrf_token={token}&body=Thanks%2C+that+worked+for+me+too+({n})."
                  for n in range(len(targets))]  # fmt: skip
    else:
        ideas = who["ideas"][: min(len(who["ideas"]), 5000)]
        targets = [path.format(idea=i) for i in ideas]
        bodies = [f"csrf_token={token}&importance=important"] * len(targets)
    # One request first, by hand: its response is what the ceiling replays.
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    first = requests.post(
        base + targets[-1], data=bodies[-1], allow_redirects=False, timeout=60, headers=form
    )
    if first.status_code not in (302, 303):
        raise RuntimeError(f"{page.name}: {targets[-1]} answered {first.status_code}")
    queries = int(first.headers.get("X-Parley-Queries", -1))
    script = POST_LUA % {
        "paths": ", ".join(lua_string(t) for t in targets[:-1]),
        "bodies": ", ".join(lua_string(b) for b in bodies[:-1]),
        "threads": wrk_threads(args.connections),
    }
    row = run_wrk(base + targets[0], seconds=args.duration, connections=args.connections,
                  headers=form, script=script, folder=folder,
                  name=f"post-{page.name.split()[0]}")  # fmt: skip
    return row | {"queries": queries, "cache": "-"}, first


def measure_ceiling(ceiling: str, n: int, response, page: Page, args, folder: Path) -> float:
    """Requests per second of bench/ceiling.py answering with this very response."""
    pages = folder / "ceiling"
    (pages / f"{n}.body").write_bytes(response.content)
    (pages / f"{n}.json").write_text(
        json.dumps(
            {
                "status": response.status_code,
                "content_type": response.headers.get("Content-Type", "text/html"),
                "location": response.headers.get("Location"),
            }
        )
    )
    script = 'wrk.method = "POST"\n' if page.method == "POST" else ""
    # The best of two runs: the ceiling is what the framework does at its best, and a
    # single run on a shared machine can land in a busy second and flatter the ratio.
    return max(
        run_wrk(f"{ceiling}/{n}", seconds=args.duration, connections=args.connections,
                headers={}, script=script, folder=folder, name=f"c{n}-{attempt}")["rps"]
        for attempt in (1, 2)
    )  # fmt: skip


# ---- the report ---------------------------------------------------------------------------


def machine(args, figures: dict) -> dict:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    import gunicorn

    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "engine": figures["engine"],
        "sqlite": sqlite3.sqlite_version,
        "gunicorn": f"{gunicorn.__version__}, gthread, {args.workers} workers x "
        f"{args.threads} threads",
        "wrk": (wrk_version.stdout or wrk_version.stderr).split("\n")[0].strip(),
        "connections": args.connections,
        "seconds_per_page": args.duration,
        "load_average_before": figures["load_before"],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "data": figures["data"],
        "seeding_seconds": figures["seeded"],
        "reindex_seconds": figures["reindexed"],
        "worker_peak_rss_mb": figures["memory"],
    }


def check_queries(rows: list[dict]) -> list[str]:
    problems = []
    for signed_in in (False, True):
        counts = {r["name"]: r["queries"] for r in rows
                  if r["signed_in"] is signed_in and r["name"] in SAME_QUERIES}  # fmt: skip
        if len(set(counts.values())) > 1:
            who = "signed in" if signed_in else "signed out"
            problems.append(f"thread pages ({who}) differ in SQL statements: {counts}")
    return problems


def report_md(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# Load bench: latest figures",
        "",
        f"Taken {m['date']} on {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, "
        f"{m['engine']}, {m['gunicorn']}; wrk at {m['connections']} connections for "
        f"{m['seconds_per_page']} s per page. **Load average {m['load_average_before']} "
        f"before, {m['load_average_after']} after**: the machine is shared, so these "
        f"figures are a floor, not a ceiling.",
        "",
        f"Data: {m['data']}. Seeding {m['seeding_seconds']} s, search reindex "
        f"{m['reindex_seconds']} s. Peak memory per worker: {m['worker_peak_rss_mb']} MB.",
        "",
        "| page | signed in | req/s | p50 ms | p99 ms | SQL | cache | ceiling req/s | ratio |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in result["pages"]:
        lines.append(
            f"| {r['name']} | {'yes' if r['signed_in'] else 'no'} | {r['rps']} | {r['p50_ms']} "
            f"| {r['p99_ms']} | {r['queries']} | {r.get('cache', '-')} | {r['ceiling_rps']} "
            f"| {r['ratio']:.0%} |"
        )
    lines += ["", "Targets: signed-out read pages ≥ 35 % of the ceiling, signed-in ≥ 10 %, "
              "p99 < 100 ms at 8 connections; SQL statements equal for the 20-reply and the "
              "1,000-reply thread (first and last page). SQL is what a render costs (for a "
              "visitor: a cache miss; a cache hit runs none).", ""]  # fmt: skip
    for verdict in result["verdicts"]:
        lines.append(f"- {verdict}")
    for note in result["notes"]:
        lines.append(f"- Note: {note}")
    return "\n".join(lines) + "\n"


def verdicts(rows: list[dict]) -> list[str]:
    out = []
    reads = [r for r in rows if r["name"] not in ("post a reply", "vote")]
    for signed_in, target in ((False, 0.35), (True, 0.10)):
        group = [r for r in reads if r["signed_in"] is signed_in]
        if not group:
            continue
        low = [f"{r['name']} {r['ratio']:.0%}" for r in group if r["ratio"] < target]
        who = "signed in" if signed_in else "signed out"
        out.append(
            f"{who}, ≥ {target:.0%} of the ceiling: "
            + ("met by every page" if not low else "missed by " + ", ".join(low))
        )
    slow = [f"{r['name']} ({'in' if r['signed_in'] else 'out'}) {r['p99_ms']} ms"
            for r in reads if r["p99_ms"] >= 100]  # fmt: skip
    out.append("p99 < 100 ms: " + ("met by every read page" if not slow else "missed by "
                                    + ", ".join(slow)))  # fmt: skip
    return out


# ---- main ------------------------------------------------------------------------------


def run(args) -> int:
    size = SMOKE if args.smoke else FULL
    if shutil.which("wrk") is None:
        click.echo("wrk is missing: `make bench` installs Debian's wrk", err=True)
        return 2
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        folder = Path(tmp)
        instance = folder / "instance"
        database = args.database or f"sqlite:///{folder / 'bench.sqlite3'}"
        engine_name = "PostgreSQL" if database.startswith("postgres") else "SQLite (WAL)"
        os.environ["PARLEY_INSTANCE"] = str(instance)
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": database if not database.startswith("postgresql://")
             else "postgresql+psycopg://" + database[len("postgresql://"):],
             "RATELIMIT_ENABLED": False, "PASSWORD_HASH_MEMORY_KIB": 8192,
             "BACKGROUND_IN_PROCESS": False,
             "SECRET_KEY": SECRET, "SEARCH_SYNC_UPDATES": False}
        )  # fmt: skip
        with app.app_context():
            common.migrate()
            started = time.perf_counter()
            who = seed(app, size)
            seeded = round(time.perf_counter() - started, 1)
            click.echo(f"Seeded in {seeded} s.", err=True)
            started = time.perf_counter()
            with click.progressbar(
                length=search.total_documents(), label="Indexing", file=sys.stderr
            ) as bar:
                search.reindex(progress=bar.update, procs=search.default_procs())
            reindexed = round(time.perf_counter() - started, 1)
            common.shut_down(app)
        env = app_environment(instance, database)
        (folder / "ceiling").mkdir()
        ceiling = Gunicorn("ceiling:app", env | {"BENCH_CEILING_DIR": str(folder / "ceiling")},
                           args.workers, args.threads, folder / "ceiling.log", BENCH)  # fmt: skip
        server = Gunicorn("wsgi:app", env, args.workers, args.threads, folder / "app.log", ROOT)
        try:
            click.echo(f"Serving on {server.url}; wrk, {args.duration} s per page:", err=True)
            rows, notes = measure(server.url, ceiling.url, who, args, folder)
            memory = server.worker_peak_mb()
        finally:
            server.stop()
            ceiling.stop()
    data = (
        f"{size['members']:,} members, {size['posts']:,} posts in {size['threads']:,} threads "
        f"({size['big_threads']} with {size['big_replies']:,}+ replies), {size['ideas']:,} "
        f"ideas, {size['votes']:,} votes, {who['ledger_note']}"
    )
    figures = {"engine": engine_name, "load_before": load_before, "data": data,
               "seeded": seeded, "reindexed": reindexed, "memory": memory}  # fmt: skip
    notes.append(who["ledger_note"])
    pages = [
        {key: r[key] for key in ("name", "signed_in", "rps", "p50_ms", "p99_ms", "queries",
                                 "ceiling_rps", "ratio")} | {"path": r["path"], "cache": r["cache"],
                                                             "errors": r["errors"]}
        for r in rows
    ]  # fmt: skip
    problems = check_queries(pages)
    result = {"machine": machine(args, figures), "pages": pages,
              "verdicts": [*verdicts(pages), *(problems or [
                  "SQL statements per thread page do not grow with the thread's length"])],
              "notes": notes}  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "latest.md").write_text(report_md(result))
    click.echo(report_md(result))
    for problem in problems:
        click.echo(f"FAILED: {problem}", err=True)
    return 1 if problems else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, two pages, seconds")
    parser.add_argument("--duration", type=float, default=None, help="seconds of wrk per page")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--out", default=None, help="folder for latest.json and latest.md")
    parser.add_argument("--page", action="append", metavar="NAME",
                        help="measure only this page, signed out and in (repeatable)")  # fmt: skip
    args = parser.parse_args(argv)
    known = {page.name for page in PAGES}
    if args.page and not set(args.page) <= known:
        parser.error(f"no page named {sorted(set(args.page) - known)}; pages: {sorted(known)}")
    if args.smoke:
        args.duration = args.duration or 1
        args.workers = args.workers or 1
        # Two pages under wrk; the thread pages' SQL compared, short and long.
        args.only = [("home", SIGNED_OUT), ("thread, 20 replies", MEMBER),
                     ("thread, 1,000+ replies, last page", MEMBER)]  # fmt: skip
        args.out = args.out or tempfile.mkdtemp(prefix="parley-bench-smoke-")
    else:
        args.only = [
            (p.name, who) for p in PAGES if p.name in (args.page or ()) for who in p.who
        ] or None
        args.duration = args.duration or 3
        args.workers = args.workers or 2
        # Some pages only: the full figures in bench/results stay as they are.
        default_out = tempfile.mkdtemp(prefix="parley-bench-") if args.page else BENCH / "results"
        args.out = args.out or str(default_out)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
