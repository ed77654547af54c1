"""Many members acting at the same moment: each call runs in its own thread with
its own app context, session and connection, all released together."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from community.extensions import db
from community.models import Member

WORKERS = 16


def bulk_members(app, n: int, prefix: str) -> list[int]:
    """Members inserted directly: the password hash is never checked here."""
    with app.app_context():
        members = [
            Member(
                email=f"{prefix}{i}@crowd.example",
                email_key=f"{prefix}{i}@crowd.example",
                handle=f"{prefix}-{i}",
                display_name=f"Crowd {i}",
                password_hash="!",
                bio="",
                session_epoch=0,
            )
            for i in range(n)
        ]
        db.session.add_all(members)
        db.session.commit()
        return [m.id for m in members]


def all_at_once(app, calls) -> None:
    """Run (service, Model, object id, member id) calls at once: each does
    ``service(the object, the member)``; none may raise."""
    go = threading.Event()
    errors: list[BaseException] = []

    def one(fn, model, object_id, member_id):
        go.wait()
        try:
            with app.test_request_context():
                fn(db.session.get(model, object_id), db.session.get(Member, member_id))
        except BaseException as error:
            errors.append(error)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(one, *call) for call in calls]
        time.sleep(0.05)
        go.set()
        for future in futures:
            future.result(timeout=120)
    assert errors == [], [repr(e) for e in errors[:3]]
