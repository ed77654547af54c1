"""`flask crm ...` and the in-process worker."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from community import background
from community.extensions import db
from community.models import Member, Thread
from crm_bridge import outbox, services
from crm_bridge.models import Activity, OutboxItem

from .conftest import drain


def test_status_shows_backlog_failures_and_dead_letters(app, runner, make_member, make_thread):
    member = make_member()
    make_thread(author=member)
    with app.test_request_context():
        outbox.enqueue("bogus", {}, member=db.session.get(Member, member.id))
        db.session.commit()
    out = runner.invoke(args=["crm", "status"]).output
    assert "Connectors: builtin" in out and "Backlog: 2 pending" in out and "Oldest pending" in out
    drain(app)
    out = runner.invoke(args=["crm", "status"]).output
    assert (
        "Backlog: 0 pending" in out and "Dead letters: 1" in out and "unknown kind 'bogus'" in out
    )
    replay = runner.invoke(args=["crm", "replay", "--dead"])
    assert "Re-queued 1 dead letter(s)." in replay.output
    assert "Backlog: 1 pending" in runner.invoke(args=["crm", "status"]).output
    assert runner.invoke(args=["crm", "replay"]).exit_code != 0  # says what to replay


def test_a_misconfigured_connector_is_reported_not_fatal(app, runner):
    app.config["CRM"] = "builtin,webhook"
    out = runner.invoke(args=["crm", "status"]).output
    assert "webhook: NOT USABLE" in out and "PARLEY_CRM_WEBHOOK_URL" in out


def test_sync_full_re_pushes_every_linked_members_figures(app, runner, admin, make_member):
    members = [make_member(email=f"c{n}@acme.example") for n in range(3)]
    with app.test_request_context():
        boss = db.session.get(Member, admin.id)
        for n in range(3):
            services.save_contact({"email": f"c{n}@acme.example"}, by=boss)
    result = runner.invoke(args=["crm", "sync", "--full"])
    assert result.exit_code == 0 and "Queued 3 profile(s)" in result.output
    with app.app_context():
        contact_rows = list(
            db.session.scalars(select(OutboxItem).where(OutboxItem.kind == "contact"))
        )
        assert {r.member_id for r in contact_rows} == {m.id for m in members}
        assert {"deflected_cases", "social_value", "engagement_level"} <= set(
            contact_rows[0].payload["data"]
        )


def test_worker_until_empty_and_pull(app, runner, make_thread):
    make_thread()
    result = runner.invoke(args=["crm", "worker", "--until-empty"])
    assert result.exit_code == 0 and "delivered 1" in result.output
    assert (
        "builtin: 0 member(s) updated, 0 case(s) changed"
        in runner.invoke(args=["crm", "pull"]).output
    )


def test_the_in_process_worker_picks_new_rows_up_within_seconds(app, make_thread):
    app.config.update(BACKGROUND_IN_PROCESS=True, CRM_POLL_SECONDS=0.1, CRM_PULL_SECONDS=0)
    thread = background.start_in_process(app)
    try:
        assert background.start_in_process(app) is thread  # once per app
        make_thread(title="Picked up by the app's own worker")
        deadline = time.monotonic() + 10
        with app.app_context():
            while time.monotonic() < deadline:
                if db.session.scalar(select(func.count()).select_from(Activity)):
                    break
                db.session.remove()
                time.sleep(0.1)
            assert db.session.scalar(select(Activity.title)) == "Picked up by the app's own worker"
    finally:
        background.stop_all(app)


def test_stopping_an_app_ends_its_threads_and_writes_what_waits(app, client, make_thread):
    """A server or test ending an app leaves no delivery or view-counting thread
    behind to fail against a database that is gone, and loses no counted view."""
    thread = make_thread()
    app.config.update(BACKGROUND_IN_PROCESS=True, CRM_POLL_SECONDS=0.1, CRM_PULL_SECONDS=0)
    counter = app.extensions["parley_views"]
    counter.every, counter.seconds = 1000, 60.0  # views wait for the timer
    assert client.get(f"/t/{thread.id}").status_code == 200  # the first request starts both
    running = [background.start_in_process(app), counter.timer]
    assert all(t is not None and t.is_alive() for t in running)

    background.stop_all(app)

    assert not any(t.is_alive() for t in running)
    with app.app_context():
        assert db.session.get(Thread, thread.id).view_count == 1
