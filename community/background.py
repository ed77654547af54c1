"""Work the site does beside its requests: delivering e-mail and the CRM outbox,
applying queued search-index updates, and scheduled upkeep (fraud checks, trust
levels, committee reminders).

Each domain adds its jobs to the app (`add_job`, from its cli.register). By
default one thread of each web process runs them (`BACKGROUND_IN_PROCESS`,
started by the first request); a large site sets it to false and runs
`flask --app wsgi worker` processes instead. Either way the same loop runs, and
several runners share the work safely:

- an ordinary job runs in one runner at a time: it is claimed through its row in
  `community_background_job` (one conditional UPDATE, atomic on SQLite and
  PostgreSQL), and its next run is scheduled there, so five processes running an
  hourly check still run it once an hour;
- a *shared* job (the CRM delivery) runs in every runner and divides the work
  itself (`FOR UPDATE SKIP LOCKED` on PostgreSQL); while it finds work it runs
  again at once.

Whatever starts threads registers how to stop them (`on_stop`), so a test, a
bench or a worker shutting down ends them before the database goes away.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask
from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db
from .models import BackgroundJob, utcnow

log = logging.getLogger(__name__)
_lock = threading.Lock()


# ---- stopping what an app started --------------------------------------------------


def on_stop(app: Flask, stop: Callable[[], None]) -> None:
    """Call ``stop`` when the app's background work is stopped (once)."""
    with _lock:
        app.extensions.setdefault("parley_background", []).append(stop)


def stop_all(app: Flask) -> None:
    """Stop every thread the app started; later starts register themselves anew."""
    with _lock:
        stoppers = app.extensions.pop("parley_background", [])
    for stop in reversed(stoppers):
        stop()


# ---- jobs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """Something to do every so often. ``run(state)`` does one pass inside an app
    context and returns how much it did: a number, or a report that ``int()`` counts
    and ``str()`` describes (a CRM delivery pass); ``state`` is the runner's own dict
    for this job (a CRM connector with its token, say), handed to ``close`` at the end.
    ``waiting()`` says how much is left to do, for runs that stop once idle."""

    name: str
    every: str  # the config key holding the seconds between runs (0 switches it off)
    run: Callable[[dict], object]
    shared: bool = False
    close: Callable[[dict], None] | None = None
    # Links in mails and notifications need a site address: PARLEY_SITE_URL.
    needs_site: bool = False
    description: str = ""
    waiting: Callable[[], int] | None = None

    def seconds(self, config) -> float:
        return float(config.get(self.every) or 0)


def describe(outcome) -> str:
    """What a job's pass did, in words: its report, or "did N"."""
    return f"did {outcome}" if isinstance(outcome, int) else str(outcome)


def add_job(app: Flask, job: Job) -> None:
    app.extensions.setdefault("parley_jobs", {})[job.name] = job


def jobs(app: Flask) -> list[Job]:
    return list(app.extensions.get("parley_jobs", {}).values())


def site_context(app: Flask):
    """A request context whose links point at the site (PARLEY_SITE_URL, or localhost),
    for work outside requests that writes links into mails and notifications."""
    return app.test_request_context(base_url=app.config.get("SITE_URL") or "http://localhost")


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:80]


def _insert_ignoring_duplicates(values: dict):
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(BackgroundJob).values(**values).on_conflict_do_nothing()


def claim(name: str, holder: str, lease: float, *, due_only: bool = True) -> bool:
    """Take the job for ``lease`` seconds if it is due and nobody holds it. Its own
    short transaction, so a claim is visible to every other runner at once."""
    now = utcnow()
    until = now + timedelta(seconds=lease)
    conditions = [
        BackgroundJob.name == name,
        or_(BackgroundJob.lease_until.is_(None), BackgroundJob.lease_until < now),
    ]
    if due_only:
        conditions.append(BackgroundJob.next_run_at <= now)
    with db.engine.begin() as connection:
        taken = connection.execute(
            update(BackgroundJob)
            .where(*conditions)
            .values(holder=holder, lease_until=until, last_started_at=now)
        ).rowcount
        if not taken:  # a job never run before: its row is made by whoever comes first
            first = {
                "name": name,
                "next_run_at": now,
                "holder": holder,
                "lease_until": until,
                "last_started_at": now,
            }
            # RETURNING says whether this runner made it (psycopg's row count does not).
            taken = connection.execute(
                _insert_ignoring_duplicates(first).returning(BackgroundJob.name)
            ).first()
    return bool(taken)


def _finish(name: str, holder: str, every: float, result: str | None, error: str | None):
    now = utcnow()
    with db.engine.begin() as connection:
        connection.execute(
            update(BackgroundJob)
            .where(BackgroundJob.name == name, BackgroundJob.holder == holder)
            .values(
                lease_until=None,
                next_run_at=now + timedelta(seconds=every),
                last_finished_at=now,
                last_result=result,
                last_error=error,
            )
        )


@dataclass
class Runner:
    """Runs an app's jobs when they are due; one per thread or worker process."""

    app: Flask
    names: set[str] | None = None  # only these jobs (None: all)
    holder: str = field(default_factory=runner_name)
    state: dict[str, dict] = field(default_factory=dict)
    next_check: dict[str, float] = field(default_factory=dict)
    # What each job that ran in the last round reported (its number, or its report).
    last_round: dict[str, object] = field(default_factory=dict)

    def selected(self) -> list[Job]:
        return [j for j in jobs(self.app) if self.names is None or j.name in self.names]

    def run_due(self) -> int:
        """One round: every job whose time has come; returns how much was done."""
        done, self.last_round = 0, {}
        for job in self.selected():
            every = job.seconds(self.app.config)
            if every <= 0 or time.monotonic() < self.next_check.get(job.name, 0):
                continue
            ran, did = self.run_job(job)
            done += did
            if job.shared and did:
                wait = 0.0  # more may be waiting: straight on
            elif ran or job.shared:
                wait = every
            else:  # someone else has it or it is not due: look again soon
                wait = min(every, float(self.app.config["BACKGROUND_POLL_SECONDS"]) * 5)
            self.next_check[job.name] = time.monotonic() + wait
        return done

    def run_job(self, job: Job, *, force: bool = False) -> tuple[bool, int]:
        """Run one job now if this runner may; (whether it ran, how much it did)."""
        config = self.app.config
        with self.app.app_context():
            if not job.shared and not claim(
                job.name, self.holder, float(config["BACKGROUND_LEASE_SECONDS"]), due_only=not force
            ):
                return False, 0
            did, result, error = 0, None, None
            site = site_context(self.app) if job.needs_site else nullcontext()
            try:
                with site:
                    outcome = job.run(self.state.setdefault(job.name, {})) or 0
                did = int(outcome)
                self.last_round[job.name] = outcome
                result = describe(outcome)[:200]
            except Exception as failure:  # one bad pass must not end the runner
                db.session.rollback()
                log.exception("background job %s failed", job.name)
                error = f"{type(failure).__name__}: {failure}"[:2000]
            finally:
                db.session.remove()
            if not job.shared:
                _finish(job.name, self.holder, job.seconds(config), result, error)
            return True, did

    def waiting(self) -> int:
        """How much the selected jobs that are on have left to do (those that can tell)."""
        on = [j for j in self.selected() if j.waiting and j.seconds(self.app.config) > 0]
        with self.app.app_context():
            try:
                return sum(job.waiting() for job in on)
            finally:
                db.session.remove()

    def close(self) -> None:
        with self.app.app_context():
            for job in self.selected():
                if job.close is not None and job.name in self.state:
                    try:
                        job.close(self.state.pop(job.name))
                    except Exception:
                        log.exception("background job %s did not close cleanly", job.name)
            db.session.remove()


def run(
    app: Flask,
    stop: threading.Event,
    names: set[str] | None = None,
    *,
    until_idle: bool = False,
    on_round: Callable[[dict[str, object]], None] | None = None,
) -> None:
    """Run the app's jobs until ``stop`` is set (a thread's or a worker's loop), or with
    ``until_idle`` until a round does nothing and nothing is left waiting; ``on_round``
    hears what each round's jobs reported."""
    runner = Runner(app, names)
    poll = float(app.config["BACKGROUND_POLL_SECONDS"])
    try:
        while not stop.is_set():
            done = runner.run_due()
            if on_round is not None and runner.last_round:
                on_round(runner.last_round)
            if done:
                continue
            if until_idle and not runner.waiting():
                return
            stop.wait(poll)
    finally:
        runner.close()


def run_once(app: Flask, names: set[str] | None = None) -> dict[str, int | None]:
    """Run each job once now, whatever its schedule (None: another runner has it)."""
    runner = Runner(app, names)
    try:
        return {
            job.name: (did if ran else None)
            for job in runner.selected()
            for ran, did in [runner.run_job(job, force=True)]
        }
    finally:
        runner.close()


def schedule(app: Flask) -> list[tuple[Job, BackgroundJob | None]]:
    """Each job with its row (last and next run, last error), for `flask worker --status`."""
    with app.app_context():
        rows = {row.name: row for row in db.session.scalars(select(BackgroundJob))}
        db.session.expunge_all()
    return [(job, rows.get(job.name)) for job in jobs(app)]


# ---- the in-process runner -------------------------------------------------------

_threads: dict[int, tuple[threading.Thread, threading.Event]] = {}


def start_in_process(app: Flask) -> threading.Thread | None:
    """Start the app's background thread once per process (the first request does;
    in a forked gunicorn worker the parent's thread is not alive, so it starts its own)."""
    if not app.config.get("BACKGROUND_IN_PROCESS") or not jobs(app):
        return None
    running = _threads.get(id(app))
    if running is not None and running[0].is_alive():
        return running[0]
    with _lock:
        running = _threads.get(id(app))
        if running is not None and running[0].is_alive():
            return running[0]
        stop = threading.Event()
        thread = threading.Thread(
            target=run, args=(app, stop), name="parley-background", daemon=True
        )
        _threads[id(app)] = (thread, stop)
        thread.start()
    on_stop(app, lambda: stop_in_process(app))
    return thread


def stop_in_process(app: Flask, timeout: float = 10.0) -> None:
    with _lock:
        running = _threads.pop(id(app), None)
    if running is not None:
        running[1].set()
        running[0].join(timeout)


def init_app(app: Flask) -> None:
    @app.before_request
    def start_background_work():
        start_in_process(app)
