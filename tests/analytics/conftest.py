"""A small community with known activity in November 2026, for exact figures.

    billing (public)   q1 asker (enterprise) 11-10 09:00, first reply by helper +2h, accepted
                       q2 buyer (smb)        11-11 09:00, first reply by agent (staff) +4h
                       q3 asker              11-12 09:00, no reply
                       a discussion by helper 11-12 (not a question)
                       q0 asker 11-01 (before the period)
    board (private)    q4 asker 11-11 09:00, first reply by insider +1h, accepted
    deflections        q1 by buyer 11-10, q1 by a visitor 11-11, q4 by asker 11-12
    cases              buyer 11-11 (no thread)
    kudos              newbie (joined 11-11) on helper's answer, 11-11
Everyone else joined on 2026-11-01.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from community import help, services
from community.extensions import db
from community.models import Kudos, Member, Post, Thread

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
PERIOD = {"from": "2026-11-10", "to": "2026-11-12"}


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour)


@pytest.fixture
def world(app, admin, make_member, make_space):
    agent = make_member("Sam Support", roles=["support_agent"])
    asker = make_member("Ann Asker")
    buyer = make_member("Bob Buyer")
    helper = make_member("Hal Helper")
    insider = make_member("Ivy Insider")
    newbie = make_member("Ned Newbie")
    billing = make_space("billing")
    board = make_space("board", visibility="private")
    with app.test_request_context():
        get = lambda m: db.session.get(type(m), m.id)  # noqa: E731
        a, b, h, i, n, s = map(get, (asker, buyer, helper, insider, newbie, agent))
        ad = get(admin)
        pub, priv = get(billing), get(board)
        services.add_space_member(priv, i, ad)
        services.add_space_member(priv, a, ad)

        def question(space, author, day, title):
            thread = services.create_thread(space, author, "question", title, "Details.", [])
            db.session.execute(
                update(Thread).where(Thread.id == thread.id).values(created_at=at(day))
            )
            db.session.execute(
                update(Post).where(Post.thread_id == thread.id).values(created_at=at(day))
            )
            return thread

        def answer(thread, author, hours):
            post = services.reply(thread, author, "Try this.")
            when = thread.created_at + timedelta(hours=hours)
            db.session.execute(update(Post).where(Post.id == post.id).values(created_at=when))
            return post

        q0 = question(pub, a, 1, "Old question")
        q1 = question(pub, a, 10, "Invoices in euros")
        q2 = question(pub, b, 11, "VAT numbers")
        q3 = question(pub, a, 12, "Refunds")
        q4 = question(priv, a, 11, "Roadmap secrets")
        talk = services.create_thread(pub, h, "discussion", "Tips and tricks", "Share.", [])
        db.session.execute(update(Thread).where(Thread.id == talk.id).values(created_at=at(12)))
        db.session.commit()
        for q in (q1, q2, q3, q4):
            db.session.refresh(q)
        r1 = answer(q1, h, 2)
        answer(q2, s, 4)
        r4 = answer(q4, i, 1)
        db.session.commit()
        services.accept_answer(db.session.get(Post, r1.id), a)
        services.accept_answer(db.session.get(Post, r4.id), ad)
        services.give_kudos(db.session.get(Post, r1.id), n)
        db.session.execute(update(Kudos).values(created_at=at(11)))

        def deflect(thread, day, by=None, who="v1"):
            result = help.confirm_solution(
                thread.id, "q", by=by, visitor_key=f"m:{by.id}" if by else f"s:{who}",
                user_agent=BROWSER, scripted=True, at=at(day),
            )  # fmt: skip
            assert result.counted, result.reason

        deflect(q1, 10, by=b)
        deflect(q1, 11)
        deflect(q4, 12, by=a)
        help.open_case("Still broken", "x", b.email, by=b, visitor_key=f"m:{b.id}", at=at(11))
        db.session.execute(update(Member).values(created_at=at(1)))
        db.session.execute(update(Member).where(Member.id == n.id).values(created_at=at(11)))
        db.session.execute(update(Member).where(Member.id == a.id).values(segment="enterprise"))
        db.session.execute(update(Member).where(Member.id == b.id).values(segment="smb"))
        db.session.commit()
        ids = SimpleNamespace(q0=q0.id, q1=q1.id, q2=q2.id, q3=q3.id, q4=q4.id, talk=talk.id)
    return SimpleNamespace(
        admin=admin, agent=agent, asker=asker, buyer=buyer, helper=helper, insider=insider,
        newbie=newbie, billing=billing, board=board, ids=ids,
    )  # fmt: skip


@pytest.fixture
def panel(client, token_for):
    """GET /api/v1/analytics/<name> as a member; returns the response."""
    tokens: dict = {}

    def get(name, member, **params):
        if member.id not in tokens:
            tokens[member.id] = token_for(member)
        query = {**PERIOD, **params}
        return client.get(
            f"/api/v1/analytics/{name}", query_string=query, headers=tokens[member.id]
        )

    return get
