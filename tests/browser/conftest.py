"""A real Parley server (as `make run` starts it) and Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _flask(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, databases):
    """Migrated, seeded with the demo community, served with Socket.IO on loopback."""
    instance = tmp_path_factory.mktemp("live-instance")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        env.pop(name, None)
    env["PARLEY_INSTANCE"] = str(instance)
    database = databases.empty(instance / "parley.sqlite3")
    env["DATABASE_URL"] = database
    # Commands run beside the server (a mail delivery) read the same database.
    (instance / "database-url").write_text(database)
    env["PARLEY_PASSWORD_HASH_MEMORY_KIB"] = "8192"  # keep the shared CI machine responsive
    _flask("db", "upgrade", env=env)
    _flask("demo-data", env=env)
    port = _free_port()
    log = (instance / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None:
                raise RuntimeError((instance / "server.log").read_text()) from None
            time.sleep(0.2)
    else:
        server.kill()
        raise RuntimeError("the Parley server did not start within 30 s")
    yield url
    server.terminate()
    server.wait(timeout=10)
    log.close()
    databases.drop(database)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def watch(page) -> list[str]:
    """Page errors and CSP violations end up here."""
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return problems


DEMO_PASSWORD = "parley-demo-password"


def sign_in(page, base, email, password=DEMO_PASSWORD):
    """Sign in through the login form, as a person would, and wait until signed in."""
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page.locator("nav")).to_contain_text("Sign out")
