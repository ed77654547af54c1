"""Nothing is lost: the outbox against a webhook receiver that fails in the ways real
CRMs fail. A worker killed mid-batch, a receiver down for a while, a receiver failing
30% of requests at random, and a poison event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from community import events
from community.extensions import db
from community.models import Member
from crm_bridge import outbox
from crm_bridge.models import OutboxItem

from .conftest import SECRET, drain

ROOT = Path(__file__).resolve().parents[2]


def make_events(app, members, per_member: int, *, poison_at: int | None = None) -> dict:
    """Activities numbered per member, with reputation updates among them; returns
    what the community says: {member id: (titles in order, final reputation)}."""
    truth = {}
    with app.test_request_context():
        for member in members:
            m = db.session.get(Member, member.id)
            titles, points = [], 0
            for n in range(per_member):
                title = f"m{m.id}-event-{n:03d}"
                data = {"type": "question_asked", "title": title, "seq": n}
                if poison_at is not None and n == poison_at:
                    data["poison"] = True
                else:
                    titles.append(title)
                outbox.enqueue("activity", data, member=m)
                db.session.commit()
                if n % 3 == 0:  # reputation sends it after its commit; the bridge queues it
                    points += 7
                    events.reputation_changed.send(m, points=points, rank="R", delta=7)
            truth[m.id] = (titles, points)
    return truth


def crm_state(receiver) -> dict:
    state = {}
    for event in receiver.arrivals:
        if event["type"] == "activity":
            state.setdefault(event["member"]["id"], []).append(event["data"]["title"])
    return state


def assert_crm_equals_community(receiver, truth) -> None:
    activities = crm_state(receiver)
    for member_id, (titles, points) in truth.items():
        assert activities.get(member_id) == titles, f"member {member_id}: order or content differs"
        assert receiver.contacts[member_id]["reputation"] == points
    every = [t for ts in activities.values() for t in ts]
    assert len(every) == len(set(every)), "an event was stored twice"


def _worker(app, receiver, *extra):
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PARLEY_CRM": "webhook",
        "PARLEY_CRM_WEBHOOK_URL": receiver.url,
        "PARLEY_CRM_WEBHOOK_SECRET": SECRET,
        "PARLEY_CRM_LEASE_SECONDS": "2",
        "PARLEY_CRM_BACKOFF_SECONDS": "0",
        "PARLEY_CRM_BACKOFF_MAX_SECONDS": "0",
        "PARLEY_CRM_PULL_SECONDS": "0",
        "PARLEY_CRM_BATCH_SIZE": "25",
        "PARLEY_CRM_POLL_SECONDS": "0.2",
        "PARLEY_BACKGROUND_IN_PROCESS": "false",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "crm", "worker", *extra]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    webhook_app, receiver, make_member
):
    app = webhook_app
    truth = make_events(app, [make_member() for _ in range(4)], per_member=30)
    receiver.delay = 0.02  # slow enough to kill the worker in the middle of a batch
    first = _worker(app, receiver)
    deadline = time.monotonic() + 60
    while len(receiver.requests) < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    first.stdout.close()
    delivered_before = len(receiver.arrivals)
    assert 0 < delivered_before < 120  # it really died half-way
    with app.app_context():
        assert db.session.scalars(select(OutboxItem).where(OutboxItem.status == "pending")).first()
    second = _worker(app, receiver, "--until-empty")
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output.decode()
    with app.app_context():
        statuses = set(db.session.scalars(select(OutboxItem.status)))
    assert statuses == {"delivered"}
    assert_crm_equals_community(receiver, truth)


def test_while_the_crm_is_down_the_backlog_waits_then_drains_in_order(
    webhook_app, receiver, make_member
):
    app = webhook_app
    truth = make_events(app, [make_member() for _ in range(3)], per_member=12)
    receiver.down = True
    down = drain(app, passes=4)
    assert down.delivered == 0 and down.retried > 0 and down.dead == 0
    with app.app_context():
        assert outbox.status().backlog["webhook"] > 0
    receiver.down = False
    drain(app)
    assert_crm_equals_community(receiver, truth)
    for member_id in truth:  # and in order per contact, by the events' sequence numbers
        seqs = [e["data"]["seq"] for e in receiver.arrivals
                if e["member"]["id"] == member_id and e["type"] == "activity"]  # fmt: skip
        assert seqs == sorted(seqs)


def test_a_crm_failing_30_percent_at_random_ends_equal_to_the_community(
    webhook_app, receiver, make_member
):
    app = webhook_app
    app.config["CRM_MAX_ATTEMPTS"] = 50
    truth = make_events(app, [make_member() for _ in range(5)], per_member=20)
    receiver.fail_rate = 0.3
    result = drain(app, passes=2000)
    assert result.retried > 0 and result.dead == 0
    with app.app_context():
        assert set(db.session.scalars(select(OutboxItem.status))) == {"delivered"}
    assert_crm_equals_community(receiver, truth)


def test_a_poison_event_goes_to_dead_letters_without_blocking_the_rest(
    webhook_app, receiver, make_member
):
    app = webhook_app
    truth = make_events(app, [make_member() for _ in range(2)], per_member=8, poison_at=2)
    result = drain(app)
    assert result.dead == 2  # one poison event per member
    with app.app_context():
        dead = list(db.session.scalars(select(OutboxItem).where(OutboxItem.status == "dead")))
        assert all("HTTP 400" in row.last_error and row.attempts == 1 for row in dead)
        assert {row.payload["data"]["seq"] for row in dead} == {2}
    assert_crm_equals_community(receiver, truth)  # everything after the poison arrived
