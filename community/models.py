"""Community data: members and their roles, spaces, threads, posts, kudos,
follows, notifications and API tokens. Rules live in services.py."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

ROLES = ("member", "moderator", "product_manager", "support_agent", "sales", "admin")
STAFF_ROLES = ("moderator", "product_manager", "support_agent", "sales", "admin")
THREAD_KINDS = ("question", "discussion")
SPACE_KINDS = ("forum", "advisory")
SPACE_VISIBILITIES = ("public", "private")
# Alumni keep the record (and an advisory badge) of having belonged, without access.
SPACE_ROLES = ("host", "member", "alumni")
ACTIVE_SPACE_ROLES = ("host", "member")
NOTIFICATION_KINDS = ("reply", "mention", "accepted", "kudos", "thread")


def utcnow() -> datetime:
    """Naive UTC, the way every timestamp is stored (SQLite has no time zones)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Member(UserMixin, db.Model):
    __tablename__ = "community_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    # Lower-cased copy: one account per address whatever its case.
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    handle: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    bio: Mapped[str] = mapped_column(Text, default="")
    # Bumped to end every session and remember-me cookie of the member at once.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    suspended_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Customer attributes, from the CRM (or set by an admin until it is connected).
    customer_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    segment: Mapped[str | None] = mapped_column(String(60))
    tier: Mapped[str | None] = mapped_column(String(40))
    account_name: Mapped[str | None] = mapped_column(String(120))
    renewal_on: Mapped[date | None] = mapped_column(Date)
    # The CRM's custom fields as they came (e.g. {"advisory_candidate": true}); rules
    # such as advisory membership read them, nothing indexes them.
    customer_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    # Moderation: set through community.services on moderation's behalf.
    banned_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Trust level 0-4 (moderation computes it; docs/moderation.md); a moderator may lock it.
    trust_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    trust_level_locked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Cheap reading signals for trust: one write per member per day, and thread views
    # piggy-back on the view de-duplication (services.record_views).
    days_visited: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_visit_day: Mapped[str | None] = mapped_column(String(10))
    posts_read: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    role_rows: Mapped[list[MemberRole]] = relationship(
        back_populates="member", cascade="all, delete-orphan", lazy="selectin"
    )

    def get_id(self) -> str:
        return f"{self.id}.{self.session_epoch}"

    @property
    def roles(self) -> set[str]:
        return {"member"} | {row.role for row in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @property
    def is_admin(self) -> bool:
        return self.has_role("admin")

    @property
    def is_staff(self) -> bool:
        return self.has_role(*STAFF_ROLES)

    @property
    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > utcnow()

    @property
    def is_banned(self) -> bool:
        return self.banned_at is not None

    @property
    def initials(self) -> str:
        parts = [p for p in self.display_name.split() if p[:1].isalnum()]
        letters = "".join(p[0] for p in parts[:2]) or self.handle[:1]
        return letters.upper()

    @property
    def avatar_colour(self) -> int:
        """One of ten palette slots, stable per member (CSS classes avatar-c0..c9)."""
        return int(hashlib.sha256(str(self.id).encode()).hexdigest(), 16) % 10

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.handle}>"


class MemberRole(db.Model):
    __tablename__ = "community_member_role"
    __table_args__ = (UniqueConstraint("member_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("community_member.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(30))
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    member: Mapped[Member] = relationship(back_populates="role_rows")


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    __tablename__ = "community_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    member: Mapped[Member] = relationship()

    @staticmethod
    def digest_of(plaintext: str) -> str:
        return hashlib.sha256(plaintext.encode()).hexdigest()


class Space(db.Model):
    __tablename__ = "community_space"
    __table_args__ = (
        CheckConstraint(f"kind IN {SPACE_KINDS}", name="kind"),
        CheckConstraint(f"visibility IN {SPACE_VISIBILITIES}", name="visibility"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(20), default="forum")
    visibility: Mapped[str] = mapped_column(String(20), default="public")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def is_private(self) -> bool:
        return self.visibility == "private"

    def __repr__(self) -> str:
        return f"<Space {self.slug}>"


class SpaceMembership(db.Model):
    """Who belongs to a private space (hosts run it, members take part)."""

    __tablename__ = "community_space_membership"
    __table_args__ = (
        UniqueConstraint("space_id", "member_id"),
        CheckConstraint(f"role IN {SPACE_ROLES}", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("community_space.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20), default="member")
    joined_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


thread_tag = db.Table(
    "community_thread_tag",
    db.Column(
        "thread_id",
        ForeignKey("community_thread.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    db.Column("tag_id", ForeignKey("community_tag.id", ondelete="CASCADE"), primary_key=True),
)


class Tag(db.Model):
    __tablename__ = "community_tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)


_UNANSWERED = "kind = 'question' AND reply_count = 0 AND accepted_post_id IS NULL"


class Thread(db.Model):
    __tablename__ = "community_thread"
    __table_args__ = (
        CheckConstraint(f"kind IN {THREAD_KINDS}", name="kind"),
        Index("ix_community_thread_space_activity", "space_id", "last_post_at"),
        # The home page's and the help flow's unanswered questions: few rows among
        # many, found without walking every thread by date.
        Index(
            "ix_community_thread_unanswered",
            "created_at",
            sqlite_where=text(_UNANSWERED),
            postgresql_where=text(_UNANSWERED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("community_space.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("community_member.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="question")
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    last_post_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    last_poster_id: Mapped[int | None] = mapped_column(ForeignKey("community_member.id"))
    # The last post number handed out (0 is the opening post); replies take the next.
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    # Visible replies, not counting the opening post; kept by the services.
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    # Indexed: "is this post an accepted answer?" (profiles, reputation) and the
    # foreign key's ON DELETE both look threads up by it.
    accepted_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_post.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    is_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when the thread is the discussion of something shown elsewhere (an
    # idea's comments): its page lives there and forum lists leave it out.
    embed_url: Mapped[str | None] = mapped_column(String(300))
    # Set when a moderator merged this thread into another: its page leads there.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_thread.id", ondelete="SET NULL")
    )

    space: Mapped[Space] = relationship(lazy="joined")
    author: Mapped[Member] = relationship(foreign_keys=[author_id], lazy="joined")
    last_poster: Mapped[Member | None] = relationship(foreign_keys=[last_poster_id])
    tags: Mapped[list[Tag]] = relationship(secondary=thread_tag, lazy="selectin", order_by=Tag.name)
    accepted_post: Mapped[Post | None] = relationship(
        foreign_keys=[accepted_post_id], post_update=True
    )

    @property
    def is_solved(self) -> bool:
        return self.accepted_post_id is not None

    @property
    def tag_names(self) -> list[str]:
        return [t.name for t in self.tags]

    def __repr__(self) -> str:
        return f"<Thread {self.id} {self.title[:30]!r}>"


class Post(db.Model):
    __tablename__ = "community_post"
    __table_args__ = (
        UniqueConstraint("thread_id", "number"),
        Index("ix_community_post_author_created", "author_id", "created_at"),
        # analytics: activity over a period (who posted this month), across authors.
        Index("ix_community_post_created", "created_at"),
        # Does this member have hidden or held posts (shared pages ask on every
        # signed-in page): the few hidden rows, not every post the member wrote.
        Index(
            "ix_community_post_hidden_author",
            "author_id",
            sqlite_where=text("is_hidden = 1"),
            postgresql_where=text("is_hidden = true"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("community_thread.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("community_member.id"))
    # 0 is the thread's opening post; replies count up from 1.
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    kudos_count: Mapped[int] = mapped_column(Integer, default=0)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why a moderator (or the flag threshold) hid it; shown to its author.
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    # Soft delete: the row stays (hidden) for the audit trail.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Held for approval by the spam rules: hidden, uncounted, unannounced until approved.
    pending_reason: Mapped[str | None] = mapped_column(String(300))

    thread: Mapped[Thread] = relationship(foreign_keys=[thread_id])
    author: Mapped[Member] = relationship(lazy="joined")

    @property
    def is_opening(self) -> bool:
        return self.number == 0

    def __repr__(self) -> str:
        return f"<Post {self.id} in thread {self.thread_id}>"


class Kudos(db.Model):
    __tablename__ = "community_kudos"
    __table_args__ = (UniqueConstraint("post_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("community_post.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ThreadFollow(db.Model):
    __tablename__ = "community_thread_follow"
    __table_args__ = (UniqueConstraint("thread_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("community_thread.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SpaceFollow(db.Model):
    __tablename__ = "community_space_follow"
    __table_args__ = (UniqueConstraint("space_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("community_space.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ThreadView(db.Model):
    """One row per thread and viewer (member or anonymous session): views count once."""

    __tablename__ = "community_thread_view"
    __table_args__ = (UniqueConstraint("thread_id", "viewer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("community_thread.id", ondelete="CASCADE"))
    viewer: Mapped[str] = mapped_column(String(64))
    viewed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SearchQueueItem(db.Model):
    """An update waiting for the search index: which document, and whether to
    index it again or remove it. Search subscribers write these after commit;
    whichever process holds the index lock applies and deletes them, so several
    app processes never write the index at once and no update is lost."""

    __tablename__ = "community_search_queue"
    __table_args__ = (CheckConstraint("action IN ('index', 'remove')", name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "<type>:<id>", e.g. "thread:12" or "member:3" (community/search.py).
    doc_key: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(10), default="index")
    queued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


CASE_STATUSES = ("pending_sync", "open", "pending", "solved", "closed")


class Deflection(db.Model):
    """A customer confirmed in the help flow that a community thread solved their
    problem: a support case the company did not have to handle. One row per
    customer (member or browser session), thread and UTC day."""

    __tablename__ = "community_deflection"
    __table_args__ = (UniqueConstraint("visitor_key", "thread_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("community_thread.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL"), index=True
    )
    # "m:<member id>" for members, "s:<browser session key>" for visitors.
    visitor_key: Mapped[str] = mapped_column(String(64))
    query: Mapped[str] = mapped_column(Text, default="")
    # The UTC date (YYYY-MM-DD): the window in which a repeat confirmation counts once.
    day: Mapped[str] = mapped_column(String(10), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    thread: Mapped[Thread] = relationship()
    member: Mapped[Member | None] = relationship()


class SupportCase(db.Model):
    """A support case opened from the help flow ("still need help"). It waits as
    pending_sync until the CRM bridge creates it in the CRM and syncs its status back."""

    __tablename__ = "community_support_case"
    __table_args__ = (CheckConstraint(f"status IN {CASE_STATUSES}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Shown to the customer, e.g. "CASE-7K2M9Q4X".
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL"), index=True
    )
    visitor_key: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    # What the customer searched for, and the suggestion they were reading, if any.
    query: Mapped[str] = mapped_column(Text, default="")
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_thread.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default="pending_sync")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    member: Mapped[Member | None] = relationship()
    thread: Mapped[Thread | None] = relationship()


class Notification(db.Model):
    __tablename__ = "community_notification"
    __table_args__ = (
        # kind is not constrained in SQL: other domains add kinds of their own.
        Index("ix_community_notification_member_unread", "member_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("community_member.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="SET NULL")
    )
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_thread.id", ondelete="CASCADE")
    )
    post_id: Mapped[int | None] = mapped_column(ForeignKey("community_post.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Notifications about things other domains own (an idea's status, say) carry
    # their own summary and link, and the space whose access policy guards them.
    space_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_space.id", ondelete="CASCADE")
    )
    summary: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(300))

    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    actor: Mapped[Member | None] = relationship(foreign_keys=[actor_id], lazy="joined")
    thread: Mapped[Thread | None] = relationship(lazy="joined")
    post: Mapped[Post | None] = relationship()


class BackgroundJob(db.Model):
    """One scheduled job of the background runners (community/background.py): who
    holds it and until when, when it runs next, and how its last run went."""

    __tablename__ = "community_background_job"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(DateTime)
    holder: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_result: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)


class EmailOutbox(db.Model):
    """E-mail to send, written in the same transaction as its cause and delivered
    later, at least once, by the mail worker (nothing is lost if it is down).
    Mail goes to a member, or to a bare address (an invitation to someone who has
    no account yet)."""

    __tablename__ = "community_email_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_member.id", ondelete="CASCADE"), index=True
    )
    to_address: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    member: Mapped[Member | None] = relationship()
