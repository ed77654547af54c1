"""Moderation data: flags, review items (the queue), the audit log and spam-rule settings.

The audit log is append-only: the ORM refuses updates and deletes of its rows,
and the migration adds database triggers that refuse them too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import db
from community.models import Member, utcnow

TARGET_TYPES = ("post", "thread", "idea", "member")
FLAG_REASONS = ("spam", "abusive", "off_topic", "needs_staff", "other")
FLAG_REASON_LABELS = {
    "spam": "Spam",
    "abusive": "Abusive",
    "off_topic": "Off-topic",
    "needs_staff": "Needs staff attention",
    "other": "Other",
}
# Why an item is in the queue: members flagged it, the spam rules held it for
# approval, or the reputation engine saw suspicious voting.
ITEM_KINDS = ("flags", "approval", "fraud")
ITEM_STATUSES = ("open", "resolved")


class ReviewItem(db.Model):
    """One entry of the review queue per target and reason for being there."""

    __tablename__ = "moderation_review_item"
    __table_args__ = (
        CheckConstraint(f"target_type IN {TARGET_TYPES}", name="target_type"),
        CheckConstraint(f"kind IN {ITEM_KINDS}", name="kind"),
        CheckConstraint(f"status IN {ITEM_STATUSES}", name="status"),
        Index("ix_moderation_review_item_open", "status", "last_activity_at"),
        Index("ix_moderation_review_item_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="flags")
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer)
    # Whose content it is (the member themself for a profile).
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="open")
    flag_count: Mapped[int] = mapped_column(Integer, default=0)
    # For approval and fraud items: why the rules put it here.
    detail: Mapped[str] = mapped_column(Text, default="")
    auto_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL")
    )
    # What closed it: dismissed, hidden, deleted, approved, rejected, ...
    resolution: Mapped[str | None] = mapped_column(String(30))

    author: Mapped[Member | None] = relationship(foreign_keys=[author_id])
    flags: Mapped[list[Flag]] = relationship(
        back_populates="item", order_by="Flag.created_at.desc()", lazy="selectin"
    )


class Flag(db.Model):
    """A member's flag on a post, thread, idea or profile: one per member per item."""

    __tablename__ = "moderation_flag"
    __table_args__ = (
        UniqueConstraint("target_type", "target_id", "member_id"),
        CheckConstraint(f"target_type IN {TARGET_TYPES}", name="target_type"),
        CheckConstraint(f"reason IN {FLAG_REASONS}", name="reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("moderation_review_item.id", ondelete="CASCADE"), index=True
    )
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    # The flagger's trust level when flagging: auto-hide counts trusted flags only.
    trust_level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    item: Mapped[ReviewItem] = relationship(back_populates="flags")
    member: Mapped[Member] = relationship(lazy="joined")

    @property
    def reason_label(self) -> str:
        return FLAG_REASON_LABELS.get(self.reason, self.reason)


class AuditEntry(db.Model):
    """Who did what, on what, why and when; before and after for edits. Append-only."""

    __tablename__ = "moderation_audit_entry"
    __table_args__ = (Index("ix_moderation_audit_entry_action_created", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int | None] = mapped_column(Integer)
    # A readable name of the target at the time (a title, a member's name).
    target_label: Mapped[str] = mapped_column(String(300), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[str | None] = mapped_column(Text)  # JSON
    after: Mapped[str | None] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    actor: Mapped[Member | None] = relationship(lazy="joined")


class SpamRule(db.Model):
    """A blocked word or link domain (moderators tune these)."""

    __tablename__ = "moderation_spam_rule"
    __table_args__ = (
        UniqueConstraint("kind", "value"),
        CheckConstraint("kind IN ('word', 'domain')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditLogIsAppendOnly(Exception):
    """Raised when anything tries to change or remove an audit entry."""


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(_mapper, _connection, _target):
    raise AuditLogIsAppendOnly("audit entries cannot be changed")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(_mapper, _connection, _target):
    raise AuditLogIsAppendOnly("audit entries cannot be removed")
