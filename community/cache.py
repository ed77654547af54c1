"""Speed for the many who only read: an anonymous page cache and batched view counts.

**The page cache.** A visitor (no session cookie, no remember-me cookie, no
Authorization header) asking for a GET page is served the bytes rendered for the
previous visitor, by a WSGI layer in front of Flask: no routing, no SQL, no
template. Only the pages listed in ``VISITOR_PAGES`` are stored, and only when
rendering them left no trace of the visitor: a 200, an empty session, no CSRF
token generated, no cookie set. Those pages leave out the CSRF meta tag
(``g.visitor_page``; a visitor cannot post from them anyway), so a cached page
never carries a token or anything personal. A signed-in member is never served
from the cache and never stored in it.

Invalidation is a generation number in every cache key: any domain event that
changes what people read bumps it (see ``connect_subscribers``), so every page
is rendered afresh after a change; a timeout is the safety net for changes that
send no event. The generation lives where every process sees it: in Redis when
REDIS_URL is set (pages are stored there too), else in a file of the instance
folder (pages stay in each process's memory, which is correct since the key
carries the shared generation).

**View counts.** Counting a view used to write two rows on every thread view.
Now a view is a set insertion in memory (or in Redis, shared by the processes),
de-duplicated per viewer there and once more by the unique (thread, viewer) row
when the batch is written: every ``VIEW_FLUSH_EVERY`` views, every
``VIEW_FLUSH_SECONDS`` by a timer thread, and when the process exits.
Visitors are told apart by a random ``parley_viewer`` cookie, which the page
cache sets outside the cached bytes, so counting never makes a page personal.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import threading
from http.cookies import SimpleCookie
from pathlib import Path

from flask import Flask, current_app, g, request, session
from flask_caching import Cache
from flask_login import current_user

from . import background, events

log = logging.getLogger(__name__)

# Pages a visitor may be served from the cache. They must not need a CSRF token
# for visitors (the meta tag is left out of them).
VISITOR_PAGES = {
    "community.index",
    "community.all_threads",
    "community.space",
    "community.thread",
    "community.search_page",
    "community.profile",
    "community.threads_feed",
    "community.space_feed",
    "community.thread_feed",
    "community_api.openapi",
    "community_api.spaces",
    "community_api.space",
    "community_api.space_threads",
    "community_api.threads",
    "community_api.thread",
    "community_api.post",
    "community_api.member",
    "community_api.search_everything",
    "ideas.index",
    "ideas.idea",
    "ideas.areas",
    "ideas.feed",
    "ideas_api.ideas",
    "ideas_api.idea",
    "ideas_api.areas",
    "reputation.leaderboard",
}

# Events that change nothing a visitor reads.
QUIET_EVENTS = {
    "sessions_ended",
    "notification_created",
    "notifications_read",
    "conversation_at_risk",
    "lead_detected",
    "churn_signal",
    "voting_fraud_detected",
    "case_escalated",
    "demo_data_seeded",
}

# The page cache's note to the app, and the app's answer: a dict in the WSGI environ
# (Flask-SocketIO's layer copies the environ, so a flag set on it would be lost).
VISITOR = "parley.visitor"
VIEWER_COOKIE = "parley_viewer"
GENERATION_KEY = "parley:page-generation"
PENDING_VIEWS_KEY = "parley:pending-views"
# Headers that describe one response, never to be replayed to someone else.
UNSTORED_HEADERS = {"set-cookie", "x-parley-queries", "x-parley-cache"}

store = Cache()


# ---- the generation ------------------------------------------------------------


class FileGeneration:
    """The generation shared by the processes of one machine: the size of a file to
    which every bump appends a byte (appends are atomic), read with one stat."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)

    def current(self) -> str:
        stat = os.stat(self.path)
        return f"{stat.st_ino}.{stat.st_size}"

    def bump(self) -> None:
        if os.stat(self.path).st_size > 1_000_000:
            # Start again in a new file (a new inode, so no old generation comes back).
            fresh = self.path.with_suffix(".new")
            fresh.write_bytes(b"")
            os.replace(fresh, self.path)
        with open(self.path, "ab") as handle:
            handle.write(b".")


class RedisGeneration:
    def __init__(self, client):
        self.client = client

    def current(self) -> str:
        return (self.client.get(GENERATION_KEY) or b"0").decode()

    def bump(self) -> None:
        self.client.incr(GENERATION_KEY)


# ---- view counting --------------------------------------------------------------


class ViewCounter:
    """Views waiting to be written, flushed in batches through services.record_views."""

    def __init__(self, app: Flask, redis_client=None):
        self.app = app
        self.redis = redis_client
        self.pending: set[tuple[int, str]] = set()
        self.lock = threading.Lock()
        self.flush_lock = threading.Lock()
        self.every = int(app.config["VIEW_FLUSH_EVERY"])
        self.seconds = float(app.config["VIEW_FLUSH_SECONDS"])
        self.timer: threading.Thread | None = None
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.pid = os.getpid()

    def add(self, thread_id: int, viewer: str) -> int:
        """Count a view; returns how many views a flush it set off wrote (mostly 0)."""
        if self.redis is not None:
            waiting = self.redis.sadd(PENDING_VIEWS_KEY, f"{thread_id}|{viewer}")
            waiting = self.redis.scard(PENDING_VIEWS_KEY) if waiting else 0
        else:
            with self.lock:
                self.pending.add((thread_id, viewer))
                waiting = len(self.pending)
        if waiting < self.every:
            self._start_timer()
            return 0
        if self._start_timer():
            self.wake.set()  # a full batch: the timer thread writes it, not this request
            return 0
        return self.flush()

    def _take(self) -> list[tuple[int, str]]:
        if self.redis is not None:
            taken = []
            while True:
                chunk = self.redis.spop(PENDING_VIEWS_KEY, 1000) or []
                for item in chunk:
                    thread_id, _, viewer = item.decode().partition("|")
                    taken.append((int(thread_id), viewer))
                if len(chunk) < 1000:
                    return taken
        with self.lock:
            taken, self.pending = list(self.pending), set()
        return taken

    def flush(self) -> int:
        """Write the waiting views; returns how many counted. Safe from any thread."""
        from . import services  # the services import the app's models; keep this lazy

        with self.flush_lock:
            views = self._take()
            if not views:
                return 0
            # Its own app context: its own session and transaction, never the request's.
            with self.app.app_context():
                return services.record_views(views)

    def _start_timer(self) -> bool:
        """Start the timer thread unless there is one; False when there is none to start."""
        # Started by the first view of each process, so a fork (gunicorn) gets its own.
        if self.seconds <= 0:
            return False
        if self.timer is not None and self.pid == os.getpid():
            return True
        with self.lock:
            if self.timer is None or self.pid != os.getpid():
                self.pid = os.getpid()
                self.stopping = threading.Event()
                self.timer = threading.Thread(
                    target=self._run, args=(self.stopping,), name="view-counter", daemon=True
                )
                self.timer.start()
                atexit.register(self.stop)
                background.on_stop(self.app, self.stop)
        return True

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            self.wake.wait(self.seconds)
            self.wake.clear()
            try:
                self.flush()
            except Exception:  # a failed batch must not end the timer; it logs and retries
                log.exception("could not write the counted views")

    def stop(self) -> None:
        """Stop the timer and write what is waiting (at exit, and when the app's
        background work stops); a later view starts a new timer."""
        with self.lock:
            timer, self.timer = self.timer, None
            self.stopping.set()
        self.wake.set()
        if timer is not None and timer is not threading.current_thread():
            timer.join(10)
        try:
            self.flush()
        except Exception:
            log.exception("could not write the counted views at exit")


def count_view(thread) -> None:
    """Count the current viewer's view of a thread (called by the thread page)."""
    visitor = request.environ.get(VISITOR)
    if visitor is not None:
        # The page cache counts it, on this render and on every cached copy served.
        visitor["view"] = thread.id
        return
    from .extensions import db

    g.viewed_thread = thread.id  # a shared page counts it on every copy it serves
    if count_view_of(thread.id):
        db.session.expire(thread, ["view_count"])  # written just now: show the new count


def count_view_of(thread_id: int) -> int:
    """Count the signed-in member's view; returns how many views a flush wrote."""
    from .web import viewer_key

    return current_app.extensions["parley_views"].add(thread_id, viewer_key())


def flush_views(app: Flask | None = None) -> int:
    return (app or current_app).extensions["parley_views"].flush()


def remember(name: str, compute):
    """A value everyone sees alike (space counts, say), kept until the next change:
    under the page cache's generation, so any domain event starts it afresh, and
    in the same store (Redis when configured). Without the page cache, computed."""
    page_cache = current_app.extensions.get("parley_page_cache")
    if page_cache is None or not page_cache.enabled:
        return compute()
    try:
        key = f"fragment:{page_cache.generation.current()}:{name}"
        value = page_cache.backend.get(key)
    except Exception:  # the cache is an optimisation: without it, compute
        log.exception("fragment cache unavailable")
        return compute()
    if value is None:
        value = compute()
        try:
            page_cache.backend.set(key, value, timeout=page_cache.timeout)
        except Exception:
            log.exception("fragment cache unavailable")
    return value


def remember_for(member_id: int, name: str, compute):
    """A member's own value (their unread count), kept like ``remember`` until the
    next change of what they may see, or until ``forget_for``."""
    return remember(f"member:{member_id}:{name}", compute)


def forget_for(member_id: int, name: str) -> None:
    try:
        page_cache = current_app.extensions.get("parley_page_cache")
    except RuntimeError:  # outside any app: nothing is kept there
        return
    if page_cache is not None and page_cache.enabled:
        try:
            generation = page_cache.generation.current()
            page_cache.backend.delete(f"fragment:{generation}:member:{member_id}:{name}")
        except Exception:
            log.exception("member cache unavailable")


def bump_generation(app: Flask | None = None) -> None:
    (app or current_app).extensions["parley_page_cache"].generation.bump()


# ---- the WSGI layer ------------------------------------------------------------------


class PageCache:
    """Serves visitors' GET pages from the cache, in front of the Flask app."""

    def __init__(self, app: Flask, wsgi_app, backend, generation, views: ViewCounter):
        self.app = app
        self.wsgi_app = wsgi_app
        self.backend = backend
        self.generation = generation
        self.views = views
        self.enabled = bool(app.config["PAGE_CACHE_ENABLED"])
        self.timeout = int(app.config["PAGE_CACHE_TIMEOUT"])
        self.personal_cookies = {
            app.config["SESSION_COOKIE_NAME"],
            app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
        }

    def _is_visitor(self, environ) -> bool:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_AUTHORIZATION"):
            return False
        path = environ.get("PATH_INFO", "")
        if path.startswith(("/static/", "/socket.io")):
            return False
        cookies = environ.get("HTTP_COOKIE")
        if cookies:
            jar = SimpleCookie()
            try:
                jar.load(cookies)
            except Exception:  # an unreadable cookie header: not worth guessing, render
                return False
            if self.personal_cookies & set(jar):
                return False
        return True

    def _key(self, environ) -> str:
        return "page:{}:{}://{}{}?{}".format(
            self.generation.current(),
            environ.get("wsgi.url_scheme", "http"),
            environ.get("HTTP_HOST", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
        )

    def __call__(self, environ, start_response):
        if not self.enabled or not self._is_visitor(environ):
            return self.wsgi_app(environ, start_response)
        try:
            key = self._key(environ)
            entry = self.backend.get(key)
        except Exception:  # the cache is an optimisation: without it, render
            log.exception("page cache unavailable")
            return self.wsgi_app(environ, start_response)
        if entry is not None:
            status, headers, body, thread_id = entry
            headers = [*headers, ("X-Parley-Cache", "hit")]
            self._count_view(environ, thread_id, headers)
            start_response(status, headers)
            return [body]
        visitor = environ[VISITOR] = {}
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: captured.setdefault("early", []).append(data)

        result = self.wsgi_app(environ, capture)
        try:
            body = b"".join([*captured.get("early", []), *result])
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = captured["status"], list(captured["headers"])
        thread_id = visitor.get("view")
        if visitor.get("store") and not any(k.lower() == "set-cookie" for k, _ in headers):
            kept = [(k, v) for k, v in headers if k.lower() not in UNSTORED_HEADERS]
            try:
                self.backend.set(key, (status, kept, body, thread_id), timeout=self.timeout)
            except Exception:
                log.exception("page cache unavailable")
        headers.append(("X-Parley-Cache", "miss"))
        self._count_view(environ, thread_id, headers)
        start_response(status, headers)
        return [body]

    def _count_view(self, environ, thread_id, headers) -> None:
        if not thread_id:
            return
        jar = SimpleCookie()
        try:
            jar.load(environ.get("HTTP_COOKIE", ""))
        except Exception:
            jar = SimpleCookie()
        viewer = jar[VIEWER_COOKIE].value if VIEWER_COOKIE in jar else ""
        if not (viewer.isalnum() and 8 <= len(viewer) <= 40):
            viewer = secrets.token_hex(12)
            secure = "; Secure" if environ.get("wsgi.url_scheme") == "https" else ""
            headers.append(
                (
                    "Set-Cookie",
                    f"{VIEWER_COOKIE}={viewer}; Max-Age=31536000; Path=/; HttpOnly; "
                    f"SameSite=Lax{secure}",
                )
            )
        try:
            self.views.add(int(thread_id), f"v:{viewer}")
        except Exception:  # a lost view is better than a failed page
            log.exception("could not count a view")


# ---- wiring --------------------------------------------------------------------------


def _redis_client(app: Flask):
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url)


def init_app(app: Flask) -> None:
    redis_client = _redis_client(app)
    if redis_client is not None:
        settings = {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": app.config["REDIS_URL"],
            "CACHE_KEY_PREFIX": "parley:",
        }
        generation = RedisGeneration(redis_client)
    else:
        settings = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000}
        generation = FileGeneration(Path(app.instance_path) / "page-cache-generation")
    store.init_app(
        app, config={"CACHE_DEFAULT_TIMEOUT": app.config["PAGE_CACHE_TIMEOUT"]} | settings
    )
    views = ViewCounter(app, redis_client)
    page_cache = PageCache(app, app.wsgi_app, app.extensions["cache"][store], generation, views)
    app.wsgi_app = page_cache
    app.extensions["parley_page_cache"] = page_cache
    app.extensions["parley_views"] = views

    @app.before_request
    def mark_visitor_page():
        if VISITOR in request.environ and request.endpoint in VISITOR_PAGES:
            g.visitor_page = True

    @app.after_request
    def allow_storing(response):
        if (
            g.get("visitor_page")
            and response.status_code == 200
            and not session
            and not session.modified
            and "csrf_token" not in g
            and not current_user.is_authenticated
            and "Set-Cookie" not in response.headers
        ):
            request.environ[VISITOR]["store"] = True
        return response


def connect_subscribers() -> None:
    """Every event that changes what a visitor reads starts a new generation."""
    for name, signal in events.catalogue().items():
        if name not in QUIET_EVENTS:
            signal.connect(_content_changed, weak=False)
    # A member's unread count changes with their notifications, which no one else reads.
    events.notification_created.connect(
        lambda note, **_: forget_for(note.member_id, "unread"), weak=False
    )
    events.notifications_read.connect(
        lambda member, **_: forget_for(member.id, "unread"), weak=False
    )


def _content_changed(_sender, **_kwargs) -> None:
    try:
        app = current_app._get_current_object()
    except RuntimeError:  # sent outside any app (a script): nothing is cached there
        return
    page_cache = app.extensions.get("parley_page_cache")
    if page_cache is not None and page_cache.enabled:
        try:
            page_cache.generation.bump()
        except Exception:
            log.exception("could not invalidate the page cache")
