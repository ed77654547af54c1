"""Shared fixtures: a fresh app and database per test, clients, and factories.

The schema is built once per run (per xdist worker) by the real Alembic
migrations into a template database; each test gets its own copy, so tests
never see each other's data and live servers or threads can use the database
like production does. SQLite by default (a file copy); `make test-postgres`
sets PARLEY_TEST_POSTGRES_URL to a throw-away PostgreSQL server and every
test gets its own database made with CREATE DATABASE ... TEMPLATE.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import sys
import traceback
import weakref
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import Pool

from community import background, services
from community.app import create_app
from community.config import TestConfig
from community.extensions import db

PASSWORD = "correct horse battery"
# Read before the autouse fixture below clears PARLEY_* from the environment.
POSTGRES_URL = os.environ.get("PARLEY_TEST_POSTGRES_URL")


class Databases:
    """Fresh databases for one test run: copies of the migrated template, or empty."""

    def __init__(self, folder: Path, worker: str):
        self.folder = folder
        self.worker = worker.replace("-", "_")
        self.names = itertools.count(1)
        self.server = (
            create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT") if POSTGRES_URL else None
        )
        self.template = self.empty(folder / "template.sqlite3", name=f"tpl_{self.worker}")

    @property
    def engine_name(self) -> str:
        return "postgresql" if self.server is not None else "sqlite"

    def _database_url(self, name: str) -> str:
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def empty(self, path: Path, *, name: str | None = None) -> str:
        """The URL of a new database with no tables."""
        if self.server is None:
            path.unlink(missing_ok=True)
            return f"sqlite:///{path}"
        name = name or f"t_{self.worker}_{next(self.names)}"
        with self.server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self._database_url(name)

    def copy(self, path: Path) -> str:
        """The URL of a new database holding the migrated, empty schema."""
        if self.server is None:
            shutil.copyfile(self.template.removeprefix("sqlite:///"), path)
            return f"sqlite:///{path}"
        name = f"t_{self.worker}_{next(self.names)}"
        template = make_url(self.template).database
        with self.server.connect() as connection:
            connection.execute(
                text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
            )
        return self._database_url(name)

    def drop(self, url: str) -> None:
        if self.server is not None and url.startswith("postgresql"):
            with self.server.connect() as connection:
                connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
                )


@pytest.fixture(scope="session")
def databases(tmp_path_factory, worker_id) -> Databases:
    """The template migrated from empty by `flask db upgrade`'s code path."""
    from flask_migrate import upgrade

    folder = tmp_path_factory.mktemp("template")
    found = Databases(folder, worker_id)
    app = create_app({**_test_settings(folder), "SQLALCHEMY_DATABASE_URI": found.template})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield found
    found.drop(found.template)
    if found.server is not None:
        found.server.dispose()


@pytest.fixture(scope="session")
def template_db(databases) -> str:
    """The migrated template's URL (copy it with `databases.copy`, never write to it)."""
    return databases.template


def _test_settings(instance: Path) -> dict:
    return {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()} | {
        "SEARCH_INDEX_DIR": str(instance / "search-index")
    }


# Every engine a test connected through, and the connections it has not given back.
_engines: weakref.WeakSet = weakref.WeakSet()
_checked_out: dict[int, object] = {}
event.listen(Engine, "engine_connect", lambda connection: _engines.add(connection.engine))
event.listen(Pool, "checkout", lambda conn, record, _proxy: _checked_out.update({id(record): conn}))
event.listen(Pool, "checkin", lambda _conn, record: _checked_out.pop(id(record), None))


# Where each pooled DB-API connection was made (test and stack), until it is closed:
# a psycopg connection collected while still open names its maker on stderr
# ("LEAKED:"), since the warning itself only says when it was collected.
_made_in: dict[int, str] = {}
_current_test = ["(outside a test)"]


def _note_made(dbapi_connection, _record) -> None:
    stack = "".join(traceback.format_stack(limit=14)[:-1])
    _made_in[id(dbapi_connection)] = f"{_current_test[0]}\n{stack}"


event.listen(Pool, "connect", _note_made)
event.listen(
    Pool, "close", lambda dbapi_connection, _record: _made_in.pop(id(dbapi_connection), None)
)
if POSTGRES_URL:
    import psycopg

    _psycopg_del = psycopg.Connection.__del__

    def _del_naming_the_maker(self, *args, **kwargs):
        made = _made_in.pop(id(self), None)
        if made is not None and not self.closed:
            print(f"\nLEAKED: a database connection made in {made}", file=sys.stderr)
        _psycopg_del(self, *args, **kwargs)

    psycopg.Connection.__del__ = _del_naming_the_maker


@pytest.fixture(autouse=True)
def _no_connection_left_open(request):
    """A connection left open by a test (checked out, or pooled by an app nobody
    disposed) would be collected later, in another test, as psycopg's "deleted while
    still open" warning. Close them when the test ends; name a test that leaked one."""
    _current_test[0] = request.node.nodeid
    yield
    for key, conn in list(_checked_out.items()):
        print(f"\nLEFT OPEN: a database connection of {request.node.nodeid}", file=sys.stderr)
        _checked_out.pop(key, None)
        conn.close()
    for engine in list(_engines):
        engine.dispose()  # pooled connections only; an engine still in use reconnects
    _engines.clear()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    """Tests never read the operator's settings or reach beyond this machine."""
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name in list(__import__("os").environ):
        if name.startswith("PARLEY_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PARLEY_INSTANCE", str(tmp_path / "instance"))

    real_connect = socket.socket.connect

    def loopback_only(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise RuntimeError(f"tests may not connect to {host}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)


# `pytest.mark.page_cache`: the app keeps pages (visitors' and members' shared ones)
# and writes views in batches, as in production.
PAGE_CACHE = {
    "PAGE_CACHE_ENABLED": True,
    "WTF_CSRF_ENABLED": True,  # so that a token would show if one leaked into a page
    "VIEW_FLUSH_EVERY": 1000,
    "VIEW_FLUSH_SECONDS": 0,
}


@pytest.fixture
def app(databases, tmp_path, request):
    url = databases.copy(tmp_path / "parley.sqlite3")
    cached = PAGE_CACHE if request.node.get_closest_marker("page_cache") else {}
    app = create_app({**_test_settings(tmp_path), **cached, "SQLALCHEMY_DATABASE_URI": url})
    yield app
    background.stop_all(app)  # its threads end before its database goes
    with app.app_context():
        db.engine.dispose()
    databases.drop(url)


@pytest.fixture
def ctx(app):
    """A request context for service-level tests: objects stay attached throughout.
    (Client tests go without, so each request gets its own context, as in production.)"""
    with app.test_request_context():
        yield
        db.session.remove()


def _attached(obj):
    """The same row in the current session (objects from other contexts are detached)."""
    return db.session.get(type(obj), obj.id) if obj is not None else None


def _made(obj):
    """Load the object's columns so it stays readable after its context ends."""
    db.session.refresh(obj)
    return obj


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_member(app):
    counter = iter(range(1, 10_000))

    def make(name: str | None = None, *, email: str | None = None, roles=(), password=PASSWORD):
        n = next(counter)
        name = name or f"Member {n}"
        email = email or f"member{n}-{name.split()[0].lower()}@example.com"
        with app.test_request_context():
            member = services.register_member(email, name, password)
            if roles:
                services.grant_roles(member, roles)
            return _made(member)

    return make


@pytest.fixture
def admin(make_member):
    return make_member("Ada Admin", roles=["admin"])


@pytest.fixture
def make_space(app, admin):
    counter = iter(range(1, 10_000))

    def make(slug: str | None = None, *, visibility="public", kind="forum", name=None):
        n = next(counter)
        slug = slug or f"space-{n}"
        with app.test_request_context():
            return _made(services.create_space(
                _attached(admin), name=name or slug.replace("-", " ").title(), slug=slug,
                description=f"About {slug}", kind=kind, visibility=visibility,
            ))  # fmt: skip

    return make


@pytest.fixture
def make_thread(app, make_space, make_member):
    def make(space=None, author=None, *, title="How do I export my data?", body="Details here.",
             kind="question", tags=()):  # fmt: skip
        space = space or make_space()
        author = author or make_member()
        with app.test_request_context():
            space, author = _attached(space), _attached(author)
            return _made(services.create_thread(space, author, kind, title, body, list(tags)))

    return make


@pytest.fixture
def make_reply(app, make_member):
    def make(thread, author=None, body="Have you tried turning it off and on again?"):
        author = author or make_member()
        with app.test_request_context():
            thread, author = _attached(thread), _attached(author)
            return _made(services.reply(thread, author, body))

    return make


@pytest.fixture
def login(client):
    """Sign a member in through the real form."""

    def sign_in(member, password=PASSWORD, the_client=None):
        the_client = the_client or client
        response = the_client.post("/login", data={"email": member.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return the_client

    return sign_in


@pytest.fixture
def token_for(client):
    """A bearer token from the real token endpoint."""

    def issue(member, password=PASSWORD):
        response = client.post(
            "/api/v1/auth/token", json={"email": member.email, "password": password}
        )
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return issue
