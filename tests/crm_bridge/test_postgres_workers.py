"""Several `flask crm worker` processes on PostgreSQL share the outbox without
delivering anything twice (FOR UPDATE SKIP LOCKED), and keep each contact's order.

It always runs on PostgreSQL: under `make test-postgres` on its server
(PARLEY_TEST_POSTGRES_URL), otherwise on a throw-away server this module starts
with scripts/postgres.sh (Debian's binaries, installed by the script when missing),
so plain `make test` covers the multi-worker path too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from community import background
from community.app import create_app
from community.config import TestConfig
from community.extensions import db
from crm_bridge import outbox
from crm_bridge.models import OutboxItem

from .conftest import SECRET

ROOT = Path(__file__).resolve().parents[2]
# Read at import, before the autouse fixture clears PARLEY_* from the environment.
SERVER_URL = os.environ.get("PARLEY_TEST_POSTGRES_URL")
CONTACTS, PER_CONTACT, WORKERS = 100, 3, 3


@pytest.fixture(scope="module")
def postgres_server():
    """A PostgreSQL server URL: the suite's, or one started for this module."""
    if SERVER_URL:
        yield SERVER_URL
        return
    cluster = tempfile.mkdtemp(prefix="parley-pg-workers-")
    script = ROOT / "scripts" / "postgres.sh"
    started = subprocess.run(
        [str(script), "start", cluster], capture_output=True, text=True, timeout=600
    )
    assert started.returncode == 0, f"scripts/postgres.sh start failed:\n{started.stderr}"
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(script), "stop", cluster], capture_output=True, timeout=120)


@pytest.fixture
def pg_app(postgres_server, tmp_path, receiver):
    """An app on a new, migrated PostgreSQL database, delivering to the receiver."""
    name = f"crm_workers_{uuid.uuid4().hex[:12]}"
    server = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    settings = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    app = create_app(
        {
            **settings,
            "SEARCH_INDEX_DIR": str(tmp_path / "search-index"),
            "SQLALCHEMY_DATABASE_URI": url,
            "CRM": "webhook",
            "CRM_WEBHOOK_URL": receiver.url,
            "CRM_WEBHOOK_SECRET": SECRET,
        }
    )
    with app.app_context():
        upgrade()
    try:
        yield app
    finally:
        background.stop_all(app)
        with app.app_context():
            db.engine.dispose()
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _worker(app, receiver):
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PARLEY_CRM": "webhook",
        "PARLEY_CRM_WEBHOOK_URL": receiver.url,
        "PARLEY_CRM_WEBHOOK_SECRET": SECRET,
        "PARLEY_CRM_BATCH_SIZE": "10",  # small claims, so the workers interleave
        "PARLEY_CRM_POLL_SECONDS": "0.1",
        "PARLEY_CRM_PULL_SECONDS": "0",
        "PARLEY_CRM_BACKOFF_SECONDS": "0",
        "PARLEY_CRM_BACKOFF_MAX_SECONDS": "0",
        "PARLEY_BACKGROUND_IN_PROCESS": "false",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "crm", "worker", "--until-empty"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_three_workers_on_postgresql_deliver_every_row_exactly_once_in_order(pg_app, receiver):
    app = pg_app
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        # A contact's rows are neighbours: claims of 10 split many contacts between
        # two workers, and the second must wait for the first.
        for contact in range(CONTACTS):
            for seq in range(PER_CONTACT):
                data = {"type": "question_asked", "title": f"c{contact}-{seq}", "seq": seq}
                outbox.enqueue("activity", data, email=f"c{contact}@acme.example")
        db.session.commit()
        event_ids = set(db.session.scalars(select(OutboxItem.event_id)))
    assert len(event_ids) == CONTACTS * PER_CONTACT == 300

    receiver.delay = 0.01  # a CRM that takes a moment: the workers overlap
    workers = [_worker(app, receiver) for _ in range(WORKERS)]
    outputs = []
    for process in workers:
        output, _ = process.communicate(timeout=300)
        outputs.append(output)
        assert process.returncode == 0, output

    # Exactly once: every event reached the CRM in one request, none in two.
    sent = Counter(event["id"] for event in receiver.requests)
    assert set(sent) == event_ids
    assert [i for i, n in sent.items() if n > 1] == []
    # The work was shared: the workers' own tallies add up, and more than one worked.
    delivered = [sum(int(n) for n in re.findall(r"delivered (\d+)", output)) for output in outputs]
    assert sum(delivered) == 300, outputs
    assert sum(1 for n in delivered if n) >= 2, f"one worker did everything: {delivered}"
    # In order per contact, although the contact's rows were claimed by several workers.
    for contact in range(CONTACTS):
        email = f"c{contact}@acme.example"
        seqs = [e["data"]["seq"] for e in receiver.requests if e["member"]["email"] == email]
        assert seqs == list(range(PER_CONTACT)), f"{email}: {seqs}"
    with app.app_context():
        statuses = dict(
            db.session.execute(
                select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
            ).all()
        )
    assert statuses == {"delivered": 300}
