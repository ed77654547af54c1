"""Real servers for the scale-out tests: Debian's redis-server, and Parley app
processes started like production (each its own process, sharing the database
and Redis). A missing binary fails the test loudly; `make test` installs it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from community.app import PROJECT_ROOT

SECRET = "scale-out-test-secret-shared-by-every-process"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited:\n{log.read_text()}") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"nothing listened on {port} within {timeout} s:\n{log.read_text()}")


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        pytest.fail(
            "redis-server is not installed: run `make test` (it installs Debian's redis-server)"
        )
    port = free_port()
    log = tmp_path / "redis.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", str(tmp_path)],
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for_port(port, server, log)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait(timeout=10)


@pytest.fixture
def app_process(tmp_path):
    """Start `flask --app wsgi run` processes on a shared database and Redis."""
    started: list[subprocess.Popen] = []
    logs = []

    def start(name: str, database: str, redis: str) -> str:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
        env |= {
            "DATABASE_URL": database,
            "REDIS_URL": redis,
            "SECRET_KEY": SECRET,
            "PARLEY_INSTANCE": str(tmp_path / name),
            "PARLEY_PASSWORD_HASH_MEMORY_KIB": "1024",
            "PARLEY_PASSWORD_HASH_TIME_COST": "1",
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        log = tmp_path / f"{name}.log"
        logs.append(log.open("w"))
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=logs[-1], stderr=subprocess.STDOUT,
        )  # fmt: skip
        started.append(process)
        wait_for_port(port, process, log)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.terminate()
    for process in started:
        process.wait(timeout=10)
    for output in logs:
        output.close()
