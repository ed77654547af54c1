"""Listening data: a sentiment score per post and idea, watchlists with their
terms, and the alerts support and sales work through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import db
from community.models import Member, Post, SupportCase, Thread, utcnow
from ideas.models import Idea

TARGET_TYPES = ("post", "idea")
WATCHLIST_KINDS = ("lead", "churn")
ALERT_KINDS = ("at_risk", "lead", "churn")
# How an alert was handled: an agent replied in the thread, escalated it to a
# support case, or judged it needed nothing (dismissed).
HANDLED_ACTIONS = ("replied", "escalated", "dismissed")
KIND_LABELS = {"at_risk": "At risk", "lead": "Lead", "churn": "Churn risk"}


class Sentiment(db.Model):
    """The VADER compound score of one post or idea (-1 most negative, +1 most
    positive), re-scored when it is edited; the raw material of sentiment over
    time and a customer's sentiment trend."""

    __tablename__ = "listening_sentiment"
    __table_args__ = (
        UniqueConstraint("target_type", "target_id"),
        CheckConstraint(f"target_type IN {TARGET_TYPES}", name="target_type"),
        Index("ix_listening_sentiment_member_created", "member_id", "created_at"),
        Index("ix_listening_sentiment_space_created", "space_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int] = mapped_column()
    member_id: Mapped[int] = mapped_column(ForeignKey("community_member.id", ondelete="CASCADE"))
    space_id: Mapped[int] = mapped_column(ForeignKey("community_space.id", ondelete="CASCADE"))
    compound: Mapped[float] = mapped_column(Float)
    # When the post or idea was written (not when it was scored), for trends.
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    scored_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Watchlist(db.Model):
    """Words and phrases a sales or support member wants to hear about; its
    creator owns it and receives its alerts."""

    __tablename__ = "listening_watchlist"
    __table_args__ = (CheckConstraint(f"kind IN {WATCHLIST_KINDS}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    owner: Mapped[Member] = relationship(lazy="joined")
    terms: Mapped[list[WatchTerm]] = relationship(
        back_populates="watchlist",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="WatchTerm.id",
    )

    @property
    def term_texts(self) -> list[str]:
        return [t.text for t in self.terms]


class WatchTerm(db.Model):
    """One word or phrase of a watchlist, with its stemmed form (the words as the
    matcher sees them, space-separated) so "Prices" and "pricing" meet "price"."""

    __tablename__ = "listening_watch_term"
    __table_args__ = (UniqueConstraint("watchlist_id", "stems"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(
        ForeignKey("listening_watchlist.id", ondelete="CASCADE")
    )
    text: Mapped[str] = mapped_column(String(60))
    stems: Mapped[str] = mapped_column(String(200))

    watchlist: Mapped[Watchlist] = relationship(back_populates="terms")


class Alert(db.Model):
    """Something support or sales should look at: a strongly negative post by a
    customer (at_risk, for support agents) or a watchlist match (lead or churn,
    for the list's owner). Who sees it is also bounded by the access policy on
    the post or idea it is about."""

    __tablename__ = "listening_alert"
    __table_args__ = (
        CheckConstraint(f"kind IN {ALERT_KINDS}", name="kind"),
        CheckConstraint(f"target_type IN {TARGET_TYPES}", name="target_type"),
        CheckConstraint(
            f"handled_action IS NULL OR handled_action IN {HANDLED_ACTIONS}", name="handled_action"
        ),
        Index("ix_listening_alert_open", "kind", "handled_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One alert per cause: "at_risk:post:12" or "watch:3:idea:7" (edits never repeat one).
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    watchlist_id: Mapped[int | None] = mapped_column(
        ForeignKey("listening_watchlist.id", ondelete="SET NULL"), index=True
    )
    target_type: Mapped[str] = mapped_column(String(10))
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_post.id", ondelete="CASCADE"), index=True
    )
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_thread.id", ondelete="CASCADE"), index=True
    )
    idea_id: Mapped[int | None] = mapped_column(
        ForeignKey("ideas_idea.id", ondelete="CASCADE"), index=True
    )
    space_id: Mapped[int] = mapped_column(
        ForeignKey("community_space.id", ondelete="CASCADE"), index=True
    )
    # The customer who wrote it.
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    sentiment: Mapped[float | None] = mapped_column(Float)
    # The watchlist terms that matched, one per line.
    terms: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime)
    handled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL")
    )
    handled_action: Mapped[str | None] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_support_case.id", ondelete="SET NULL")
    )

    watchlist: Mapped[Watchlist | None] = relationship()
    post: Mapped[Post | None] = relationship()
    thread: Mapped[Thread | None] = relationship()
    idea: Mapped[Idea | None] = relationship()
    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="joined")
    handled_by: Mapped[Member | None] = relationship(foreign_keys=[handled_by_id])
    case: Mapped[SupportCase | None] = relationship()

    @property
    def term_list(self) -> list[str]:
        return [t for t in self.terms.split("\n") if t]

    @property
    def is_handled(self) -> bool:
        return self.handled_at is not None

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]
