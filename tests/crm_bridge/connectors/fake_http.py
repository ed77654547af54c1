"""A threaded HTTP server on 127.0.0.1 for the CRM fakes: routing, a request log,
and injected failures (the next N requests answer a given status and body)."""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)


class FakeService:
    """Subclasses implement `handle(request) -> Reply`; state is guarded by `self.lock`."""

    def __init__(self):
        self.lock = threading.RLock()
        self.log: list[Request] = []
        self._injected: list[Reply] = []
        #: Share of requests refused before they are processed (5xx or a rate limit)...
        self.fail_before = 0.0
        #: ...and of requests processed whose answer is lost (the client sees a 504).
        self.fail_after = 0.0
        self._random = random.Random(8)
        self.failures = 0  # requests that failed on purpose
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                reply = service._dispatch(request)
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                if payload:
                    self.send_header("Content-Type", "application/json;charset=UTF-8")
                for name, value in reply.headers.items():
                    self.send_header(name, str(value))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def inject(self, status: int, body=None, headers=None, times: int = 1):
        """The next `times` requests (after authentication) answer this instead."""
        with self.lock:
            self._injected.extend(Reply(status, body, headers or {}) for _ in range(times))

    def take_injected(self) -> Reply | None:
        with self.lock:
            return self._injected.pop(0) if self._injected else None

    def _dispatch(self, request: Request) -> Reply:
        with self.lock:
            self.log.append(request)
            roll = self._random.random()
            if roll < self.fail_before + self.fail_after:
                self.failures += 1
        if roll < self.fail_before:
            return self.flaky_reply(roll)
        try:
            reply = self.handle(request)
        except Exception as error:  # a bug in the fake must show, not hang the client
            return Reply(500, {"fake_error": repr(error)})
        if roll < self.fail_before + self.fail_after:
            return Reply(504, None)
        return reply

    def flaky_reply(self, roll: float) -> Reply:
        """What the service answers when it is having a bad moment."""
        return Reply(503, None)

    def handle(self, request: Request) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def requests_to(self, method: str, fragment: str) -> list[Request]:
        with self.lock:
            return [r for r in self.log if r.method == method and fragment in r.path]
