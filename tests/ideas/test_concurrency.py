"""Votes stay exact when many members vote at the same moment (SQLite in WAL mode
with a busy timeout; each thread has its own app context, session and connection)."""

from __future__ import annotations

import math
import time

from sqlalchemy import func, select

from community.extensions import db
from ideas import services
from ideas.models import Idea, Vote
from tests.concurrency import all_at_once, bulk_members


def stored(app, idea_id):
    with app.app_context():
        idea = db.session.get(Idea, idea_id)
        votes = list(
            db.session.scalars(
                select(Vote).where(Vote.idea_id == idea_id, Vote.voided_at.is_(None))
            )
        )
        return idea.vote_count, idea.trending_score, votes


def test_200_members_voting_at_once_give_exactly_200_votes(app, make_idea):
    idea = make_idea(title="Microsoft Teams notifications")
    crowd = bulk_members(app, 200, "crowd")
    started = time.monotonic()
    all_at_once(app, [(services.vote, Idea, idea.id, member_id) for member_id in crowd])
    assert time.monotonic() - started < 60
    count, score, votes = stored(app, idea.id)
    assert count == 201  # the crowd and the author
    assert len(votes) == 201
    assert {v.member_id for v in votes} >= set(crowd)
    assert math.isclose(score, math.fsum(v.weight for v in votes), rel_tol=1e-9)
    with app.app_context():
        assert services.check_counts(fix=False) == []
        assert db.session.scalar(select(func.count(Vote.id))) == 201


def test_one_member_voting_from_many_tabs_at_once_counts_once(app, make_idea, make_member):
    idea = make_idea()
    member = make_member("Eager Voter")
    all_at_once(app, [(services.vote, Idea, idea.id, member.id)] * 40)
    count, _score, votes = stored(app, idea.id)
    assert count == 2
    assert sorted(v.member_id for v in votes) == sorted([idea.author_id, member.id])
    with app.app_context():
        assert services.check_counts(fix=False) == []


def test_votes_and_withdrawals_at_once_stay_exact(app, make_idea):
    idea = make_idea()
    leaving = bulk_members(app, 60, "leaving")
    arriving = bulk_members(app, 60, "arriving")
    all_at_once(app, [(services.vote, Idea, idea.id, m) for m in leaving])
    assert stored(app, idea.id)[0] == 61
    calls = [(services.unvote, Idea, idea.id, m) for m in leaving]
    calls += [(services.vote, Idea, idea.id, m) for m in arriving]
    calls = [c for pair in zip(calls[:60], calls[60:], strict=True) for c in pair]
    all_at_once(app, calls)
    count, _score, votes = stored(app, idea.id)
    assert count == len(votes) == 61
    assert {v.member_id for v in votes} == {idea.author_id, *arriving}
    with app.app_context():
        assert services.check_counts(fix=False) == []
