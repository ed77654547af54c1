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
        # Week/month leaderboards (covering: no table lookups).
        Index("ix_reputation_entry_board", "created_at", "member_id", "points"),
        # Per-space leaderboards, all time and by period.
        Index("ix_reputation_entry_space_board", "space_id", "created_at", "member_id", "points"),
        Index("ix_reputation_entry_member", "member_id", "created_at"),
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
    """A member's cached total (the sum of their ledger, kept in step by every
    award; `flask reputation recompute` rebuilds it) and today's points from
    capped rules, for the daily cap."""

    __tablename__ = "reputation_score"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), primary_key=True
    )
    points: Mapped[int] = mapped_column(Integer, default=0, index=True)
    day: Mapped[str] = mapped_column(String(10), default="")
    day_capped: Mapped[int] = mapped_column(Integer, default=0)
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
