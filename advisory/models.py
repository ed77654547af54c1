"""Advisory committee data. Membership itself is the community's
(community_space_membership: host, member, alumni); these tables hold what a
committee adds around it."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import db
from community.models import Member, Space, utcnow

RSVP_ANSWERS = ("yes", "no", "maybe")
RSVP_LABELS = {"yes": "Yes", "no": "No", "maybe": "Maybe"}


class Committee(db.Model):
    """An advisory space's charter and commitments (one row per advisory space)."""

    __tablename__ = "advisory_committee"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(
        ForeignKey("community_space.id", ondelete="CASCADE"), unique=True
    )
    # The private suggestions board: an ideas area living in the space.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("ideas_area.id", ondelete="SET NULL"))
    purpose: Mapped[str] = mapped_column(Text, default="")
    purpose_html: Mapped[str] = mapped_column(Text, default="")
    time_commitment: Mapped[str] = mapped_column(Text, default="")
    recognition: Mapped[str] = mapped_column(Text, default="")
    # Bumped whenever the hosts change the charter; members accepted a version.
    charter_version: Mapped[int] = mapped_column(Integer, default=0)
    charter_updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The company answers every suggestion within this many days.
    response_days: Mapped[int] = mapped_column(Integer, default=30)

    space: Mapped[Space] = relationship(lazy="joined")

    @property
    def has_charter(self) -> bool:
        return self.charter_version > 0


class Cohort(db.Model):
    """A term of the committee: its members become alumni when it ends."""

    __tablename__ = "advisory_cohort"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(
        ForeignKey("community_space.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # Set once the end of the term has been applied (members made alumni).
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Seat(db.Model):
    """A member's place on a committee: the charter they accepted and their cohort.
    Kept when they become alumni (the badge stays)."""

    __tablename__ = "advisory_seat"
    __table_args__ = (UniqueConstraint("space_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("community_space.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("advisory_cohort.id", ondelete="SET NULL")
    )
    charter_version: Mapped[int] = mapped_column(Integer, default=0)
    charter_accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    alumni_since: Mapped[datetime | None] = mapped_column(DateTime)

    member: Mapped[Member] = relationship(lazy="joined")
    cohort: Mapped[Cohort | None] = relationship()


class Invitation(db.Model):
    """A single-use, expiring, revocable invitation link; only the digest of its
    token is stored."""

    __tablename__ = "advisory_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(
        ForeignKey("community_space.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    # The invitee when they already had an account (or once they accepted).
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL")
    )
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("advisory_rule.id", ondelete="SET NULL"))
    cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("advisory_cohort.id", ondelete="SET NULL")
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    space: Mapped[Space] = relationship(lazy="joined")
    member: Mapped[Member | None] = relationship(foreign_keys=[member_id])
    invited_by: Mapped[Member | None] = relationship(foreign_keys=[invited_by_id])

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def state(self, now: datetime) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "pending"


class Rule(db.Model):
    """Invite customers whose CRM facts match every condition (never add them)."""

    __tablename__ = "advisory_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(
        ForeignKey("community_space.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    # [{"field": "tier", "op": "eq", "value": "strategic"}, ...] — see services.RULE_FIELDS.
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("advisory_cohort.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)


class Meeting(db.Model):
    __tablename__ = "advisory_meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(
        ForeignKey("community_space.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    agenda: Mapped[str] = mapped_column(Text, default="")
    agenda_html: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")
    minutes_html: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)

    space: Mapped[Space] = relationship(lazy="joined")


class Rsvp(db.Model):
    __tablename__ = "advisory_rsvp"
    __table_args__ = (
        UniqueConstraint("meeting_id", "member_id"),
        CheckConstraint(f"answer IN {RSVP_ANSWERS}", name="answer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("advisory_meeting.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    answer: Mapped[str] = mapped_column(String(10))
    answered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    member: Mapped[Member] = relationship(lazy="joined")


class Reward(db.Model):
    """What a member received for their time: visible to that member and the hosts."""

    __tablename__ = "advisory_reward"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(
        ForeignKey("community_space.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), default="")
    given_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="joined")
