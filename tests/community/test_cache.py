"""The anonymous page cache and batched view counting (community/cache.py)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import event, select, update

from community import background, cache, events, services
from community.app import create_app
from community.extensions import db
from community.models import Member, Thread, ThreadView
from tests.conftest import PAGE_CACHE, PASSWORD, _test_settings

pytestmark = pytest.mark.page_cache


def sign_in(app, member):
    browser = app.test_client()
    form = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form) or re.search(
        r'name="csrf_token" value="([^"]+)"', form
    )
    response = browser.post(
        "/login", data={"email": member.email, "password": PASSWORD, "csrf_token": token[1]}
    )
    assert response.status_code == 302
    return browser


def thread_views(app, thread_id):
    with app.app_context():
        return db.session.get(Thread, thread_id).view_count


class Writes:
    """Counts the INSERT, UPDATE and DELETE statements sent to the database."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.n = 0

    def _count(self, _conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            self.n += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


# ---- the page cache ------------------------------------------------------------------------


def test_a_visitor_is_served_the_cached_page_without_token_or_cookie(app, make_thread):
    make_thread(title="Where are my invoices?")
    first = app.test_client().get("/")
    second = app.test_client().get("/")
    assert first.headers["X-Parley-Cache"] == "miss"
    assert second.headers["X-Parley-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    assert "Where are my invoices?" in second.get_data(as_text=True)
    for response in (first, second):
        page = response.get_data(as_text=True)
        assert "csrf" not in page.lower()
        assert "Set-Cookie" not in response.headers
        assert response.headers["Content-Security-Policy"]  # headers are kept too


def test_every_visitor_page_of_the_bench_is_served_from_the_cache(app, make_thread, make_reply):
    """A question with answers: its per-member actions (accept, kudos, flag) must
    not make a token, or a visitor's copy could never be stored."""
    thread = make_thread(title="Where are my invoices?")
    make_reply(thread, body="Under Billing.")
    for path in ("/", "/threads", f"/t/{thread.id}", "/ideas/", "/search?q=invoices"):
        app.test_client().get(path)
        again = app.test_client().get(path)
        assert again.headers["X-Parley-Cache"] == "hit", path
        # At most the anonymous viewer cookie that counts thread views; never a session.
        assert all(c.startswith("parley_viewer=") for c in again.headers.getlist("Set-Cookie"))


def test_a_change_through_the_services_shows_at_once(app, make_thread, make_reply, make_space):
    space = make_space("billing")
    thread = make_thread(space, title="Where are my invoices?")
    visitor = app.test_client()
    assert "Needs an answer" in visitor.get(f"/s/{space.slug}").get_data(as_text=True)
    assert visitor.get(f"/s/{space.slug}").headers["X-Parley-Cache"] == "hit"

    make_reply(thread, body="Under Settings, then Billing.")
    page = visitor.get(f"/s/{space.slug}")
    assert page.headers["X-Parley-Cache"] == "miss"
    assert "Needs an answer" not in page.get_data(as_text=True)
    assert "Under Settings, then Billing." in visitor.get(f"/t/{thread.id}").get_data(as_text=True)


def test_an_event_from_another_domain_invalidates(app, make_thread):
    thread = make_thread()
    visitor = app.test_client()
    visitor.get("/")
    assert visitor.get("/").headers["X-Parley-Cache"] == "hit"
    with app.test_request_context():
        # A moderation event, sent as the moderation domain would after its commit.
        thread = db.session.get(Thread, thread.id)
        opening = services.opening_post(thread)
        events.post_hidden.send(opening, thread=thread, by=None, reason="spam")
    assert visitor.get("/").headers["X-Parley-Cache"] == "miss"


def test_a_signed_in_member_never_gets_or_leaves_a_visitors_page(app, make_member, make_thread):
    make_thread(title="Where are my invoices?")
    rita = make_member("Rita Reader")
    app.test_client().get("/")  # a visitor's copy is cached

    browser = sign_in(app, rita)
    for served in (None, "shared"):  # a member's own render, then the members' shared copy
        page = browser.get("/")
        assert page.headers.get("X-Parley-Cache") == served
        assert "Rita Reader" in page.get_data(as_text=True)
        assert 'name="csrf-token"' in page.get_data(as_text=True)

    visitor = app.test_client().get("/")
    assert visitor.headers["X-Parley-Cache"] == "hit"
    assert "Rita Reader" not in visitor.get_data(as_text=True)
    assert "Sign in" in visitor.get_data(as_text=True)


def test_a_visitor_with_a_session_or_a_token_is_not_served_from_the_cache(app, make_thread):
    make_thread()
    app.test_client().get("/")
    flashed = app.test_client()
    flashed.post("/logout")  # a signed-out visitor's "you are signed out" lands here
    with flashed.session_transaction() as session:
        session["_flashes"] = [("info", "Your message to you alone")]
    page = flashed.get("/")
    assert "X-Parley-Cache" not in page.headers
    assert "Your message to you alone" in page.get_data(as_text=True)
    assert "Your message to you alone" not in app.test_client().get("/").get_data(as_text=True)
    bearer = app.test_client().get("/", headers={"Authorization": "Bearer nonsense"})
    assert "X-Parley-Cache" not in bearer.headers


def test_pages_that_render_a_form_token_or_fail_are_never_stored(app, make_space):
    visitor = app.test_client()
    login_page = visitor.get("/login")
    assert 'name="csrf_token"' in login_page.get_data(as_text=True)
    assert app.test_client().get("/login").headers["X-Parley-Cache"] == "miss"
    make_space("secret", visibility="private")
    assert app.test_client().get("/s/secret").status_code == 404
    assert app.test_client().get("/s/secret").headers["X-Parley-Cache"] == "miss"


# ---- view counting -----------------------------------------------------------------------


def test_views_are_counted_once_per_viewer_and_written_in_a_batch(app, make_thread, make_member):
    thread = make_thread()
    visitors = [app.test_client() for _ in range(3)]
    member = sign_in(app, make_member("Rita Reader"))
    with Writes(app) as writes:
        for browser in [*visitors, *visitors, member, member]:
            page = browser.get(f"/t/{thread.id}")
            assert page.status_code == 200
        cached = visitors[0].get(f"/t/{thread.id}")
        assert cached.headers["X-Parley-Cache"] == "hit"
        assert "csrf" not in cached.get_data(as_text=True).lower()
        assert "session=" not in cached.headers.get("Set-Cookie", "")
    # Nine views, no database write for them (the member's first visit of the day is
    # noted once, for trust levels).
    assert writes.n <= 1
    assert thread_views(app, thread.id) == 0

    assert cache.flush_views(app) == 4  # three visitors and a member, once each
    assert thread_views(app, thread.id) == 4
    # A view already written does not count again, even from another batch.
    visitors[1].get(f"/t/{thread.id}")
    member.get(f"/t/{thread.id}")
    assert cache.flush_views(app) == 0
    assert thread_views(app, thread.id) == 4
    with app.app_context():
        assert db.session.query(ThreadView).count() == 4
        # The member's reads count toward their trust level, once.
        assert (
            db.session.scalar(select(Member.posts_read).where(Member.display_name == "Rita Reader"))
            == 1
        )


def test_a_full_batch_and_the_timer_write_the_views(app, tmp_path, make_thread, cache_app):
    thread = make_thread()
    every = cache_app(app, tmp_path / "every", VIEW_FLUSH_EVERY=3)
    with every.app_context():
        counter = every.extensions["parley_views"]
        counter.add(thread.id, "v:aaaaaaaa")
        counter.add(thread.id, "v:aaaaaaaa")
        counter.add(thread.id, "v:bbbbbbbb")
        assert db.session.get(Thread, thread.id).view_count == 0
        counter.add(thread.id, "v:cccccccc")  # the third waiting view fills the batch
        db.session.expire_all()
        assert db.session.get(Thread, thread.id).view_count == 3

    # With a timer thread, a full batch wakes it: the request that filled it goes on.
    woken = cache_app(app, tmp_path / "woken", VIEW_FLUSH_EVERY=2, VIEW_FLUSH_SECONDS=60)
    counter = woken.extensions["parley_views"]
    assert counter.add(thread.id, "v:eeeeeeee") == 0
    assert counter.add(thread.id, "v:ffffffff") == 0  # full: handed to the timer thread
    deadline = time.monotonic() + 10
    while thread_views(woken, thread.id) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert thread_views(woken, thread.id) == 5
    counter.stop()

    timed = cache_app(app, tmp_path / "timed", VIEW_FLUSH_SECONDS=0.1)
    counter = timed.extensions["parley_views"]
    counter.add(thread.id, "v:dddddddd")
    deadline = time.monotonic() + 10
    while thread_views(timed, thread.id) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    counter.stop()
    assert thread_views(timed, thread.id) == 6


@pytest.fixture
def cache_app():
    """Another app (another process, as far as it knows) on the test's database;
    each is stopped and its connections closed when the test ends."""
    made = []

    def make(app, instance: Path, **settings):
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        instance.mkdir(parents=True, exist_ok=True)
        other = create_app(
            {**_test_settings(instance), **PAGE_CACHE, **settings, "SQLALCHEMY_DATABASE_URI": url}
        )
        made.append(other)
        return other

    yield make
    for other in made:
        background.stop_all(other)
        with other.app_context():
            db.engine.dispose()


def test_views_of_a_deleted_thread_are_dropped(app, make_thread):
    thread = make_thread()
    counter = app.extensions["parley_views"]
    counter.add(thread.id, "v:aaaaaaaa")
    counter.add(thread.id + 1000, "v:aaaaaaaa")
    assert counter.flush() == 1


def test_the_query_header_is_for_the_bench_only(app, tmp_path, make_thread, cache_app):
    thread = make_thread()
    signed_out = app.test_client().get(f"/t/{thread.id}")
    assert "X-Parley-Queries" not in signed_out.headers
    bench = cache_app(app, tmp_path / "bench", BENCH_QUERY_HEADER=True, PAGE_CACHE_ENABLED=False)
    page = bench.test_client().get(f"/t/{thread.id}")
    assert int(page.headers["X-Parley-Queries"]) > 0


# ---- several processes sharing Redis -----------------------------------------------------


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        pytest.fail("redis-server is not installed: run `make test` (it installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_processes_share_pages_generation_and_views_through_redis(
    app, tmp_path, redis_url, make_thread, cache_app
):
    thread = make_thread(title="Where are my invoices?")
    first = cache_app(app, tmp_path / "one", REDIS_URL=redis_url)
    second = cache_app(app, tmp_path / "two", REDIS_URL=redis_url)
    assert first.test_client().get(f"/t/{thread.id}").headers["X-Parley-Cache"] == "miss"
    visitor = second.test_client()
    assert visitor.get(f"/t/{thread.id}").headers["X-Parley-Cache"] == "hit"

    with first.test_request_context():
        shown = db.session.get(Thread, thread.id)
        services.reply(shown, shown.author, "Under Billing.")
    page = visitor.get(f"/t/{thread.id}")
    assert page.headers["X-Parley-Cache"] == "miss"
    assert "Under Billing." in page.get_data(as_text=True)

    # The same visitor seen by both processes counts once; the batch is shared.
    same_visitor = first.test_client()
    same_visitor.set_cookie(cache.VIEWER_COOKIE, visitor.get_cookie(cache.VIEWER_COOKIE).value)
    same_visitor.get(f"/t/{thread.id}")
    assert cache.flush_views(second) == 2
    assert thread_views(first, thread.id) == 2


def test_processes_share_members_pages_through_redis(
    app, tmp_path, redis_url, make_thread, make_member, cache_app
):
    """A page kept for an audience by one process serves a member of it in another,
    with that member's own parts (pickled through Redis and back)."""
    thread = make_thread(title="Where are my invoices?")
    ann, bob = make_member("Ann Alpha"), make_member("Bob Beta")
    first = cache_app(app, tmp_path / "one", REDIS_URL=redis_url)
    second = cache_app(app, tmp_path / "two", REDIS_URL=redis_url)
    assert "X-Parley-Cache" not in sign_in(first, ann).get(f"/t/{thread.id}").headers
    page = sign_in(second, bob).get(f"/t/{thread.id}")
    assert page.headers["X-Parley-Cache"] == "shared"
    assert "Bob Beta" in page.get_data(as_text=True)
    assert "Ann Alpha" not in page.get_data(as_text=True)
    assert "<!--personal:" not in page.get_data(as_text=True)


def test_space_counts_kept_for_signed_in_pages_follow_every_change(
    app, make_member, make_space, make_thread, make_reply
):
    """Signed-in home pages share the space counts until the next change."""
    space = make_space("billing")
    rita = make_member("Rita Reader")
    browser = sign_in(app, rita)

    def counts():
        with app.test_request_context():
            viewer = db.session.get(type(rita), rita.id)
            [summary] = [s for s in services.space_summaries(viewer) if s.space.id == space.id]
            return summary.thread_count, summary.post_count

    assert counts() == (0, 0)
    thread = make_thread(space, title="Where are my invoices?")
    assert counts() == (1, 1)
    make_reply(thread, body="Under Settings, then Billing.")
    assert counts() == (1, 2)
    assert browser.get("/").status_code == 200
    assert counts() == (1, 2)  # kept: no change since
    with app.test_request_context():  # hidden by a moderator, who sends the event after
        db.session.execute(update(Thread).where(Thread.id == thread.id).values(is_hidden=True))
        db.session.commit()
        hidden = db.session.get(Thread, thread.id)
        events.post_hidden.send(
            services.opening_post(hidden), thread=hidden, by=None, reason="spam"
        )
    assert counts() == (0, 0)
