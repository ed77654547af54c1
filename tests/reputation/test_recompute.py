"""Totals are the sum of the ledger: recompute fixes drift, and after any
sequence of actions and reversals it finds nothing to fix."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from community import events
from community import services as community
from community.extensions import db
from community.models import Kudos, Post, Thread
from reputation import services
from reputation.models import Entry, Score

from .conftest import attached, moderate, total


def test_recompute_command_fixes_and_reports_drift(
    runner, app, make_thread, make_reply, make_member
):
    with app.test_request_context():
        author, giver = make_member("Pat"), make_member("Gil")
        post = attached(make_reply(make_thread(kind="discussion", title="Drift"), author))
        community.give_kudos(post, attached(giver))
        db.session.execute(update(Score).where(Score.member_id == author.id).values(points=999))
        db.session.add(Score(member_id=giver.id, points=3))
        db.session.commit()
        author_id, giver_id = author.id, giver.id
    result = runner.invoke(args=["reputation", "recompute"])
    assert result.exit_code == 0, result.output
    assert f"member {author_id}: stored 999, ledger 5" in result.output
    assert f"member {giver_id}: stored 3, ledger 0" in result.output
    assert "2 total(s) had drifted; fixed." in result.output
    again = runner.invoke(args=["reputation", "recompute"])
    assert "All totals match the ledger." in again.output
    with app.test_request_context():
        assert services.points_of([author_id, giver_id]) == {author_id: 5, giver_id: 0}


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["kudos", "withdraw", "accept", "unaccept", "hide", "restore"]),
        st.integers(0, 3),  # which member acts
        st.integers(0, 5),  # which reply
    ),
    max_size=25,
)


def _expected(members, replies, threads) -> dict[int, int]:
    """What the ledger should hold, from the community's state alone."""
    expected = {m.id: 0 for m in members}
    for post in replies:
        db.session.refresh(post)
        thread = db.session.get(Thread, post.thread_id)
        visible = not post.is_hidden
        if visible and post.number == 1 and post.author_id != thread.author_id:
            expected[post.author_id] += 2
        if visible:
            kudos = db.session.scalar(select(func.count(Kudos.id)).where(Kudos.post_id == post.id))
            expected[post.author_id] += 5 * kudos
    for thread in threads:
        db.session.refresh(thread)
        if thread.accepted_post_id:
            answer = db.session.get(Post, thread.accepted_post_id)
            if answer.author_id != thread.author_id:
                expected[thread.author_id] += 2
                if not answer.is_hidden:
                    expected[answer.author_id] += 15
    return expected


@pytest.fixture
def cast(app, ctx, make_member, make_thread, make_reply):
    """Four members, two questions and six replies, made once per test: every
    example acts on what the examples before it left (the model of what the
    ledger should hold reads the current state, so it holds across examples)."""
    app.config["SEARCH_SYNC_UPDATES"] = False  # no index writes: speed
    members = [attached(make_member()) for _ in range(4)]
    moderator = attached(make_member(roles=["moderator"]))
    threads = [attached(make_thread(author=members[i])) for i in range(2)]
    replies = [
        attached(make_reply(threads[i % 2], members[(i + 1) % 4], f"Reply {i}")) for i in range(6)
    ]
    return members, moderator, threads, replies


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=ACTIONS)
def test_incremental_totals_equal_recompute(cast, actions):
    members, moderator, threads, replies = cast
    for action, who, which in actions:
        member, post = members[who], replies[which]
        thread = db.session.get(Thread, post.thread_id)
        asker = db.session.get(type(member), thread.author_id)
        if action == "kudos" and member.id != post.author_id and not post.is_hidden:
            community.give_kudos(post, member)
        elif action == "withdraw" and not post.is_hidden:
            community.withdraw_kudos(post, member)
        elif action == "accept" and not post.is_hidden:
            community.accept_answer(post, asker)
        elif action == "unaccept":  # a moderator, who still sees a hidden answer
            community.unaccept_answer(post, moderator if post.is_hidden else asker)
        elif action == "hide" and not post.is_hidden:
            post.is_hidden = True
            moderate(events.post_hidden, post, thread=thread, by=moderator, reason="test")
        elif action == "restore" and post.is_hidden:
            post.is_hidden = False
            moderate(events.post_restored, post, thread=thread, by=moderator)
    expected = _expected(members, replies, threads)
    assert {m.id: total(m) for m in members} == expected
    ledger = dict(
        db.session.execute(
            select(Entry.member_id, func.sum(Entry.points)).group_by(Entry.member_id)
        ).all()
    )
    assert {m.id: ledger.get(m.id, 0) for m in members} == expected
    assert services.recompute(chunk=3) == []


def test_week_and_month_totals_start_again_and_recompute_follows_dates(
    ctx, make_thread, make_reply, make_member
):
    from datetime import timedelta

    from community.models import utcnow

    author, one, two = make_member("Pat"), make_member("One"), make_member("Two")
    thread = make_thread(kind="discussion", title="Periods")
    first, second = (attached(make_reply(thread, author, f"Reply {n}")) for n in range(2))
    community.give_kudos(first, attached(one))
    # An earlier week: the stored week is stale, so the next award starts it again.
    db.session.execute(update(Score).values(week="2000-01-03", week_points=40))
    db.session.commit()
    community.give_kudos(second, attached(two))
    score = db.session.get(Score, author.id)
    db.session.refresh(score)
    assert (score.points, score.week_points, score.month_points) == (10, 5, 10)
    # Rows dated last year leave this week's and month's totals at recompute.
    db.session.execute(update(Entry).values(created_at=utcnow() - timedelta(days=400)))
    db.session.commit()
    drifts = services.recompute()
    assert [d.member_id for d in drifts] == [author.id]
    db.session.refresh(score)
    assert (score.points, score.week_points, score.month_points) == (10, 0, 0)
    board = services.leaderboard(author, "month")
    assert [s.member.id for s in board] == []
    assert [s.member.id for s in services.leaderboard(author, "all")] == [author.id]
