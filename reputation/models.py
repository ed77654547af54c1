"""Reputation data: the append-only points ledger, cached totals and badges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import db
from community.models import Member, utcnow


class Entry(db.Model):
    """One award, or the reversal of one. Rows are never updated or deleted: a
    cause undone (kudos withdrawn, post hidden, vote voided) adds a row that
    points at the row it reverses, with the opposite points. A member's total
    is the sum of their rows."""

    __tablename__ = "reputation_entry"
    __table_args__ = (
        # Per-space leaderboards: all time (grouped in index order), and by period.
        Index("ix_reputation_entry_space", "space_id", "member_id", "points"),
        Index("ix_reputation_entry_space_period", "space_id", "created_at", "member_id", "points"),
        # A member's recent rows, and recompute's sums (covering: no table lookups).
        Index("ix_reputation_entry_member", "member_id", "created_at", "points"),
        # Finding what to reverse when a cause is undone.
        Index("ix_reputation_entry_object", "object_type", "object_id"),
        # Serial-voting checks: what one member gave another lately.
        Index("ix_reputation_entry_actor", "actor_id", "member_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("community_member.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(40))
    points: Mapped[int] = mapped_column(Integer)
    # The event that caused this row (for a reversal: the event that undid the award).
    cause: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(Integer)
    # The space of the content, so activity in private spaces is described only
    # to people who may see it; None for content outside spaces.
    space_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_space.id", ondelete="SET NULL")
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Each row is reversed at most once.
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("reputation_entry.id", ondelete="SET NULL"), unique=True
    )

    member: Mapped[Member] = relationship(foreign_keys=[member_id])


class Score(db.Model):
    """A member's cached totals, kept in step by the one upsert every award and
    reversal makes (`flask reputation recompute` rebuilds them from the ledger):
    all time, this week and this month (the sums of their rows created since the
    period began, so the week and month boards read an index instead of adding
    up the ledger), and today's points from capped rules, for the daily cap."""

    __tablename__ = "reputation_score"
    __table_args__ = (
        Index("ix_reputation_score_week", "week", "week_points"),
        Index("ix_reputation_score_month", "month", "month_points"),
    )

    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), primary_key=True
    )
    points: Mapped[int] = mapped_column(Integer, default=0, index=True)
    day: Mapped[str] = mapped_column(String(10), default="")
    day_capped: Mapped[int] = mapped_column(Integer, default=0)
    # The Monday (YYYY-MM-DD) of the week, and the month (YYYY-MM), the points are for.
    week: Mapped[str] = mapped_column(String(10), default="")
    week_points: Mapped[int] = mapped_column(Integer, default=0)
    month: Mapped[str] = mapped_column(String(7), default="")
    month_points: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BadgeAward(db.Model):
    __tablename__ = "reputation_badge"
    __table_args__ = (
        UniqueConstraint("member_id", "badge"),
        Index("ix_reputation_badge_badge", "badge", "awarded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("community_member.id", ondelete="CASCADE"))
    badge: Mapped[str] = mapped_column(String(40))
    awarded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    member: Mapped[Member] = relationship(lazy="joined")
