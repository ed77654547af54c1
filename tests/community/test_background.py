"""Background work: jobs run on schedule by whichever runner claims them, once per
period however many runners there are; a failing job is recorded and the others go
on; `flask --app wsgi worker` runs them in a process of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from community import background, search
from community.extensions import db
from community.models import BackgroundJob, EmailOutbox, utcnow

ROOT = Path(__file__).resolve().parents[2]


def counting_job(app, name="tally", every=3600, fail=False):
    calls = []

    def run(state):
        calls.append(state)
        if fail:
            raise RuntimeError("the CRM is on fire")
        return 1

    app.config[f"{name.upper()}_SECONDS"] = every
    background.add_job(app, background.Job(name, f"{name.upper()}_SECONDS", run))
    return calls


def queue_mail(app, subject="Your question was answered") -> int:
    with app.app_context():
        row = EmailOutbox(to_address="jordan@acme.example", subject=subject, body="Have a look.")
        db.session.add(row)
        db.session.commit()
        return row.id


def mails_written(app) -> list[str]:
    folder = Path(app.instance_path) / "mail"
    return sorted(p.read_text() for p in folder.glob("*.eml")) if folder.exists() else []


def test_a_scheduled_job_runs_once_per_period_whatever_the_number_of_runners(app):
    calls = counting_job(app)
    first, second = background.Runner(app, {"tally"}), background.Runner(app, {"tally"})

    assert first.run_due() == 1
    assert second.run_due() == 0  # not due again for an hour, whoever asks
    assert len(calls) == 1

    with app.app_context():  # the hour has passed
        db.session.execute(
            update(BackgroundJob).values(next_run_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    second.next_check.clear()
    assert second.run_due() == 1
    assert first.run_due() == 0
    assert len(calls) == 2


def test_a_held_job_waits_and_a_dead_runners_hold_expires(app):
    calls = counting_job(app, every=1)
    with app.app_context():
        assert background.claim("tally", "crashed-runner", lease=3600)
    runner = background.Runner(app, {"tally"})
    assert runner.run_job(background.jobs(app)[-1], force=True) == (False, 0)
    assert calls == []

    with app.app_context():  # the crashed runner's lease runs out
        db.session.execute(
            update(BackgroundJob).values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert runner.run_job(background.jobs(app)[-1], force=True) == (True, 1)
    assert len(calls) == 1


def test_a_failing_job_is_recorded_and_the_others_still_run(app, runner):
    counting_job(app, "broken", fail=True)
    calls = counting_job(app, "tally")
    results = background.run_once(app, {"broken", "tally"})
    assert results == {"broken": 0, "tally": 1} and len(calls) == 1
    with app.app_context():
        row = db.session.get(BackgroundJob, "broken")
        assert row.last_error == "RuntimeError: the CRM is on fire"
        assert row.lease_until is None  # free for the next try
    status = runner.invoke(args=["worker", "--status"]).output
    assert "broken" in status and "FAILED: RuntimeError: the CRM is on fire" in status


def test_worker_once_sends_mail_and_applies_queued_index_updates(app, runner, make_thread):
    app.config["SEARCH_SYNC_UPDATES"] = False  # changes wait in the queue for a worker
    thread = make_thread(title="Invoices in euros for the Zurich office")
    queue_mail(app)
    with app.test_request_context():
        assert search.pending() > 0

    result = runner.invoke(args=["worker", "--once", "--job", "mail", "--job", "search-index"])

    assert result.exit_code == 0, result.output
    assert "mail: did 1" in result.output
    assert any("Subject: Your question was answered" in m for m in mails_written(app))
    with app.test_request_context():
        assert search.pending() == 0
        hits = search.query(None, "Zurich invoices").items
        assert [h.id for h in hits] == [thread.id]


def test_an_unknown_job_is_a_clear_error(runner):
    result = runner.invoke(args=["worker", "--job", "nightly-magic"])
    assert result.exit_code == 2
    assert "No job named nightly-magic" in result.output and "mail" in result.output


def test_the_web_process_runs_the_jobs_itself_by_default(app, client):
    app.config.update(BACKGROUND_IN_PROCESS=True, MAIL_SEND_SECONDS=0.2)
    queue_mail(app, "Sent by the web process")
    assert client.get("/").status_code == 200  # the first request starts the runner
    deadline = time.monotonic() + 10
    while not mails_written(app) and time.monotonic() < deadline:
        time.sleep(0.1)
    background.stop_all(app)
    assert any("Subject: Sent by the web process" in m for m in mails_written(app))


def test_a_worker_process_delivers_and_stops_cleanly_on_sigterm(app, tmp_path):
    """`flask --app wsgi worker` as an operator runs it beside web processes that
    leave background work to it."""
    queue_mail(app, "Sent by the worker process")
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PARLEY_INSTANCE": app.instance_path,
        "PARLEY_MAIL_SEND_SECONDS": "0.2",
        "PARLEY_CRM": "",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not mails_written(app) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any("Subject: Sent by the worker process" in m for m in mails_written(app))
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "Worker running:" in output and "mail" in output
    with app.app_context():
        assert db.session.scalar(select(EmailOutbox.sent_at)) is not None
