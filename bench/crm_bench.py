"""CRM bench: how fast the outbox drains into the built-in connector.

    .venv/bin/python bench/crm_bench.py            # 20,000 events for 2,000 linked members
    .venv/bin/python bench/crm_bench.py --smoke    # a few seconds; run by the test suite

Seeds a throwaway instance with linked members and an outbox backlog (activities,
with one contact update in ten, as a busy community writes them), then drains it
with the worker's own delivery passes and reports events per second. It also
counts the statements the outbox adds to a causing transaction (giving kudos).
Figures are printed and, with --write, recorded in bench/README.md. Nothing is
asserted on timings: machines are shared and noisy.
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import event, func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # _common, also when a test loads this file by path

import _common as common  # noqa: E402

from community import services  # noqa: E402
from community.app import create_app  # noqa: E402
from community.extensions import db  # noqa: E402
from community.models import Member, Post, utcnow  # noqa: E402
from crm_bridge import outbox  # noqa: E402
from crm_bridge.models import Activity, Contact, MemberLink, OutboxItem  # noqa: E402


def seed(app, members: int, events: int) -> None:
    rng = random.Random(3)
    now = utcnow()
    with app.test_request_context():
        first = services.register_member("owner@bench.example", "Bench Owner", "bench password 1")
        password_hash = first.password_hash
        db.session.execute(insert(Member), [
            {"email": f"m{i}@bench.example", "email_key": f"m{i}@bench.example",
             "handle": f"bench-{i}", "display_name": f"Bench Member {i}",
             "password_hash": password_hash, "bio": "", "session_epoch": 0, "created_at": now,
             "customer_fields": {}}
            for i in range(members)
        ])  # fmt: skip
        ids = list(
            db.session.scalars(select(Member.id).where(Member.email.like("m%@bench.example")))
        )
        db.session.execute(insert(Contact), [
            {"email": f"m{i}@bench.example", "email_key": f"m{i}@bench.example", "name": "",
             "custom_fields": {}, "external_ids": {}, "community": {}, "created_at": now,
             "updated_at": now}
            for i in range(members)
        ])  # fmt: skip
        contacts = dict(db.session.execute(select(Contact.email_key, Contact.id)).all())
        db.session.execute(insert(MemberLink), [
            {"member_id": member_id, "contact_id": contacts[f"m{i}@bench.example"],
             "method": "email", "linked_at": now}
            for i, member_id in enumerate(ids)
        ])  # fmt: skip
        rows = []
        for n in range(events):
            i = rng.randrange(members)
            member_id = ids[i]
            contact_update = n % 10 == 0
            rows.append({
                "event_id": str(uuid.uuid4()), "connector": "builtin",
                "kind": "contact" if contact_update else "activity",
                "contact_key": f"m:{member_id}", "member_id": member_id,
                "email": f"m{i}@bench.example",
                "payload": {"account": None, "data": {"reputation": n, "rank": "Bench"}
                            if contact_update else {"type": "answer_posted", "title": f"Answer {n}",
                                                    "url": f"https://bench.example/t/{n}"}},
                "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
            })  # fmt: skip
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(OutboxItem), rows[start : start + 5000])
        db.session.commit()


def drain(app) -> tuple[float, int, int]:
    with app.app_context():
        deliverer = outbox.Deliverer("bench")
        started = time.perf_counter()
        while deliverer.deliver_due().handled:
            pass
        elapsed = time.perf_counter() - started
        deliverer.close()
        delivered = db.session.scalar(select(func.count()).where(OutboxItem.status == "delivered"))
        recorded = db.session.scalar(select(func.count()).select_from(Activity))
        return elapsed, delivered, recorded


def statements_added(app) -> int:
    """Statements the outbox adds to giving kudos (with the bridge on vs off)."""

    def kudos_statements(crm: str) -> int:
        app.config["CRM"] = crm
        with app.test_request_context():
            n = db.session.scalar(select(func.count()).select_from(Member))
            author = services.register_member(f"a{n}@k.example", f"Author {n}", "bench password 1")
            giver = services.register_member(f"g{n}@k.example", f"Giver {n}", "bench password 1")
            space = services.create_space(
                first_admin(), name=f"S{n}", slug=f"s-{n}", description=""
            )
            thread = services.create_thread(space, author, "question", "How does it go?", "Body.")
            post = services.reply(thread, giver, "Like this.")
            post = db.session.get(Post, post.id)
            seen, committed = [], []

            def count(*_args):
                if not committed:
                    seen.append(1)

            def commit(*_args):
                committed.append(1)

            # Up to the causing transaction's commit: after-commit receivers (the
            # bridge queues reputation's change there) run in their own transactions.
            event.listen(db.engine, "before_cursor_execute", count)
            event.listen(db.engine, "commit", commit)
            try:
                services.give_kudos(post, author)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
                event.remove(db.engine, "commit", commit)
            return len(seen)

    def first_admin():
        owner = db.session.scalar(select(Member).where(Member.email == "owner@bench.example"))
        if not owner.is_admin:
            services.grant_roles(owner, ["admin"])
        return owner

    off = kudos_statements("none")
    on = kudos_statements("builtin")
    app.config["CRM"] = "builtin"
    return on - off


def run(members: int, events: int) -> dict:
    with common.instance_folder():
        app = create_app({
            "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False, "CRM": "builtin",
            "BACKGROUND_IN_PROCESS": False, "CRM_BATCH_SIZE": 2000,
            "PASSWORD_HASH_MEMORY_KIB": 8192, "PASSWORD_HASH_TIME_COST": 1,
        })  # fmt: skip
        with app.app_context():
            common.migrate()
        seed(app, members, events)
        elapsed, delivered, recorded = drain(app)
        with app.app_context():
            added = statements_added(app)
            common.shut_down(app)
    return {
        "events": events,
        "members": members,
        "seconds": elapsed,
        "rate": events / elapsed if elapsed else 0.0,
        "delivered": delivered,
        "recorded": recorded,
        "added_statements": added,
    }


def report(figures: dict) -> str:
    return (
        f"| events in the outbox | members | drained in | events/s | CRM records written "
        f"| statements added to a causing transaction |\n"
        f"| ---: | ---: | ---: | ---: | ---: | ---: |\n"
        f"| {figures['events']:,} | {figures['members']:,} | {figures['seconds']:.1f} s "
        f"| {figures['rate']:,.0f} | {figures['recorded']:,} | {figures['added_statements']} |"
    )


def main(argv=None) -> int:
    args = common.bench_parser(__doc__).parse_args(argv)
    figures = run(members=50, events=500) if args.smoke else run(members=2_000, events=20_000)
    print(report(figures))
    ok = figures["delivered"] == figures["events"] and figures["added_statements"] <= 1
    print(
        "Every event delivered; the outbox adds at most one statement to its cause."
        if ok
        else "NOT every event was delivered, or the outbox costs more than one statement."
    )
    if args.write and not args.smoke:
        record(figures)
    return 0 if ok else 1


def record(figures: dict) -> None:
    common.record_section(
        "crm-bench",
        f"## CRM outbox: 20,000 events into the built-in connector\n\n"
        f"`.venv/bin/python bench/crm_bench.py --write` on {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}, SQLite (WAL), one worker (the delivery passes of "
        f"`flask crm worker`, 2,000 rows claimed per pass, `PARLEY_CRM_BATCH_SIZE=2000`). "
        f"One event in ten is a contact update; updates to the same contact within a "
        f"pass are coalesced, so fewer CRM "
        f"records than events are written. Each connector call gets at most the connector's "
        f"batch_size deliveries (the Salesforce connector declares 200, its composite limit)."
        f"\n\n{report(figures)}\n\n"
        f"Targets: at least 2,000 events/s; at most one statement added to the causing "
        f"transaction.",
    )


if __name__ == "__main__":
    sys.exit(main())
