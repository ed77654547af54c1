"""Several app processes behind a proxy share the database and Redis: a live
event caused through one process reaches a browser connected to another."""

from __future__ import annotations

import queue

import requests
import socketio
from flask_limiter import Limiter

from community import services
from community.app import create_app
from community.extensions import db, limiter
from tests.conftest import _test_settings


def seed(url: str, tmp_path) -> dict:
    app = create_app({**_test_settings(tmp_path), "SQLALCHEMY_DATABASE_URI": url})
    with app.test_request_context():
        admin = services.register_member("ada@example.com", "Ada Admin", "correct horse battery")
        services.grant_roles(admin, ["admin"])
        space = services.create_space(admin, name="General", slug="general")
        thread = services.create_thread(space, admin, "question", "Live across processes?", "Hi")
        _token, plaintext = services.issue_api_token(admin, "scale test")
        seeded = {"thread_id": thread.id, "token": plaintext}
        db.engine.dispose()
    return seeded


def test_a_reply_posted_through_one_process_reaches_a_socket_on_the_other(
    databases, redis_url, app_process, tmp_path
):
    database = databases.copy(tmp_path / "shared.sqlite3")
    seeded = seed(database, tmp_path)
    first = app_process("first", database, redis_url)
    second = app_process("second", database, redis_url)

    arrived: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("post_created", arrived.put)
    client.connect(first, transports=["websocket"], wait_timeout=20)
    try:
        joined = client.call("join_thread", {"thread_id": seeded["thread_id"]}, timeout=20)
        assert joined == {"ok": True}
        response = requests.post(
            f"{second}/api/v1/threads/{seeded['thread_id']}/posts",
            json={"body": "Posted through the second process."},
            headers={"Authorization": f"Bearer {seeded['token']}"},
            timeout=20,
        )
        assert response.status_code == 201, response.text
        event = arrived.get(timeout=20)
        assert event["thread_id"] == seeded["thread_id"]
        assert event["post_id"] == response.json()["id"]
    finally:
        client.disconnect()
    databases.drop(database)


def test_rate_limits_are_counted_in_redis_when_it_is_configured(databases, redis_url, tmp_path):
    """Every process shares one count: the limiter's storage is Redis, not memory."""
    app = create_app(
        {
            **_test_settings(tmp_path),
            "SQLALCHEMY_DATABASE_URI": databases.copy(tmp_path / "limits.sqlite3"),
            "REDIS_URL": redis_url,
            "RATELIMIT_ENABLED": True,
        }
    )
    assert isinstance(limiter, Limiter)
    with app.app_context():
        storage = limiter._storage
        assert type(storage).__name__ == "RedisStorage"
        assert storage.check()  # it really reaches the server
        db.engine.dispose()
    databases.drop(app.config["SQLALCHEMY_DATABASE_URI"])
