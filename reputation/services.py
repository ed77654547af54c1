"""Reputation use cases: the ledger writers, recompute, badges, fraud checks,
and the reads behind pages and the API.

Ledger writers (``award``, ``undo``, ``restore``) run inside the transaction of
the change that caused them (from recording receivers, see subscribers.py):
each adds one INSERT (one INSERT ... SELECT for reversals) and one upsert of
the cached total per member touched, and notes the member as changed. Once the
cause has committed, ``settle_changes`` checks badges and sends
``reputation_changed``. Everything else here opens and commits its own short
transaction.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import (
    DateTime,
    Integer,
    String,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from community import access, events
from community.errors import Invalid, NotFound
from community.extensions import db
from community.models import Member, Post, Space, Thread, utcnow

from . import analytics
from .models import BadgeAward, Entry, Score
from .rules import RULE_TEXT, rules

# Causes that take points away only while the content is out of sight: the
# matching *_restored event gives them back.
HIDE_CAUSES = ("post_hidden", "post_deleted", "idea_hidden")
VOTE_RULES = ("kudos_received", "idea_vote_received")
FRAUD_CAUSE = "voting_fraud_detected"
PENDING = "reputation_pending"
PERIODS = ("week", "month", "all")

ENTRY_COLUMNS = [
    "member_id", "rule", "points", "cause", "object_type", "object_id", "space_id",
    "actor_id", "created_at", "reverses_id",
]  # fmt: skip


def _upsert():
    return pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert


def _pending() -> dict[int, int]:
    return db.session.info.setdefault(PENDING, {})


def forget_pending(session, *_args) -> None:
    """A rolled-back transaction changed nobody's reputation (SQLAlchemy hook)."""
    session.info.pop(PENDING, None)


# ---- ledger writers (inside the causing transaction) ---------------------------


def period_keys(now: datetime) -> tuple[str, str]:
    """The week (its Monday) and the month a moment belongs to, UTC."""
    day = now.date()
    return (day - timedelta(days=day.weekday())).isoformat(), day.strftime("%Y-%m")


def _add_to_total(member_id: int, delta: int, now: datetime, capped: int = 0) -> None:
    """One upsert: the totals (all time, this week, this month) move by ``delta``;
    today's capped points by ``capped``. A period that has ended starts again."""
    today = now.date().isoformat()
    week, month = period_keys(now)
    statement = _upsert()(Score).values(
        member_id=member_id, points=delta, day=today, day_capped=capped, week=week,
        week_points=delta, month=month, month_points=delta, updated_at=now,
    )  # fmt: skip
    excluded = statement.excluded

    def rolling(key, column):
        return case((key == getattr(excluded, key.key), column + delta), else_=delta)

    statement = statement.on_conflict_do_update(
        index_elements=["member_id"],
        set_={
            "points": Score.points + excluded.points,
            "day_capped": case(
                (Score.day == excluded.day, Score.day_capped + excluded.day_capped),
                else_=excluded.day_capped,
            ),
            "day": excluded.day,
            "week_points": rolling(Score.week, Score.week_points),
            "week": excluded.week,
            "month_points": rolling(Score.month, Score.month_points),
            "month": excluded.month,
            "updated_at": excluded.updated_at,
        },
    )
    db.session.execute(statement)
    pending = _pending()
    pending[member_id] = pending.get(member_id, 0) + delta


def award(
    member_id: int,
    rule: str,
    *,
    cause: str,
    obj: tuple[str, int],
    space_id: int | None,
    by_id: int | None,
) -> int:
    """Add an award row for ``rule`` and its points to the member's total; returns
    the points given (fewer, or 0, once the daily cap is reached)."""
    table = rules()
    points = int(table.points.get(rule, 0))
    if points <= 0:
        return 0
    now = utcnow()
    object_type, object_id = obj
    if rule in table.capped:
        # The cap is read and applied inside the INSERT itself: one statement.
        used = (
            select(Score.day_capped)
            .where(Score.member_id == member_id, Score.day == now.date().isoformat())
            .scalar_subquery()
        )
        remaining = table.daily_cap - func.coalesce(used, 0)
        given = case((remaining >= points, points), (remaining > 0, remaining), else_=0)
        # Typed literals: PostgreSQL must know each column's type in INSERT ... SELECT.
        row = select(
            literal(member_id, Integer), literal(rule, String), given,
            literal(cause, String), literal(object_type, String), literal(object_id, Integer),
            literal(space_id, Integer), literal(by_id, Integer), literal(now, DateTime),
            literal(None, Integer),
        )  # fmt: skip
        statement = insert_entries(row).returning(Entry.points)
        points = db.session.execute(statement).scalar_one()
        if points:
            _add_to_total(member_id, points, now, capped=points)
        return points
    db.session.execute(
        db.insert(Entry).values(
            member_id=member_id, rule=rule, points=points, cause=cause,
            object_type=object_type, object_id=object_id, space_id=space_id,
            actor_id=by_id, created_at=now,
        )
    )  # fmt: skip
    _add_to_total(member_id, points, now)
    return points


def insert_entries(rows):
    return db.insert(Entry).from_select(ENTRY_COLUMNS, rows)


def _not_reversed(entry):
    later = aliased(Entry)
    return ~exists().where(later.reverses_id == entry.id)


def _reverse(select_rows: Callable, cause: str, *, restoring: bool) -> dict:
    """Add the reversal rows chosen by ``conditions`` (one INSERT ... SELECT) and
    move each touched member's total (one upsert each)."""
    now = utcnow()
    e = aliased(Entry)
    if restoring:
        points = -e.points
        target = and_(e.points < 0, e.cause.in_(HIDE_CAUSES))
    else:
        # Positive rows lose their points. A row already taken away by hiding is
        # settled with 0 points, so restoring the content will not give it back.
        points = case((e.points > 0, -e.points), else_=0)
        target = or_(e.points > 0, and_(e.points < 0, e.cause.in_(HIDE_CAUSES)))
        if cause in HIDE_CAUSES:
            target = e.points > 0
    rows = select(
        e.member_id, e.rule, points, literal(cause, String), e.object_type, e.object_id,
        e.space_id, e.actor_id, literal(now, DateTime), e.id,
    ).where(target, _not_reversed(e), *select_rows(e))  # fmt: skip
    result = db.session.execute(insert_entries(rows).returning(Entry.member_id, Entry.points))
    deltas: dict[int, int] = defaultdict(int)
    for member_id, delta in result:
        deltas[member_id] += delta
    for member_id, delta in deltas.items():
        if delta:
            _add_to_total(member_id, delta, now)
    return dict(deltas)


def undo(
    cause: str,
    *,
    obj: tuple[str, int | Iterable[int]],
    rules_: Iterable[str] | None = None,
    by_id: int | None = None,
    member_id: int | None = None,
) -> dict:
    """Reverse the live awards on an object (narrowed by rule, giver or receiver)."""
    object_type, object_ids = obj
    ids = [object_ids] if isinstance(object_ids, int) else list(object_ids)

    def conditions(e):
        found = [e.object_type == object_type, e.object_id.in_(ids)]
        if rules_ is not None:
            found.append(e.rule.in_(list(rules_)))
        if by_id is not None:
            found.append(e.actor_id == by_id)
        if member_id is not None:
            found.append(e.member_id == member_id)
        return found

    return _reverse(conditions, cause, restoring=False)


def restore(cause: str, *, obj: tuple[str, int], member_id: int) -> dict:
    """Give back what hiding or deleting the object took away."""
    object_type, object_id = obj

    def conditions(e):
        return [e.object_type == object_type, e.object_id == object_id, e.member_id == member_id]

    return _reverse(conditions, cause, restoring=True)


def move_post_entries(thread_id: int, space_id: int) -> None:
    """One UPDATE: the rows about a thread's posts take the thread's (new) space,
    so they are described only to people who may see it there."""
    posts = select(Post.id).where(Post.thread_id == thread_id)
    db.session.execute(
        update(Entry)
        .where(Entry.object_type == "post", Entry.object_id.in_(posts))
        .values(space_id=space_id)
    )


# ---- after commit: badges and events --------------------------------------------


def settle_changes() -> None:
    """After the cause committed: check badges of the members whose reputation
    changed and tell the other domains (CRM bridge) about the new totals."""
    pending = db.session.info.pop(PENDING, None)
    if not pending:
        return
    table = rules()
    totals = dict(
        db.session.execute(
            select(Score.member_id, Score.points).where(Score.member_id.in_(list(pending)))
        ).all()
    )
    for member_id, delta in pending.items():
        member = db.session.get(Member, member_id)
        if member is None:
            continue
        check_badges(member)
        if delta:
            points = totals.get(member_id, 0)
            events.reputation_changed.send(
                member, points=points, rank=table.rank_for(points), delta=delta
            )


def award_badge(member: Member, badge: str) -> bool:
    """Give a badge once (idempotent); sends badge_awarded when it is new."""
    table = rules()
    if badge not in table.badges:
        raise Invalid(f"No badge called {badge!r}.")
    statement = (
        _upsert()(BadgeAward)
        .values(member_id=member.id, badge=badge, awarded_at=utcnow())
        .on_conflict_do_nothing(index_elements=["member_id", "badge"])
        .returning(BadgeAward.id)
    )
    added = db.session.execute(statement).scalar_one_or_none()
    db.session.commit()
    if added is not None:
        events.badge_awarded.send(member, badge=badge, name=table.badges[badge][0])
    return added is not None


def revoke_badge(member: Member, badge: str) -> bool:
    gone = db.session.execute(
        delete(BadgeAward).where(BadgeAward.member_id == member.id, BadgeAward.badge == badge)
    ).rowcount
    db.session.commit()
    return bool(gone)


def check_badges(member: Member) -> list[str]:
    """Award the count badges the member has reached (kept once earned)."""
    table = rules()
    have = set(
        db.session.scalars(select(BadgeAward.badge).where(BadgeAward.member_id == member.id))
    )
    todo = {b: t for b, t in table.badge_thresholds.items() if b not in have}
    if not todo:
        return []
    measures = analytics.badge_measures(member.id, {measure for measure, _ in todo.values()})
    earned = [b for b, (measure, least) in todo.items() if measures.get(measure, 0) >= least]
    for badge in earned:
        award_badge(member, badge)
    return earned


def check_post_badges(post: Post, thread: Thread) -> None:
    """First answer (a reply to someone else's question) and the posting streak."""
    author = db.session.get(Member, post.author_id)
    if author is None:
        return
    if thread.kind == "question" and post.author_id != thread.author_id and post.number > 0:
        award_badge(author, "first_answer")
    days = rules().streak_days
    if analytics.posting_days(author.id, days) >= days:
        award_badge(author, "streak_30")


def advisory_joined(member: Member, space: Space) -> None:
    if space.kind == "advisory":
        award_badge(member, "advisory_member")


def advisory_left(member: Member, space: Space, reason: str) -> None:
    """Access ends with the membership; a completed term is honoured as alumni."""
    if space.kind != "advisory":
        return
    if (reason or "").strip().lower() == "term ended":
        award_badge(member, "advisory_alumni")
    if not analytics.advisory_space_count(member.id):
        revoke_badge(member, "advisory_member")


# ---- fraud ---------------------------------------------------------------------


def _live_votes(e):
    return [e.rule.in_(VOTE_RULES), e.reverses_id.is_(None), _not_reversed(e)]


def _reverse_fraud(conditions: Callable) -> dict:
    """Fraud reversals take every matching live vote row, capped (0-point) ones too,
    so a flagged pattern does not count towards the next check."""
    now = utcnow()
    e = aliased(Entry)
    rows = select(
        e.member_id, e.rule, -e.points, literal(FRAUD_CAUSE, String), e.object_type,
        e.object_id, e.space_id, e.actor_id, literal(now, DateTime), e.id,
    ).where(*_live_votes(e), *conditions(e))  # fmt: skip
    result = db.session.execute(insert_entries(rows).returning(Entry.member_id, Entry.points))
    deltas: dict[int, int] = defaultdict(int)
    for member_id, delta in result:
        deltas[member_id] += delta
    for member_id, delta in deltas.items():
        if delta:
            _add_to_total(member_id, delta, now)
    return dict(deltas)


def check_serial_voting(receiver_id: int, voter_id: int) -> bool:
    """Many kudos/votes from one member to another in a short window: reverse
    them all and flag the pair to moderators (voting_fraud_detected)."""
    fraud = rules().fraud
    since = utcnow() - timedelta(hours=fraud["serial_window_hours"])
    e = aliased(Entry)
    count = db.session.scalar(
        select(func.count()).where(
            *_live_votes(e),
            e.member_id == receiver_id,
            e.actor_id == voter_id,
            e.created_at >= since,
        )
    )
    if count < fraud["serial_votes"]:
        return False
    _reverse_fraud(
        lambda x: [x.member_id == receiver_id, x.actor_id == voter_id, x.created_at >= since]
    )
    db.session.commit()
    receiver = db.session.get(Member, receiver_id)
    events.voting_fraud_detected.send(
        receiver,
        voter_ids=[voter_id],
        kind="serial",
        detail=f"{count} kudos or votes from member {voter_id} within "
        f"{fraud['serial_window_hours']} hours; their points were reversed.",
    )
    settle_changes()
    return True


@dataclass
class Ring:
    member_ids: list[int]
    votes: int


def detect_rings(now: datetime | None = None) -> list[Ring]:
    """Groups of new accounts that vote only for each other: reverse the votes
    exchanged inside each group and flag it (voting_fraud_detected, kind "ring").
    Accounts with staff roles or with customer data from the CRM are known people
    and never count as throwaway accounts. Run by `flask reputation check-fraud`."""
    fraud = rules().fraud
    now = now or utcnow()
    since = now - timedelta(days=fraud["ring_window_days"])
    young_since = now - timedelta(days=fraud["ring_account_age_days"])
    e = aliased(Entry)
    edges = db.session.execute(
        select(e.actor_id, e.member_id, func.count())
        .where(*_live_votes(e), e.created_at >= since, e.actor_id.is_not(None), e.points > 0)
        .group_by(e.actor_id, e.member_id)
    ).all()
    if not edges:
        return []
    involved = {a for a, _, _ in edges} | {m for _, m, _ in edges}
    young = {
        m.id
        for m in db.session.scalars(select(Member).where(Member.id.in_(involved)))
        if m.created_at >= young_since
        and not m.is_staff
        and m.segment is None
        and m.customer_value is None
    }
    # A suspect gives only to other young accounts.
    suspects = set(young)
    changed = True
    while changed:  # giving to anyone outside the suspects clears an account
        changed = False
        for actor, member, _ in edges:
            if actor in suspects and member not in suspects:
                suspects.discard(actor)
                changed = True
    graph: dict[int, set[int]] = defaultdict(set)
    weight: dict[tuple[int, int], int] = {}
    for actor, member, n in edges:
        if actor in suspects and member in suspects:
            graph[actor].add(member)
            graph[member].add(actor)
            weight[(actor, member)] = n
    rings, seen = [], set()
    for start in list(graph):
        if start in seen:
            continue
        component, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node in component:
                continue
            component.add(node)
            stack.extend(graph[node] - component)
        seen |= component
        votes = sum(n for (a, m), n in weight.items() if a in component)
        givers = {a for (a, m) in weight if a in component}
        big_enough = len(component) >= fraud["ring_min_members"]
        if big_enough and votes >= fraud["ring_min_votes"] and givers == component:
            rings.append(Ring(sorted(component), votes))
    for ring in rings:
        ids = ring.member_ids
        _reverse_fraud(
            lambda x, ids=ids: [x.member_id.in_(ids), x.actor_id.in_(ids), x.created_at >= since]
        )
        db.session.commit()
        for member_id in ids:
            events.voting_fraud_detected.send(
                db.session.get(Member, member_id),
                voter_ids=[m for m in ids if m != member_id],
                kind="ring",
                detail=f"{len(ids)} new accounts exchanged {ring.votes} kudos or votes "
                "only among themselves; their points were reversed.",
            )
        settle_changes()
    return rings


# ---- recompute -----------------------------------------------------------------


@dataclass
class Drift:
    member_id: int
    stored: int
    actual: int


def recompute(chunk: int = 20_000, progress: Callable | None = None) -> list[Drift]:
    """Rebuild every cached total (all time, this week, this month) from the
    ledger, one aggregate per range of member ids (read from a covering index);
    returns the members whose figures had drifted, with their all-time totals."""
    top = max(
        db.session.scalar(select(func.max(Entry.member_id))) or 0,
        db.session.scalar(select(func.max(Score.member_id))) or 0,
    )
    ranges = [(lo, min(lo + chunk - 1, top)) for lo in range(1, top + 1, chunk)]
    drifts: list[Drift] = []
    now = utcnow()
    week, month = period_keys(now)
    week_start, month_start = period_start("week", now), period_start("month", now)

    def since(start):
        return func.sum(case((Entry.created_at >= start, Entry.points), else_=0))

    upsert = _upsert()(Score)
    upsert = upsert.on_conflict_do_update(
        index_elements=["member_id"],
        set_={
            name: getattr(upsert.excluded, name)
            for name in ("points", "week", "week_points", "month", "month_points", "updated_at")
        },
    )
    for lo, hi in progress(ranges) if progress else ranges:
        actual = {
            member_id: (int(total or 0), int(in_week or 0), int(in_month or 0))
            for member_id, total, in_week, in_month in db.session.execute(
                select(Entry.member_id, func.sum(Entry.points), since(week_start),
                       since(month_start))
                .where(Entry.member_id.between(lo, hi))
                .group_by(Entry.member_id)
            )
        }  # fmt: skip
        stored = {
            member_id: (points, week_points if key_w == week else 0,
                        month_points if key_m == month else 0)
            for member_id, points, key_w, week_points, key_m, month_points in db.session.execute(
                select(Score.member_id, Score.points, Score.week, Score.week_points,
                       Score.month, Score.month_points)
                .where(Score.member_id.between(lo, hi))
            )
        }  # fmt: skip
        fixes = []
        for member_id in actual.keys() | stored.keys():
            want, have = actual.get(member_id, (0, 0, 0)), stored.get(member_id)
            if have is None and want == (0, 0, 0):
                continue
            if have != want:
                drifts.append(Drift(member_id, have[0] if have else 0, want[0]))
                fixes.append(
                    {"member_id": member_id, "points": want[0], "week": week,
                     "week_points": want[1], "month": month, "month_points": want[2],
                     "updated_at": now}
                )  # fmt: skip
        if fixes:
            db.session.execute(upsert, fixes)
            db.session.commit()
    return drifts


# ---- reads ---------------------------------------------------------------------


def points_of(member_ids: Iterable[int]) -> dict[int, int]:
    ids = list(set(member_ids))
    if not ids:
        return {}
    found = dict(
        db.session.execute(
            select(Score.member_id, Score.points).where(Score.member_id.in_(ids))
        ).all()
    )
    return {member_id: found.get(member_id, 0) for member_id in ids}


def total_of(member: Member) -> int:
    return points_of([member.id])[member.id]


def member_figures(member_ids: list[int]) -> dict[int, dict]:
    """Reputation's figures for other domains (``community.member_figures``; the
    CRM bridge pushes them to the customer's record): the same social value and
    engagement level as /members/<id>/social-value, the total and the rank.
    A fixed number of grouped queries however many members."""
    table = rules()
    points = points_of(member_ids)
    values = analytics.social_values(member_ids)
    figures = {}
    for member_id in member_ids:
        value = values.get(member_id) or analytics.SocialValue(member_id)
        total = points.get(member_id, 0)
        figures[member_id] = {
            "social_value": float(value.social_value),
            "engagement_level": value.engagement_level,
            "reputation": total,
            "rank": table.rank_for(total),
        }
    return figures


def badges_of(member: Member) -> list[dict]:
    table = rules()
    rows = db.session.scalars(
        select(BadgeAward).where(BadgeAward.member_id == member.id).order_by(BadgeAward.awarded_at)
    )
    return [
        {"key": row.badge, "name": table.badges[row.badge][0], "awarded_at": row.awarded_at}
        for row in rows
        if row.badge in table.badges
    ]


def describe(entry: Entry) -> str:
    text = RULE_TEXT.get(entry.rule, entry.rule.replace("_", " "))
    if entry.reverses_id is None:
        return text
    if entry.points > 0:
        return f"Restored: {text.lower()}"
    reasons = {
        "kudos_withdrawn": "kudos withdrawn",
        "answer_unaccepted": "answer no longer accepted",
        "idea_unvoted": "vote withdrawn",
        "idea_votes_voided": "vote voided by a moderator",
        "idea_status_changed": "idea no longer delivered",
        "post_hidden": "post hidden",
        "post_deleted": "post deleted",
        "idea_hidden": "idea hidden",
        FRAUD_CAUSE: "reversed as voting fraud",
    }
    return f"Reversed ({reasons.get(entry.cause, entry.cause.replace('_', ' '))}): {text.lower()}"


def recent_entries(member: Member, viewer, limit: int = 20) -> list[Entry]:
    """The member's latest ledger rows that the viewer may see: rows about content
    in a space the viewer cannot see are left out (the total still counts them)."""
    return list(
        db.session.scalars(
            select(Entry)
            .where(
                Entry.member_id == member.id,
                or_(Entry.space_id.is_(None), Entry.space_id.in_(access.visible_space_ids(viewer))),
            )
            .order_by(Entry.created_at.desc(), Entry.id.desc())
            .limit(limit)
        )
    )


def member_reputation(member: Member, viewer, limit: int = 20) -> dict:
    table = rules()
    points = total_of(member)
    upcoming = table.next_rank(points)
    return {
        "points": points,
        "rank": table.rank_for(points),
        "next_rank": {"name": upcoming[1], "points": upcoming[0]} if upcoming else None,
        "badges": badges_of(member),
        "recent": recent_entries(member, viewer, limit),
    }


def period_start(period: str, now: datetime | None = None) -> datetime | None:
    now = now or utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return midnight - timedelta(days=midnight.weekday())
    if period == "month":
        return midnight.replace(day=1)
    return None


@dataclass
class Standing:
    member: Member
    points: int
    rank: str
    position: int


def _board_query(period: str, space: Space | None):
    since = period_start(period)
    if space is None:
        # All time, this week and this month are kept per member by every award.
        if since is None:
            return select(Score.member_id, Score.points).where(Score.points > 0), Score.points
        week, month = period_keys(utcnow())
        key, column = (
            (Score.week == week, Score.week_points)
            if period == "week"
            else (Score.month == month, Score.month_points)
        )
        return select(Score.member_id, column).where(key, column > 0), column
    total = func.sum(Entry.points).label("total")
    query = select(Entry.member_id, total)
    if space is not None:
        query = query.where(Entry.space_id == space.id)
    if since is not None:
        query = query.where(Entry.created_at >= since)
    return query.group_by(Entry.member_id).having(total > 0), total


BOARD_CACHE = "reputation_boards"


def _cached(key: tuple, compute: Callable):
    """Space boards add up ledger rows, so they are kept for
    REPUTATION_BOARD_CACHE_SECONDS (default 60) per process: a leaderboard a
    minute old is fine, and summing a busy space's ledger on every request is
    not. Overall boards read the cached totals and are never kept."""
    seconds = float(current_app.config.get("REPUTATION_BOARD_CACHE_SECONDS", 60))
    if seconds <= 0:
        return compute()
    cache = current_app.extensions.setdefault(BOARD_CACHE, {})
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    if len(cache) > 500:
        cache.clear()
    cache[key] = (now + seconds, value)
    return value


def _board_rows(period: str, space: Space | None, limit: int, offset: int) -> list[tuple]:
    query, total = _board_query(period, space)
    key = query.selected_columns[0]
    statement = query.order_by(total.desc(), key).limit(limit).offset(offset)
    compute = lambda: [tuple(row) for row in db.session.execute(statement)]  # noqa: E731
    if space is None:
        return compute()
    return _cached(
        ("rows", period, period_start(period), space and space.id, limit, offset), compute
    )


def leaderboard(
    viewer, period="all", space: Space | None = None, limit: int = 20, offset: int = 0
) -> list[Standing]:
    """Top members by points this week, this month or all time, overall or in one
    space (which the viewer must be able to see)."""
    if period not in PERIODS:
        raise Invalid("period must be week, month or all.", fields={"period": "Unknown period."})
    if space is not None and not access.can_view_space(viewer, space):
        raise NotFound("No such space.")
    rows = _board_rows(period, space, limit, offset)
    members = {
        m.id: m
        for m in db.session.scalars(select(Member).where(Member.id.in_([r[0] for r in rows])))
    }
    table = rules()
    return [
        Standing(members[member_id], int(points), table.rank_for(int(points)), position)
        for position, (member_id, points) in enumerate(rows, start=offset + 1)
        if member_id in members
    ]


def leaderboard_size(period="all", space: Space | None = None) -> int:
    query, _ = _board_query(period, space)

    def compute() -> int:
        return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0

    if space is None:
        return compute()
    return _cached(("size", period, period_start(period), space and space.id), compute)


def space_by_slug(slug, viewer) -> Space | None:
    """The space of a per-space board; unknown and invisible spaces are not found."""
    if slug in (None, ""):
        return None
    space = db.session.scalar(select(Space).where(Space.slug == str(slug)[:60]))
    if not access.can_view_space(viewer, space):
        raise NotFound("No such space.")
    return space


def badge_holders(badge: str) -> list[BadgeAward]:
    if badge not in rules().badges:
        raise NotFound("No such badge.")
    return list(
        db.session.scalars(
            select(BadgeAward).where(BadgeAward.badge == badge).order_by(BadgeAward.awarded_at)
        )
    )


def badge_counts() -> dict[str, int]:
    return dict(
        db.session.execute(select(BadgeAward.badge, func.count()).group_by(BadgeAward.badge)).all()
    )


# ---- staff figures ---------------------------------------------------------------

REPORT_DAYS_MAX = 366 * 5


def social_value(member: Member, viewer) -> analytics.SocialValue:
    access.require(
        access.can_view_social_value(viewer), message="Only staff see members' social value."
    )
    return analytics.social_value_of(member)


def top_social_value(viewer, limit: int = 20):
    access.require(access.can_view_social_value(viewer), message="Only staff see social value.")
    return analytics.top_social_value(limit)


def default_period(today=None):
    end = today or utcnow().date()
    return end - timedelta(days=89), end


def participation(viewer, start, end) -> analytics.Participation:
    access.require(
        access.can_view_social_value(viewer), message="Only staff see participation analytics."
    )
    if end < start:
        raise Invalid("The period ends before it starts.", fields={"to": "Before from."})
    if (end - start).days >= REPORT_DAYS_MAX:
        raise Invalid("At most five years at a time.", fields={"from": "Too far back."})
    return analytics.participation(start, end)
