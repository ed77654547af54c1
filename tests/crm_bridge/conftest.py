"""CRM bridge fixtures: a signed-webhook receiver on 127.0.0.1 that behaves like a
careful CRM (verifies signatures, keeps one record per event id), and helpers."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from community.extensions import db
from crm_bridge import outbox

SECRET = "test-webhook-secret"


class Receiver:
    """The CRM's state: events by id (duplicates ignored, as an idempotent CRM
    does), contact fields per member in arrival order, and every request seen."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.contacts: dict[int, dict] = {}
        self.arrivals: list[dict] = []  # accepted events, in the order they were stored
        self.down = False
        self.fail_rate = 0.0
        self.rng = random.Random(5)
        self.delay = 0.0
        self.bad_signatures = 0

    def handle(self, headers, body: bytes) -> tuple[int, dict, dict]:
        if self.delay:
            time.sleep(self.delay)
        timestamp = headers.get("X-Parley-Timestamp", "")
        expected = (
            "sha256="
            + hmac.new(
                SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(expected, headers.get("X-Parley-Signature", "")):
            self.bad_signatures += 1
            return 401, {}, {"error": "bad signature"}
        if abs(time.time() - int(timestamp)) > 300:
            return 401, {}, {"error": "stale"}
        event = json.loads(body)
        with self.lock:
            self.requests.append(event)
            if self.down:
                return 503, {}, {"error": "down"}
            if self.fail_rate and self.rng.random() < self.fail_rate:
                if self.rng.random() < 0.5:
                    return 429, {"Retry-After": "0"}, {"error": "rate limited"}
                return self.rng.choice([500, 502, 503]), {}, {"error": "oops"}
            if event["data"].get("poison"):
                return 400, {}, {"error": "field 'poison' is not valid"}
            if event["id"] != headers.get("Idempotency-Key"):
                return 400, {}, {"error": "Idempotency-Key must equal id"}
            if event["id"] not in self.events:
                self.events[event["id"]] = event
                self.arrivals.append(event)
                member = event["member"]["id"]
                if event["type"] == "contact" and member is not None:
                    self.contacts.setdefault(member, {}).update(event["data"])
            return 200, {}, {"id": "crm-" + event["id"][:8]}


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            status, headers, answer = state.handle(self.headers, body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/parley"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhook_app(app, receiver):
    """The app delivering to the receiver only, retrying at once."""
    app.config.update(
        CRM="webhook",
        CRM_WEBHOOK_URL=receiver.url,
        CRM_WEBHOOK_SECRET=SECRET,
        CRM_BACKOFF_SECONDS=0.0,
        CRM_BACKOFF_MAX_SECONDS=0.0,
        CRM_PULL_SECONDS=0,
    )
    return app


def drain(app, *, passes: int = 500) -> outbox.Pass:
    """Run delivery passes until nothing is pending (or give up)."""
    total = outbox.Pass()
    with app.app_context():
        deliverer = outbox.Deliverer("test")
        try:
            for _ in range(passes):
                result = deliverer.deliver_due()
                total.delivered += result.delivered
                total.retried += result.retried
                total.dead += result.dead
                total.errors.update(result.errors)
                if not result.handled and outbox.pending_count() == 0:
                    break
        finally:
            deliverer.close()
            db.session.remove()
    return total
