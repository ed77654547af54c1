"""Read-only figures from the community's and the ideas' own tables: social
value, engagement levels and the 90-9-1 participation profile (staff), and the
counts behind badges. Formulas: docs/reputation.md."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from community.extensions import db
from community.models import (
    Deflection,
    Kudos,
    Member,
    Post,
    Space,
    SpaceMembership,
    Thread,
    utcnow,
)
from ideas.models import Idea, Vote

from .rules import rules

LEVELS = ("aware", "engaged", "committed", "advocate")


def _grouped(query, member_ids) -> dict[int, int]:
    """Run a (member id, figure) aggregate, for some members or everyone."""
    key = query.selected_columns[0]
    if member_ids is not None:
        query = query.where(key.in_(list(member_ids)))
    return {m: int(v or 0) for m, v in db.session.execute(query.group_by(key)).all()}


def _accepted_posts():
    """Visible replies accepted as the solution, with their visible threads."""
    return (
        select(Post.author_id)
        .join(Thread, Thread.accepted_post_id == Post.id)
        .where(Post.is_hidden.is_(False), Thread.is_hidden.is_(False))
    )


def accepted_answers(member_ids=None) -> dict[int, int]:
    return _grouped(_accepted_posts().add_columns(func.count(Thread.id)), member_ids)


def solution_views(member_ids=None) -> dict[int, int]:
    return _grouped(_accepted_posts().add_columns(func.sum(Thread.view_count)), member_ids)


def deflections(member_ids=None) -> dict[int, int]:
    query = _accepted_posts().join(Deflection, Deflection.thread_id == Thread.id)
    return _grouped(query.add_columns(func.count(Deflection.id)), member_ids)


def kudos_received(member_ids=None) -> dict[int, int]:
    query = select(Post.author_id, func.count(Kudos.id)).join(Kudos, Kudos.post_id == Post.id)
    return _grouped(query, member_ids)


def ideas_delivered(member_ids=None) -> dict[int, int]:
    query = select(Idea.author_id, func.count(Idea.id)).where(Idea.status == "delivered")
    return _grouped(query, member_ids)


def advisory_spaces(member_ids=None) -> dict[int, int]:
    query = (
        select(SpaceMembership.member_id, func.count(SpaceMembership.id))
        .join(Space, Space.id == SpaceMembership.space_id)
        .where(Space.kind == "advisory")
    )
    return _grouped(query, member_ids)


def advisory_posts(member_ids=None) -> dict[int, int]:
    query = (
        select(Post.author_id, func.count(Post.id))
        .join(Thread, Thread.id == Post.thread_id)
        .join(Space, Space.id == Thread.space_id)
        .where(Space.kind == "advisory", Post.is_hidden.is_(False))
    )
    return _grouped(query, member_ids)


def advisory_space_count(member_id: int) -> int:
    return advisory_spaces([member_id]).get(member_id, 0)


MEASURES = {
    "accepted_answers": accepted_answers,
    "kudos_received": kudos_received,
    "ideas_delivered": ideas_delivered,
}


def badge_measures(member_id: int, names: set[str]) -> dict[str, int]:
    return {
        name: MEASURES[name]([member_id]).get(member_id, 0) for name in names if name in MEASURES
    }


def posting_days(member_id: int, days: int) -> int:
    """On how many of the last ``days`` UTC days (today included) the member posted."""
    since = datetime.combine(utcnow().date() - timedelta(days=days - 1), datetime.min.time())
    day = func.date(Post.created_at)
    return db.session.scalar(
        select(func.count(func.distinct(day))).where(
            Post.author_id == member_id, Post.created_at >= since
        )
    )


# ---- social value --------------------------------------------------------------


@dataclass
class SocialValue:
    member_id: int
    accepted_answers: int = 0
    solution_views: int = 0
    deflections: int = 0
    savings: Decimal = Decimal("0.00")
    kudos_received: int = 0
    ideas_delivered: int = 0
    advisory_spaces: int = 0
    advisory_posts: int = 0
    social_value: Decimal = Decimal("0.00")
    engagement_level: str = "aware"
    currency: str = "USD"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["savings"] = float(self.savings)
        data["social_value"] = float(self.social_value)
        return data


def _cost_per_case() -> Decimal:
    return Decimal(str(current_app.config.get("DEFLECTION_COST_PER_CASE", "0")))


def social_values(member_ids=None) -> dict[int, SocialValue]:
    """The breakdown for the given members (or everyone who contributed anything)."""
    figures = {
        "accepted_answers": accepted_answers(member_ids),
        "solution_views": solution_views(member_ids),
        "deflections": deflections(member_ids),
        "kudos_received": kudos_received(member_ids),
        "ideas_delivered": ideas_delivered(member_ids),
        "advisory_spaces": advisory_spaces(member_ids),
        "advisory_posts": advisory_posts(member_ids),
    }
    ids = set(member_ids) if member_ids is not None else set().union(*figures.values())
    weights = rules().social_value
    cost = _cost_per_case()
    currency = current_app.config.get("CURRENCY", "USD")
    levels = engagement_levels(ids)
    result = {}
    for member_id in ids:
        value = SocialValue(member_id, currency=currency)
        for name, by_member in figures.items():
            setattr(value, name, by_member.get(member_id, 0))
        value.savings = (cost * value.deflections).quantize(Decimal("0.01"))
        combined = value.savings + sum(
            Decimal(str(weights[weight])) * getattr(value, name)
            for weight, name in (
                ("accepted_answer", "accepted_answers"),
                ("solution_view", "solution_views"),
                ("kudos_received", "kudos_received"),
                ("idea_delivered", "ideas_delivered"),
                ("advisory_space", "advisory_spaces"),
                ("advisory_post", "advisory_posts"),
            )
        )
        value.social_value = Decimal(combined).quantize(Decimal("0.01"))
        value.engagement_level = levels.get(member_id, "aware")
        result[member_id] = value
    return result


def social_value_of(member: Member) -> SocialValue:
    return social_values([member.id])[member.id]


def top_social_value(limit: int = 20) -> list[tuple[Member, SocialValue]]:
    values = sorted(social_values().values(), key=lambda v: (-v.social_value, v.member_id))[:limit]
    members = {
        m.id: m
        for m in db.session.scalars(
            select(Member).where(Member.id.in_([v.member_id for v in values]))
        )
    }
    return [(members[v.member_id], v) for v in values if v.member_id in members]


# ---- engagement ----------------------------------------------------------------


def _activity(member_ids, since: datetime | None):
    """Per member: posts (threads and replies), ideas, kudos given and live votes."""

    def when(column, query):
        return query.where(column >= since) if since is not None else query

    posts = _grouped(when(Post.created_at, select(Post.author_id, func.count(Post.id))), member_ids)
    ideas = _grouped(when(Idea.created_at, select(Idea.author_id, func.count(Idea.id))), member_ids)
    kudos = _grouped(
        when(Kudos.created_at, select(Kudos.member_id, func.count(Kudos.id))), member_ids
    )
    votes = _grouped(
        when(
            Vote.created_at,
            select(Vote.member_id, func.count(Vote.id)).where(Vote.voided_at.is_(None)),
        ),
        member_ids,
    )
    return posts, ideas, kudos, votes


def engagement_levels(member_ids=None) -> dict[int, str]:
    """aware / engaged / committed / advocate for the given members (or everyone)."""
    table = rules().engagement
    since = utcnow() - timedelta(days=int(table["window_days"]))
    if member_ids is None:
        ids = set(db.session.scalars(select(Member.id)))
        filter_ids = None
    else:
        ids = filter_ids = set(member_ids)
    posts, ideas, kudos, votes = _activity(filter_ids, None)
    r_posts, r_ideas, r_kudos, r_votes = _activity(filter_ids, since)
    answers = accepted_answers(filter_ids)
    delivered = ideas_delivered(filter_ids)
    advisory = advisory_spaces(filter_ids)
    levels = {}
    for m in ids:
        recent_contributions = r_posts.get(m, 0) + r_ideas.get(m, 0)
        recent = recent_contributions + r_kudos.get(m, 0) + r_votes.get(m, 0)
        if advisory.get(m) or ((answers.get(m) or delivered.get(m)) and recent):
            levels[m] = "advocate"
        elif recent_contributions >= int(table["committed_contributions"]):
            levels[m] = "committed"
        elif posts.get(m) or ideas.get(m) or kudos.get(m) or votes.get(m):
            levels[m] = "engaged"
        else:
            levels[m] = "aware"
    return levels


def engagement_distribution() -> dict[str, int]:
    counts = dict.fromkeys(LEVELS, 0)
    for level in engagement_levels().values():
        counts[level] += 1
    return counts


@dataclass
class Participation:
    start: date
    end: date
    members: int = 0
    readers: int = 0
    contributors: int = 0
    creators: int = 0
    engagement: dict = field(default_factory=dict)

    def share(self, count: int) -> float:
        return round(count / self.members, 4) if self.members else 0.0

    def as_dict(self) -> dict:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "members": self.members,
            "profile": {
                "readers": {"count": self.readers, "share": self.share(self.readers)},
                "contributors": {
                    "count": self.contributors,
                    "share": self.share(self.contributors),
                },
                "creators": {"count": self.creators, "share": self.share(self.creators)},
            },
            "engagement": self.engagement,
        }


def participation(start: date, end: date) -> Participation:
    """The 90-9-1 profile of members who had joined by ``end``: creators started a
    thread or submitted an idea in the period, contributors replied, gave kudos or
    voted (and created nothing), readers did neither."""
    lo = datetime.combine(start, datetime.min.time())
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time())

    def ids(column, where):
        return set(db.session.scalars(select(column).where(*where).distinct()))

    creators = ids(Thread.author_id, [Thread.created_at >= lo, Thread.created_at < hi]) | ids(
        Idea.author_id, [Idea.created_at >= lo, Idea.created_at < hi]
    )
    reacting = (
        ids(Post.author_id, [Post.number > 0, Post.created_at >= lo, Post.created_at < hi])
        | ids(Kudos.member_id, [Kudos.created_at >= lo, Kudos.created_at < hi])
        | ids(Vote.member_id, [Vote.created_at >= lo, Vote.created_at < hi])
    )
    members = set(db.session.scalars(select(Member.id).where(Member.created_at < hi)))
    creators &= members
    contributors = (reacting & members) - creators
    result = Participation(start, end, members=len(members))
    result.creators = len(creators)
    result.contributors = len(contributors)
    result.readers = len(members) - len(creators) - len(contributors)
    result.engagement = engagement_distribution()
    return result
