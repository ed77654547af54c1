"""A real BottleCRM server on 127.0.0.1 for the connector tests (marked `crm`).

`bottlecrm_server` runs scripts/bottlecrm/start.sh (install, PostgreSQL, tables,
organisation, admin, token, gunicorn) once per session and stop.sh at the end if it
started it. When the server cannot start, every test using it errors with the reason:
never a skip.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from crm_bridge.connectors.bottlecrm import BottleCRMConnector

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "scripts" / "bottlecrm"
START_TIMEOUT = 1800  # a first run installs packages and runs every migration: minutes


@dataclass(frozen=True)
class Server:
    url: str
    token: str


@pytest.fixture(scope="session")
def bottlecrm_server():
    try:
        started = subprocess.run(
            ["bash", str(SCRIPTS / "start.sh")],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"BottleCRM did not start within {START_TIMEOUT} s: {error.stderr}")
    if started.returncode != 0:
        # Whatever it did start (PostgreSQL) serves nothing without the server.
        subprocess.run(["bash", str(SCRIPTS / "stop.sh")], check=False, timeout=120)
        pytest.fail(
            "BottleCRM could not start (scripts/bottlecrm/start.sh exited "
            f"{started.returncode}):\n{started.stderr[-3000:]}{started.stdout[-1000:]}"
        )
    env_file = REPO / "instance" / "bottlecrm" / "server.env"
    settings = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    yield Server(settings["BOTTLECRM_URL"], settings["BOTTLECRM_TOKEN"])
    if started.stdout.strip().endswith("started"):
        subprocess.run(["bash", str(SCRIPTS / "stop.sh")], check=False, timeout=120)


@pytest.fixture
def connector(bottlecrm_server):
    return BottleCRMConnector.from_config(
        {"CRM_BOTTLECRM_URL": bottlecrm_server.url, "CRM_BOTTLECRM_TOKEN": bottlecrm_server.token}
    )


class BottleAPI:
    """The test's own look at BottleCRM's state, straight through its REST API."""

    def __init__(self, server: Server):
        self.server = server

    def call(self, method, path, body=None, **params):
        url = self.server.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        request = urllib.request.Request(  # noqa: S310 - our own test server
            url,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                "Authorization": f"Bearer {self.server.token}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own test server
            return json.loads(response.read() or b"{}")

    def contacts_with_email(self, email):
        """Contacts whose address is exactly `email` (the API's filter is a substring)."""
        rows = self.call("GET", "/api/contacts/", email=email, limit=100)["results"]
        return [row for row in rows if row["email"].lower() == email.lower()]

    def contact(self, contact_id):
        return self.call("GET", f"/api/contacts/{contact_id}/")

    def cases_with_reference(self, reference):
        return self.call(
            "GET", "/api/cases/", cf_parley_case_reference=reference, show_merged="true", limit=100
        )["cases"]


@pytest.fixture
def bottle(bottlecrm_server):
    return BottleAPI(bottlecrm_server)


@pytest.fixture
def unique():
    """A fresh suffix: the server's database outlives a test run."""
    return uuid.uuid4().hex[:10]
