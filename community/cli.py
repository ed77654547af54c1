"""Command line: `flask --app wsgi members create`, `flask --app wsgi demo-data`,
`flask --app wsgi search reindex`, `flask --app wsgi worker`.

Commands parse arguments and call services; `flask db upgrade` comes from Flask-Migrate.
"""

from __future__ import annotations

import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from . import background, demo, mail, search, services
from .errors import DomainError
from .extensions import db
from .models import ROLES, Member

members = AppGroup("members", help="Manage members.")


@members.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Display name.")
@click.option("--password", required=True, help="At least 10 characters.")
@click.option(
    "--role", "roles", multiple=True, type=click.Choice([r for r in ROLES if r != "member"])
)
def create_member(email, name, password, roles):
    """Create a member, optionally with roles (repeat --role)."""
    try:
        member = services.register_member(email, name, password)
        if roles:
            services.grant_roles(member, roles)
    except DomainError as error:
        details = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
        raise click.ClickException(f"{error.message} {details}".strip()) from None
    click.echo(f"Created member {member.id} <{member.email}> @{member.handle} roles: "
               f"{', '.join(sorted(member.roles))}")  # fmt: skip


@members.command("roles")
@click.argument("email")
@click.argument("roles", nargs=-1, type=click.Choice([r for r in ROLES if r != "member"]))
def set_member_roles(email, roles):
    """Replace a member's roles (none given: plain member)."""
    member = services.find_member_by_email(email)
    if member is None:
        raise click.ClickException(f"No member with e-mail {email}.")
    services.grant_roles(member, roles)
    click.echo(f"{member.email}: {', '.join(sorted(member.roles))}")


@click.command("demo-data")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only when there are no members yet.")
def demo_data(if_empty):
    """Load a believable demo community (members, spaces, threads, answers, kudos)."""
    if if_empty and db.session.scalar(select(func.count(Member.id))):
        click.echo("The database already has members; demo data not loaded.")
        return
    if services.find_member_by_email(demo.ADMIN_EMAIL) is not None:
        raise click.ClickException("Demo data is already loaded.")
    app = current_app._get_current_object()
    # Services build links (mentions), which needs a request context.
    with app.test_request_context("/"):
        demo.seed(app, echo=click.echo)


mail_group = AppGroup("mail", help="Deliver the e-mail outbox.")


@mail_group.command("send")
def mail_send():
    """Send pending e-mail now (SMTP when PARLEY_SMTP_HOST is set, else files in
    instance/mail); `flask worker --job mail` keeps sending."""
    click.echo(f"{mail.deliver_pending()}, pending {mail.pending_count()}")


search_index = AppGroup("search", help="The search index.")


@search_index.command("reindex")
@click.option(
    "--wait", default=600.0, show_default=True, help="Seconds to wait for the index lock."
)
@click.option(
    "--procs", type=click.IntRange(1, 16), help="Worker processes (default: cores, up to 4)."
)
def search_reindex(wait, procs):
    """Rebuild the search index from the database."""
    total = search.total_documents()
    try:
        with click.progressbar(length=total, label="Indexing", file=None) as bar:
            count = search.reindex(
                progress=bar.update, timeout=wait, procs=procs or search.default_procs()
            )
    except search.IndexUnavailable as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Indexed {count} documents into {current_app.config['SEARCH_INDEX_DIR']}.")


@search_index.command("drain")
@click.option("--wait", default=60.0, show_default=True, help="Seconds to wait for the index lock.")
def search_drain(wait):
    """Apply the queued index updates now."""
    applied = search.drain(timeout=wait)
    click.echo(f"Applied {applied} queued updates; {search.pending()} waiting.")


@click.command("worker")
@with_appcontext
@click.option("--job", "names", multiple=True, help="Run only this job (repeatable).")
@click.option("--once", is_flag=True, help="Run each job once now, then stop.")
@click.option("--status", is_flag=True, help="Show each job's last and next run, then stop.")
@click.option("--until-idle", is_flag=True, help="Stop once nothing is left to do.")
def worker_command(names, once, status, until_idle):
    """Run the background jobs (mail, CRM delivery, index updates, scheduled upkeep)
    until stopped; Ctrl-C or SIGTERM let the current job finish. Run several on
    PostgreSQL: each scheduled job still runs once per period."""
    app = current_app._get_current_object()
    known = {job.name for job in background.jobs(app)}
    unknown = sorted(set(names) - known)
    if unknown:
        raise click.UsageError(
            f"No job named {', '.join(unknown)}; the jobs are: {', '.join(sorted(known))}."
        )
    selected = set(names) or None
    if status:
        for job, row in background.schedule(app):
            every = job.seconds(app.config)
            when = "off" if every <= 0 else f"every {every:g} s"
            if job.shared:
                when += ", in every worker"
            last = row.last_finished_at if row is not None else None
            line = f"{job.name:26} {when:32} last run: {last or 'never'}"
            if row is not None and row.last_error:
                line += f"  FAILED: {row.last_error[:80]}"
            click.echo(line)
        return
    if once:
        for name, did in background.run_once(app, selected).items():
            click.echo(f"{name}: " + ("another worker has it" if did is None else f"did {did}"))
        return
    click.echo(f"Worker running: {', '.join(sorted(selected or known))}")
    run_worker(app, selected, until_idle=until_idle)


def run_worker(app: Flask, names: set[str] | None, *, until_idle: bool = False) -> None:
    """Run jobs in this process, saying what each round did; Ctrl-C or SIGTERM let
    the current job finish."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def report(outcomes: dict) -> None:
        for name, outcome in outcomes.items():
            if int(outcome):
                click.echo(f"{name}: {background.describe(outcome)}")

    background.run(app, stop, names, until_idle=until_idle, on_round=report)


def register(app: Flask) -> None:
    app.cli.add_command(members)
    app.cli.add_command(demo_data)
    app.cli.add_command(mail_group)
    app.cli.add_command(search_index)
    app.cli.add_command(worker_command)
    background.add_job(
        app,
        background.Job(
            "mail",
            "MAIL_SEND_SECONDS",
            lambda _state: mail.deliver_pending(),
            description="send e-mail",
            waiting=mail.pending_count,
        ),
    )
    background.add_job(
        app,
        background.Job(
            "search-index",
            "SEARCH_DRAIN_SECONDS",
            lambda _state: search.drain(timeout=0) if search.pending() else 0,
            description="apply queued search-index updates",
            waiting=search.pending,
        ),
    )
