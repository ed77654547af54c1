"""Search benchmark: a full reindex, then search and similar-question suggestions
on a big community.

    .venv/bin/python bench/search_bench.py --write    # 100,000 posts in 10,000 threads
    .venv/bin/python bench/search_bench.py --smoke    # a few seconds; run by the test suite

Seeds a throwaway instance with bulk inserts (posts written as plain text in a
product-support vocabulary, some solved, tagged, hidden or private), rebuilds the
index with the facade (``search.reindex``, what `flask search reindex` runs),
then times requests through the Flask test client: the app level, with routing,
the access policy, the index, the database check of each page of hits and JSON
or HTML. Also times a change reaching the index (a new thread, through the
service and its event). Figures are printed and, with --write, recorded in
bench/README.md. No timing is asserted anywhere: machines are shared and noisy.
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import click
from sqlalchemy import insert, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # _common, also when a test loads this file by path

import _common as common  # noqa: E402

from community import search, services  # noqa: E402
from community.extensions import db  # noqa: E402
from community.models import (  # noqa: E402
    Member,
    Post,
    SpaceMembership,
    Tag,
    Thread,
    thread_tag,
    utcnow,
)

PASSWORD = "bench password 1"  # noqa: S105 - a throwaway instance


def _words(text: str) -> list[str]:
    return text.split()


DOMAIN = sorted(
    set(
        _words("""
        invoice invoices export import report dashboard workspace account password login sso
        saml webhook webhooks api token integration salesforce hubspot slack calendar sync
        notification notifications email mobile android iphone ipad app offline backup restore
        permission permissions role roles team teams member seat seats plan billing payment
        card receipt vat tax currency project projects task tasks template templates tag tags
        field fields filter search upload attachment file files folder csv excel pdf chart
        widget timezone language translation domain dns certificate browser chrome firefox
        safari extension plugin automation rule rules trigger schedule reminder comment
        comments mention archive audit log logs limit quota storage database timeout
        error errors crash bug latency performance update upgrade version release feature
        connect disconnect reset change delete remove add invite share move merge rename
        configure enable disable migrate verify cancel refund print embed automate signature
        retry retries redirect callback oauth scope scopes header headers payload json xml
        endpoint endpoints rate batch queue worker cron contact contacts lead leads deal deals
        pipeline stage stages owner owners forecast quote quotes discount coupon trial
        subscription renewal downgrade proration credit
        """)
    )
)
FUNCTION = _words("""
    the a my our it this that when after before with from into on in for to of and or
    but not every some all any only still again always never today since works working
    broken fails failed stuck slow missing wrong shows keeps stops tried
""")
TITLES = [
    "How do I {a} {b} with {c}?",
    "{a} {b} fails after the {c} update",
    "Can I {a} {b} for the whole team?",
    "{a} not showing in {b} {c}",
    "Best way to {a} {b} and {c}",
    "Why does {a} {b} keep failing?",
    "{a} and {b}: {c} in bulk",
]
SPECIAL_QUERIES = [
    '"bulk invite"', "hubspot OR salesforce", "error NOT timeout", "invoise", "notifcations",
    "syncronize calendar", "webhok signature", "pdf report (email OR slack)", "api", "export",
    "how do I export invoices to csv", "sync stops after update",
]  # fmt: skip
SPACES = 8


class Corpus:
    """Text like a support forum's: a Zipf-distributed vocabulary (the product's
    words among a few thousand others) and threads that each keep to a topic, so
    a query matches what it would in a real community: common words many
    threads, a topic's words a few dozen."""

    def __init__(self, rng: random.Random, words: int = 4000, topics: int = 250):
        syllables = ["ka", "lo", "mi", "ren", "to", "sa", "vel", "dor", "ni", "qua", "ber", "st"]
        filler: set[str] = set()
        while len(filler) < words - len(DOMAIN):
            filler.add("".join(rng.choices(syllables, k=rng.randint(2, 4))))
        vocabulary = sorted(filler) + DOMAIN
        rng.shuffle(vocabulary)
        self.vocabulary = vocabulary
        self.cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(words)))
        self.topics = [rng.sample(DOMAIN, 8) + rng.sample(vocabulary, 4) for _ in range(topics)]
        self.rng = rng

    def text(self, topic: list[str], words: int) -> str:
        rng = self.rng
        background = rng.choices(self.vocabulary, cum_weights=self.cumulative, k=words)
        out = []
        for n in range(words):
            roll = rng.random()
            if roll < 0.3:
                out.append(rng.choice(topic))
            elif roll < 0.6:
                out.append(rng.choice(FUNCTION))
            else:
                out.append(background[n])
        return " ".join(out).capitalize() + "."

    def title(self, topic: list[str]) -> str:
        a, b, c = self.rng.sample(topic[:8], 3)
        return self.rng.choice(TITLES).format(a=a, b=b, c=c).capitalize()[:200]

    def queries(self, count: int) -> list[str]:
        """What people search for: a topic's words, one to three, and some oddities."""
        rng = self.rng
        out = []
        for _ in range(count):
            topic = rng.choice(self.topics)
            roll = rng.random()
            if roll < 0.9:
                out.append(" ".join(rng.sample(topic[:8], 1 if roll < 0.25 else 2 + (roll > 0.75))))
            else:
                out.append(rng.choice(SPECIAL_QUERIES))
        return out

    def typed_titles(self, count: int) -> list[str]:
        """New titles being typed: part of a title on an existing topic."""
        out = []
        for _ in range(count):
            title = self.title(self.rng.choice(self.topics))
            out.append(title[: self.rng.randint(min(12, len(title)), len(title))])
        return out


def seed(app, threads: int, posts: int, members: int) -> dict:
    """Bulk inserts straight into the tables (no events: the index is built after)."""
    rng = random.Random(11)
    corpus = Corpus(random.Random(7))
    now = utcnow()
    with app.test_request_context():
        admin = services.register_member("admin@bench.example", "Ada Admin", PASSWORD)
        services.grant_roles(admin, ["admin"])
        customer = services.register_member("c@bench.example", "Cara Customer", PASSWORD)
        spaces = [
            services.create_space(admin, name=f"Space {n}", slug=f"space-{n}", description="")
            for n in range(SPACES)
        ]
        private = services.create_space(
            admin, name="Advisory board", slug="board", visibility="private", kind="advisory"
        )
        db.session.add(SpaceMembership(space_id=private.id, member_id=customer.id))
        db.session.commit()
        space_ids = [s.id for s in spaces] + [private.id]
        db.session.execute(
            insert(Member),
            [
                {"email": f"m{i}@bench.example", "email_key": f"m{i}@bench.example",
                 "handle": f"bench-{i}", "display_name": f"{rng.choice(DOMAIN).title()} "
                 f"Member {i}", "password_hash": admin.password_hash,
                 "bio": corpus.text(rng.choice(corpus.topics), 8), "session_epoch": 0,
                 "created_at": now}
                for i in range(members)
            ],
        )  # fmt: skip
        member_ids = list(db.session.scalars(select(Member.id)))
        db.session.execute(insert(Tag), [{"name": name} for name in DOMAIN[:60]])
        tag_ids = list(db.session.scalars(select(Tag.id)))

        # Every thread has its opening post; the other posts are spread over them.
        per_thread = [1] * threads
        for index in rng.choices(range(threads), k=posts - threads):
            per_thread[index] += 1
        thread_rows, thread_topics = [], []
        for n in range(threads):
            topic = rng.choice(corpus.topics)
            thread_topics.append(topic)
            created = now - timedelta(days=rng.uniform(1, 700))
            thread_rows.append(
                {"space_id": rng.choice(space_ids), "author_id": rng.choice(member_ids),
                 "kind": "question" if rng.random() < 0.8 else "discussion",
                 "title": corpus.title(topic), "created_at": created,
                 "last_post_at": created + timedelta(hours=per_thread[n]),
                 "last_poster_id": rng.choice(member_ids), "last_number": per_thread[n] - 1,
                 "reply_count": per_thread[n] - 1, "view_count": rng.randint(0, 500),
                 "is_locked": False, "is_hidden": rng.random() < 0.005}
            )  # fmt: skip
        db.session.execute(insert(Thread), thread_rows)
        thread_ids = list(db.session.scalars(select(Thread.id).order_by(Thread.id)))
        db.session.execute(
            insert(thread_tag),
            [
                {"thread_id": thread_id, "tag_id": tag_id}
                for thread_id in thread_ids
                for tag_id in rng.sample(tag_ids, rng.randint(0, 3))
            ],
        )
        batch = []
        with click.progressbar(length=posts, label="Seeding posts", file=sys.stderr) as bar:
            for thread_id, row, count, topic in zip(
                thread_ids, thread_rows, per_thread, thread_topics, strict=True
            ):
                for number in range(count):
                    body = corpus.text(topic, rng.randint(15, 70))
                    batch.append(
                        {"thread_id": thread_id, "author_id": rng.choice(member_ids),
                         "number": number, "body": body, "body_html": f"<p>{body}</p>",
                         "created_at": row["created_at"] + timedelta(hours=number),
                         "kudos_count": 0, "is_hidden": number > 0 and rng.random() < 0.01}
                    )  # fmt: skip
                if len(batch) >= 10_000:
                    db.session.execute(insert(Post), batch)
                    bar.update(len(batch))
                    batch = []
            if batch:
                db.session.execute(insert(Post), batch)
                bar.update(len(batch))
        # About 40 % of questions have an accepted answer (their first reply).
        first_replies = db.session.execute(
            select(Post.thread_id, Post.id).where(Post.number == 1, Post.is_hidden.is_(False))
        ).all()
        accepted = [
            {"id": thread_id, "accepted_post_id": post_id}
            for thread_id, post_id in first_replies
            if rng.random() < 0.45
        ]
        db.session.execute(update(Thread), accepted)
        db.session.commit()
        return {"customer": customer.email, "space": spaces[0], "author": admin, "corpus": corpus}


def timed(client, urls: list[str]) -> dict:
    for url in urls[:5]:  # warm the searcher, filters and templates
        client.get(url)
    timings = []
    for url in urls:
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
    return {"p50_ms": round(statistics.median(timings), 1),
            "p95_ms": common.percentile(timings, 0.95), "requests": len(timings)}  # fmt: skip


def measure(app, who: dict, rounds: int) -> list[dict]:
    visitor = app.test_client()
    member = app.test_client()
    response = member.post("/login", data={"email": who["customer"], "password": PASSWORD})
    assert response.status_code == 302, "the bench customer could not sign in"

    def urls(path, pick, extra=None):
        return [f"{path}?{urlencode({'q': pick(), **(extra or {})})}" for _ in range(rounds)]

    queries = iter(who["corpus"].queries(10 * rounds))
    titles = iter(who["corpus"].typed_titles(10 * rounds))

    def query():
        return next(queries)

    def typing():
        return next(titles)

    cases = [
        ("search API, visitor", visitor, urls("/api/v1/search", query)),
        ("search API, member of a private space", member, urls("/api/v1/search", query)),
        ("search API, solved only, sorted by recency", visitor,
         urls("/api/v1/search", query, {"solved": "true", "sort": "recent"})),
        ("search API, page 5", visitor, urls("/api/v1/search", query, {"page": 5})),
        ("search page (HTML), member", member, urls("/search", query)),
        ("similar questions API, member", member, urls("/api/v1/search/similar", typing)),
        ("help suggestions (HTML fragment), visitor", visitor,
         urls("/help/suggestions", typing)),
    ]  # fmt: skip
    results = [{"name": name, **timed(client, paths)} for name, client, paths in cases]

    # A change reaching the index: create_thread, its event, the queue and the writer.
    timings = []
    with app.test_request_context():
        space = db.session.get(type(who["space"]), who["space"].id)
        author = db.session.get(Member, who["author"].id)
        for n in range(max(5, rounds // 4)):
            start = time.perf_counter()
            services.create_thread(
                space, author, "question", f"Freshly zyxwvut thread {n}", "Body text."
            )
            timings.append((time.perf_counter() - start) * 1000)
        assert search.query(None, "zyxwvut").total == len(timings)
    results.append(
        {"name": "new thread, indexed before the request ends", "requests": len(timings),
         "p50_ms": round(statistics.median(timings), 1), "p95_ms": common.percentile(timings, 0.95)}
    )  # fmt: skip
    return results


def run(threads: int, posts: int, members: int, rounds: int) -> dict:
    with common.migrated_app(common.APP_SETTINGS) as (app, folder):
        started = time.perf_counter()
        who = seed(app, threads, posts, members)
        seeded = time.perf_counter() - started
        total = search.total_documents()
        started = time.perf_counter()
        with click.progressbar(length=total, label="Indexing", file=sys.stderr) as bar:
            documents = search.reindex(progress=bar.update, procs=search.default_procs())
        reindexed = time.perf_counter() - started
        size = sum(f.stat().st_size for f in Path(folder, "search-index").iterdir())
        results = measure(app, who, rounds)
    return {"seeded": seeded, "reindexed": reindexed, "documents": documents,
            "index_mb": size / 2**20, "results": results}  # fmt: skip


def table(results: list[dict]) -> str:
    columns = [("request", "name"), ("p50 ms", "p50_ms"), ("p95 ms", "p95_ms"),
               ("requests", "requests")]  # fmt: skip
    return common.markdown_table(results, columns)


def main(argv=None) -> int:
    parser = common.bench_parser(__doc__)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200, help="requests per measured case")
    args = parser.parse_args(argv)
    if args.smoke:
        args.threads, args.posts, args.rounds = 40, 300, 12
    figures = run(args.threads, args.posts, members=max(20, args.threads // 5), rounds=args.rounds)
    print(
        f"Seeded {args.posts:,} posts in {args.threads:,} threads in {figures['seeded']:.1f} s; "
        f"full reindex of {figures['documents']:,} documents: {figures['reindexed']:.1f} s "
        f"({figures['index_mb']:.0f} MB)."
    )
    print(table(figures["results"]))
    if args.write and not args.smoke:
        record(args, figures)
    return 0


def record(args, figures: dict) -> None:
    command = "`.venv/bin/python bench/search_bench.py --write`"
    common.record_section(
        "search-bench",
        f"## Search: {args.posts:,} posts in {args.threads:,} threads\n\n"
        f"{command} on {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, SQLite (WAL), "
        f"Whoosh-Reloaded, Flask test client (app level, one process, {args.rounds} requests "
        f"per row after a warm-up). The posts are generated text on 250 topics over a "
        f"Zipf-distributed vocabulary of 4,000 words; 45 % of threads are solved, 1 % of replies "
        f"hidden, one space in nine private. Queries are one to three words of a topic, with "
        f"some phrases, AND/OR/NOT, groups and misspellings; similar questions and help "
        f"suggestions are sent part-typed titles. Seeding took {figures['seeded']:.0f} s.\n\n"
        f"**Full reindex** (`search.reindex()` with {search.default_procs()} worker processes, "
        f"as `flask search reindex` runs it): "
        f"{figures['reindexed']:.1f} s for {figures['documents']:,} documents "
        f"({figures['index_mb']:.0f} MB on disk).\n\n"
        f"{table(figures['results'])}\n\n"
        f"Targets: search p95 under 50 ms, similar-question suggestions p95 under 80 ms, a full "
        f"reindex under 120 s.",
    )


if __name__ == "__main__":
    sys.exit(main())
