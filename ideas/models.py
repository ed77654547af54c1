"""Ideas: product areas (idea boards), ideas, votes and the history of statuses."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import db
from community.models import Member, Space, Tag, Thread, utcnow

STATUSES = ("new", "under_review", "planned", "in_progress", "delivered", "declined", "merged")
STATUS_LABELS = {
    "new": "New",
    "under_review": "Under review",
    "planned": "Planned",
    "in_progress": "In progress",
    "delivered": "Delivered",
    "declined": "Declined",
    "merged": "Merged",
}
# A note is owed to the voters when the answer is final.
NOTE_REQUIRED = ("delivered", "declined")
IMPORTANCE = ("nice_to_have", "important", "critical")
IMPORTANCE_LABELS = {
    "nice_to_have": "Nice to have",
    "important": "Important",
    "critical": "Critical",
}

# Trending: every vote weighs 2^(-age / half-life). Storing each vote's weight
# relative to a fixed epoch, 2^((cast_at - EPOCH) / HALF_LIFE), makes an idea's
# trending score a plain sum that SQL can add to and subtract from atomically,
# and ordering by that sum is ordering by the decayed score (the factor
# 2^(-(now - EPOCH) / HALF_LIFE) is the same for every idea). With a 7-day
# half-life the weights stay within a float for ~19 years after the epoch;
# `flask ideas check` recomputes every score from the votes.
TRENDING_EPOCH = datetime(2024, 1, 1)
TRENDING_HALF_LIFE_DAYS = 7.0


def trending_weight(cast_at: datetime) -> float:
    days = (cast_at - TRENDING_EPOCH).total_seconds() / 86_400
    return math.pow(2.0, days / TRENDING_HALF_LIFE_DAYS)


def trending_now(score: float, now: datetime) -> float:
    """The decayed score at ``now``: the sum of 2^(-age/half-life) over live votes."""
    return score / trending_weight(now) if score else 0.0


idea_tag = db.Table(
    "ideas_idea_tag",
    db.Column("idea_id", ForeignKey("ideas_idea.id", ondelete="CASCADE"), primary_key=True),
    db.Column("tag_id", ForeignKey("community_tag.id", ondelete="CASCADE"), primary_key=True),
)


class Area(db.Model):
    """A product area: one idea board, living in a space (public, or a private
    advisory space) whose access policy decides who sees its ideas."""

    __tablename__ = "ideas_area"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("community_space.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    space: Mapped[Space] = relationship(lazy="joined")


class Idea(db.Model):
    __tablename__ = "ideas_idea"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        Index("ix_ideas_idea_area_votes", "area_id", "vote_count"),
        Index("ix_ideas_idea_trending", "trending_score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("ideas_area.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("community_member.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    # Live (not voided) votes, kept by atomic updates; `flask ideas check` audits them.
    vote_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    trending_score: Mapped[float] = mapped_column(Float, default=0.0)
    # Value-weighted demand: the summed customer value of live voters, now (see Demand).
    demand_value: Mapped[Decimal] = mapped_column(
        Numeric(16, 2), default=0, server_default="0", index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ideas_idea.id"))
    # The idea's comments: a community discussion attached to the idea's page.
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("community_thread.id"))
    # Hidden by a moderator (ideas/services.hide_idea): only moderators and the author see it.
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_reason: Mapped[str | None] = mapped_column(String(500))

    area: Mapped[Area] = relationship(lazy="joined")
    author: Mapped[Member] = relationship(lazy="joined")
    tags: Mapped[list[Tag]] = relationship(secondary=idea_tag, lazy="selectin", order_by=Tag.name)
    merged_into: Mapped[Idea | None] = relationship(remote_side=[id])
    thread: Mapped[Thread | None] = relationship()

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def tag_names(self) -> list[str]:
        return [t.name for t in self.tags]


class Vote(db.Model):
    __tablename__ = "ideas_vote"
    __table_args__ = (
        UniqueConstraint("idea_id", "member_id"),
        CheckConstraint(
            "importance IS NULL OR importance IN ('nice_to_have', 'important', 'critical')",
            name="importance",
        ),
        Index("ix_ideas_vote_idea_created", "idea_id", "created_at"),
        Index("ix_ideas_vote_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas_idea.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    importance: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    weight: Mapped[float] = mapped_column(Float)
    # The voter's customer value and segment when they voted (demand then vs now).
    value_at_vote: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    segment_at_vote: Mapped[str | None] = mapped_column(String(60))
    # Fraudulent votes are voided, not deleted: the record shows what happened.
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("community_member.id"))

    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="joined")


class StatusChange(db.Model):
    __tablename__ = "ideas_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(
        ForeignKey("ideas_idea.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    note_html: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int] = mapped_column(ForeignKey("community_member.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    by: Mapped[Member] = relationship(lazy="joined")

    @property
    def to_label(self) -> str:
        return STATUS_LABELS[self.to_status]


class Demand(db.Model):
    """Live votes and their summed customer value per idea and customer segment
    ("" when the voter has none), kept in step with votes and with members'
    customer data, so the product team's review sorts by an index instead of
    adding up every vote on every request. `flask ideas check` rebuilds it."""

    __tablename__ = "ideas_demand"
    __table_args__ = (Index("ix_ideas_demand_segment_value", "segment", "value"),)

    idea_id: Mapped[int] = mapped_column(
        ForeignKey("ideas_idea.id", ondelete="CASCADE"), primary_key=True
    )
    segment: Mapped[str] = mapped_column(String(60), primary_key=True)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    nice_to_have: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    important: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    critical: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class VoteDay(db.Model):
    """Live votes per idea, segment and day cast: the review's 30-day trend reads
    a few rows per idea instead of every vote. Kept with Demand."""

    __tablename__ = "ideas_vote_day"

    idea_id: Mapped[int] = mapped_column(
        ForeignKey("ideas_idea.id", ondelete="CASCADE"), primary_key=True
    )
    segment: Mapped[str] = mapped_column(String(60), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    votes: Mapped[int] = mapped_column(Integer, default=0)
