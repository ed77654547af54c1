"""`flask --app wsgi crm ...`: status, replay, sync, worker, pull."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from community.cli import run_worker
from community.models import utcnow

from . import outbox, services, worker

crm = AppGroup("crm", help="CRM bridge: the outbox, its worker and syncs.")


@crm.command("status")
def status_command():
    """Backlog, oldest pending row, failures by error and dead letters."""
    report = outbox.status(dead_limit=20)
    click.echo(f"Connectors: {', '.join(report.connectors) or 'none (PARLEY_CRM is off)'}")
    for name, error in report.broken.items():
        click.echo(f"  {name}: NOT USABLE - {error}")
    backlog = sum(report.backlog.values())
    by_connector = ", ".join(f"{k}: {v}" for k, v in sorted(report.backlog.items()))
    click.echo(f"Backlog: {backlog} pending" + (f" ({by_connector})" if by_connector else ""))
    if report.oldest_pending:
        age = (utcnow() - report.oldest_pending).total_seconds()
        click.echo(
            f"Oldest pending: {report.oldest_pending:%Y-%m-%d %H:%M:%S} UTC ({age:.0f} s ago)"
        )
    click.echo(f"Delivered in the last 24 hours: {report.delivered_24h}")
    if report.failing:
        click.echo("Failing (will retry), by last error:")
        for error, count in report.failing:
            click.echo(f"  {count:6d}  {error[:100]}")
    click.echo(f"Dead letters: {report.dead}")
    for error, count in report.dead_by_error:
        click.echo(f"  {count:6d}  {error[:100]}")
    for item in report.dead_letters:
        click.echo(
            f"  #{item.id} {item.connector} {item.kind} {item.contact_key} "
            f"after {item.attempts} attempt(s): {(item.last_error or '')[:80]}"
        )


@crm.command("replay")
@click.option("--dead", is_flag=True, help="Re-queue every dead letter.")
@click.option("--id", "ids", type=int, multiple=True, help="Re-queue these dead letters only.")
def replay_command(dead, ids):
    """Re-queue dead letters for delivery."""
    if not dead and not ids:
        raise click.UsageError("Say what to replay: --dead (all dead letters) or --id N.")
    count = outbox.replay_dead(list(ids) if ids else None)
    click.echo(f"Re-queued {count} dead letter(s).")


@crm.command("sync")
@click.option("--full", is_flag=True, required=True, help="Every linked member's profile.")
def sync_command(full):
    """Re-push every linked member's community figures to the CRMs."""
    total = services.sync_count()
    with click.progressbar(length=total, label="Queueing profiles") as bar:
        for _ in services.sync_full():
            bar.update(1)
    click.echo(f"Queued {total} profile(s); the worker delivers them.")


@crm.command("pull")
def pull_command():
    """Fetch customer attributes and case statuses from the CRMs now."""
    for name, (members, cases) in services.pull().items():
        click.echo(f"{name}: {members} member(s) updated, {cases} case(s) changed")


@crm.command("worker")
@click.option("--until-empty", is_flag=True, help="Stop once nothing is pending.")
def worker_command(until_empty):
    """Deliver the outbox and pull from the CRMs until stopped (Ctrl-C / SIGTERM
    finish the current batch); the same as `flask worker --job crm-delivery --job
    crm-pull [--until-idle]`."""
    click.echo(f"CRM worker delivering to: {', '.join(outbox.enabled()) or 'nothing'}")
    run_worker(current_app._get_current_object(), worker.JOBS, until_idle=until_empty)


def register(app: Flask) -> None:
    app.cli.add_command(crm)
    worker.add_jobs(app)
