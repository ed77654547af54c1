"""What the benches share: a throwaway app, timing pages, tables and README sections.

Not a bench itself. Each bench puts the repository root and bench/ on sys.path
before importing it (a test loads a bench by its file path, not as a script),
so `from _common import ...` works both ways.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event

from community import background
from community.app import create_app
from community.extensions import db

BENCH = Path(__file__).resolve().parent
README = BENCH / "README.md"

# A bench's app: no rate limit or CSRF in the way of the test client, no scheduled
# upkeep competing with what is measured, and a password hash that seeds quickly.
# These benches time what a render costs, so no page, shared-page or fragment cache
# answers for it: otherwise the statements counted would depend on what an earlier
# request left warm (the load bench measures the caches, behind gunicorn).
APP_SETTINGS = {
    "PAGE_CACHE_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "WTF_CSRF_ENABLED": False,
    "BACKGROUND_IN_PROCESS": False,
    "PASSWORD_HASH_MEMORY_KIB": 8192,
}


def bench_parser(doc: str) -> argparse.ArgumentParser:
    """The options every data bench has (--smoke for the tests, --write for the
    README), described by the first paragraph of the bench's docstring."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, a few seconds")
    parser.add_argument("--write", action="store_true", help="record figures in bench/README.md")
    return parser


# ---- a throwaway app ------------------------------------------------------------------


@contextmanager
def instance_folder() -> Iterator[str]:
    """A temporary instance folder, named in PARLEY_INSTANCE so that create_app puts
    the database and the search index there, and removed afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        os.environ["PARLEY_INSTANCE"] = folder
        yield folder


def migrate() -> None:
    """The schema, as `flask db upgrade` makes it (in the current app context)."""
    from flask_migrate import upgrade

    upgrade()


def shut_down(app) -> None:
    """Stops the app's background threads and closes its pooled connections (in an
    app context): no thread outlives the bench's database."""
    background.stop_all(app)
    db.engine.dispose()


@contextmanager
def migrated_app(settings: dict) -> Iterator[tuple]:
    """(app, instance folder) on a migrated throwaway instance, with one app context
    pushed from the migration to the shut down; for the benches that seed and
    measure inside a single app context."""
    with instance_folder() as folder:
        app = create_app(settings)
        with app.app_context():
            migrate()
            try:
                yield app, folder
            finally:
                shut_down(app)


# ---- timing pages through the test client ----------------------------------------------


@contextmanager
def counting_statements(engine) -> Iterator[dict]:
    """A counter ({"n": ...}) of the SQL statements run on engine by this thread only:
    the app's background threads (view counts, the CRM outbox worker) share the
    engine and must not be charged to the request being measured."""
    statements = {"n": 0}
    measuring = threading.get_ident()

    def count(*_args, **_kwargs):
        if threading.get_ident() == measuring:
            statements["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def time_page(client, path: str, rounds: int, statements: dict) -> dict:
    """One warm-up GET (caches, the template), then `rounds` timed ones: p50 and p95
    in ms and the most SQL statements one request ran (statements: a counter from
    counting_statements), so a page whose query count grows with the data shows."""
    client.get(path)  # warm caches and the template
    timings, queries = [], []
    for _ in range(rounds):
        # The bench holds one app context, which the test client's requests reuse: an
        # empty session for each, as a served request has, or rows the last request
        # left in the identity map would spare statements at random.
        db.session.remove()
        statements["n"] = 0
        start = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - start) * 1000)
        queries.append(statements["n"])
        assert response.status_code == 200, f"{path} answered {response.status_code}"
    timings.sort()
    return {
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
        "queries": max(queries),
    }


def grown_statements(small: list[dict], large: list[dict]) -> list[str]:
    """The pages whose SQL statements grew from the small data set to the large one
    (the same pages, in the same order): each "name: before -> after"."""
    return [
        f"{a['name']}: {a['queries']} -> {b['queries']}"
        for a, b in zip(small, large, strict=True)
        if b["queries"] > a["queries"]
    ]


def percentile(timings: list[float], share: float) -> float:
    """The nearest-rank percentile of timings (in ms), rounded to 0.1."""
    ordered = sorted(timings)
    return round(ordered[max(0, int(len(ordered) * share + 0.5) - 1)], 1)


# ---- reporting ---------------------------------------------------------------------------


def markdown_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A Markdown table of rows, one column per (heading, key): the first column
    left-aligned (names), the others right-aligned (figures)."""
    lines = [
        "| " + " | ".join(heading for heading, _ in columns) + " |",
        "| --- |" + " ---: |" * (len(columns) - 1),
    ]
    lines += ["| " + " | ".join(f"{row[key]}" for _, key in columns) + " |" for row in rows]
    return "\n".join(lines)


def record_section(marker: str, body: str) -> None:
    """Puts body in bench/README.md between `<!-- marker -->` and `<!-- /marker -->`,
    in place of what was there (at the end when the section is new), so each bench
    rewrites its own figures and leaves the others'."""
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    section = f"{start}\n{body}\n{end}"
    if start in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    README.write_text(text)
