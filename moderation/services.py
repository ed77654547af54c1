"""Moderation use cases: flags and the review queue, moderator actions, trust levels,
spam screening and rate limits, the audit log and the spam report.

Community and ideas content changes only through their owners' services
(community.services.hide_post, ideas.services.hide_idea, ...); those send events
that moderation's subscribers audit and tell the author about.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from community import access, markup
from community import services as community
from community.errors import Conflict, Invalid, NotAllowed, NotFound, RateLimited
from community.extensions import db
from community.models import Member, Post, Space, Thread, utcnow
from ideas import services as ideas
from ideas.models import Idea

from .models import (
    FLAG_REASONS,
    TARGET_TYPES,
    AuditEntry,
    Flag,
    ReviewItem,
    SpamRule,
)

# Every setting can be overridden in the app config (PARLEY_MODERATION_... in the
# environment); docs/moderation.md explains them.
DEFAULTS = {
    "MODERATION_AUTO_HIDE_FLAGS": 3,  # flags from trusted members that hide content
    "MODERATION_AUTO_HIDE_MIN_TRUST": 2,  # the trust level whose flags count for that
    "MODERATION_FLAG_MIN_TRUST": 1,  # the trust level from which members may flag
    # What each trust level needs (all of it): account age in days, days visited,
    # posts read, replies written, kudos received, and at most this many upheld flags.
    "MODERATION_TRUST_THRESHOLDS": {
        1: {
            "account_days": 0,
            "days_visited": 1,
            "posts_read": 5,
            "replies": 0,
            "kudos_received": 0,
            "max_flags_against": 3,
        },
        2: {
            "account_days": 7,
            "days_visited": 5,
            "posts_read": 50,
            "replies": 3,
            "kudos_received": 1,
            "max_flags_against": 1,
        },
        3: {
            "account_days": 30,
            "days_visited": 20,
            "posts_read": 200,
            "replies": 10,
            "kudos_received": 10,
            "max_flags_against": 0,
        },
        4: {
            "account_days": 90,
            "days_visited": 50,
            "posts_read": 500,
            "replies": 30,
            "kudos_received": 30,
            "max_flags_against": 0,
        },
    },
    # Gates by trust level 0, 1, 2, 3, 4.
    "MODERATION_LINKS_PER_POST": [1, 5, 10, 20, 50],
    "MODERATION_MENTIONS_PER_POST": [2, 5, 10, 20, 50],
    "MODERATION_THREADS_PER_DAY": [3, 10, 30, 100, 500],
    "MODERATION_IDEAS_PER_DAY": [1, 3, 10, 30, 100],
    # Rate limits by trust level 0-4 (Flask-Limiter syntax), per member.
    "MODERATION_RATE_LIMITS": {
        "posting": [
            "3 per minute",
            "6 per minute",
            "10 per minute",
            "20 per minute",
            "30 per minute",
        ],
        "voting": [
            "10 per minute",
            "20 per minute",
            "30 per minute",
            "60 per minute",
            "120 per minute",
        ],
        "flagging": [
            "3 per minute",
            "5 per minute",
            "10 per minute",
            "20 per minute",
            "30 per minute",
        ],
    },
    "MODERATION_RATE_LIMITS_ENABLED": None,  # None: follow RATELIMIT_ENABLED
    # Trust gates and spam rules on what members post through the site and API
    # (operators' commands and `flask demo-data` are not screened).
    "MODERATION_SCREENING": True,
    # Spam rules: content matching them waits in the approval queue.
    "MODERATION_BLOCKED_WORDS": [],
    "MODERATION_BLOCKED_DOMAINS": [],
    "MODERATION_SPAM_LINKS": 4,  # this many links or more (below trust level 3)
    "MODERATION_FIRST_POSTS": 3,  # a level-0 member's first posts with links wait
    "MODERATION_REPEAT_HOURS": 24,  # identical text in another thread within this time
}

URL = re.compile(r"(?:https?://|www\.)[^\s<>()\"']+", re.IGNORECASE)

ACTIONS = {
    "dismiss": ("post", "thread", "idea", "member"),
    "hide": ("post", "thread", "idea"),
    "restore": ("post", "thread", "idea"),
    "delete": ("post", "thread"),
    "edit": ("post",),
    "move": ("thread",),
    "lock": ("thread",),
    "unlock": ("thread",),
    "merge": ("thread",),
    "approve": ("post", "thread", "idea"),
    "reject": ("post", "thread", "idea"),
    # On a member, or on a post, thread or idea: then on its author.
    "warn": TARGET_TYPES,
    "suspend": TARGET_TYPES,
    "ban": TARGET_TYPES,
    "unban": ("member",),
    "set_trust": ("member",),
}
BULK_ACTIONS = ("dismiss", "hide", "restore", "delete", "approve", "reject")


def setting(name: str):
    return current_app.config.get(name, DEFAULTS[name])


def _by_level(name: str, member: Member):
    values = setting(name)
    return values[min(member.trust_level or 0, len(values) - 1)]


def _require_moderator(member) -> None:
    access.require(access.is_moderator(member), hide=True)


# ---- rate limits per trust level ----------------------------------------------------


def _rate_limiter() -> MovingWindowRateLimiter:
    """The `limits` engine Flask-Limiter uses, on the same storage (Redis when REDIS_URL
    is set), one per app."""
    key = "moderation_rate_limiter"
    if key not in current_app.extensions:
        uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
        current_app.extensions[key] = MovingWindowRateLimiter(storage_from_string(uri))
    return current_app.extensions[key]


def check_rate(member: Member, bucket: str) -> None:
    """Count one action of ``bucket`` (posting, voting, flagging) for the member, or
    refuse with when they may try again."""
    if not has_request_context():
        return
    enabled = setting("MODERATION_RATE_LIMITS_ENABLED")
    if enabled is None:
        enabled = current_app.config.get("RATELIMIT_ENABLED", True)
    if not enabled or access.is_moderator(member):
        return
    rates = setting("MODERATION_RATE_LIMITS")[bucket]
    rate = rates[min(member.trust_level or 0, len(rates) - 1)]
    item = parse(rate)
    limiter = _rate_limiter()
    keys = ("moderation", bucket, str(member.id))
    if limiter.hit(item, *keys):
        return
    reset_at, _remaining = limiter.get_window_stats(item, *keys)
    wait = max(1, math.ceil(reset_at - time.time()))
    when = utcnow() + timedelta(seconds=wait)
    raise RateLimited(
        f"Slow down: at trust level {member.trust_level} the limit for {bucket} is {rate}. "
        f"You may try again in {wait} seconds (at {when:%H:%M:%S} UTC).",
        retry_after=wait,
    )


# ---- trust levels ----------------------------------------------------------------------


@dataclass
class TrustStats:
    account_days: int
    days_visited: int
    posts_read: int
    replies: int
    kudos_received: int
    flags_against: int


def trust_stats(member: Member) -> TrustStats:
    replies = db.session.scalar(
        select(func.count(Post.id)).where(
            Post.author_id == member.id, Post.number > 0, Post.is_hidden.is_(False)
        )
    )
    kudos = db.session.scalar(
        select(func.coalesce(func.sum(Post.kudos_count), 0)).where(Post.author_id == member.id)
    )
    upheld = db.session.scalar(
        select(func.count(Flag.id))
        .join(ReviewItem, ReviewItem.id == Flag.item_id)
        .where(
            ReviewItem.author_id == member.id,
            ReviewItem.resolution.in_(("hide", "delete", "reject", "edit")),
        )
    )
    return TrustStats(
        account_days=(utcnow() - member.created_at).days,
        days_visited=member.days_visited or 0,
        posts_read=member.posts_read or 0,
        replies=replies or 0,
        kudos_received=int(kudos or 0),
        flags_against=upheld or 0,
    )


def compute_trust_level(member: Member) -> int:
    """The highest level whose every threshold the member meets (staff are level 4)."""
    if member.is_staff:
        return 4
    stats = trust_stats(member)
    level = 0
    thresholds = setting("MODERATION_TRUST_THRESHOLDS")
    for candidate in sorted(thresholds, key=int):
        need = thresholds[candidate]
        met = all(
            getattr(stats, name) >= need.get(name, 0)
            for name in ("account_days", "days_visited", "posts_read", "replies", "kudos_received")
        ) and stats.flags_against <= need.get("max_flags_against", 10**9)
        if not met:
            break
        level = int(candidate)
    return level


def refresh_trust(member: Member) -> int:
    """Recompute and store the member's level (a level a moderator locked stays)."""
    if member.trust_level_locked:
        return member.trust_level
    level = compute_trust_level(member)
    if level != member.trust_level:
        community.set_trust_level(member, level)
    return level


def member_ids() -> list[int]:
    return list(db.session.scalars(select(Member.id).order_by(Member.id)))


def refresh_trust_levels(ids) -> int:
    """Refresh each member's trust level (the daily job and `moderation trust`);
    returns how many changed."""
    changed = 0
    for member_id in ids:
        member = db.session.get(Member, member_id)
        before = member.trust_level
        if refresh_trust(member) != before:
            changed += 1
        db.session.expire_all()
    return changed


def set_trust(member: Member, level, by: Member, reason="", locked: bool = True) -> Member:
    _require_moderator(by)
    reason = community.moderation_reason(reason, required=False)
    before = {"trust_level": member.trust_level, "locked": member.trust_level_locked}
    community.set_trust_level(member, level, by=by, locked=locked)
    after = {"trust_level": member.trust_level, "locked": member.trust_level_locked}
    _audit(by, "set_trust", "member", member.id, member.display_name, reason, before, after)
    db.session.commit()
    return member


# ---- screening: trust gates and spam rules -------------------------------------------


def links_in(text: str) -> list[str]:
    return URL.findall(text or "")


def _domain(link: str) -> str:
    if not link.lower().startswith("http"):
        link = "http://" + link
    return (urlsplit(link).hostname or "").lower()


def _blocked(kind: str) -> list[str]:
    configured = setting(
        "MODERATION_BLOCKED_WORDS" if kind == "word" else "MODERATION_BLOCKED_DOMAINS"
    )
    stored = db.session.scalars(select(SpamRule.value).where(SpamRule.kind == kind))
    return [v.strip().lower() for v in [*configured, *stored] if v and v.strip()]


def spam_reasons(author: Member, kind: str, title: str, text: str) -> list[str]:
    """Why content should wait for approval (empty: publish it)."""
    reasons = []
    words = f"{title}\n{text}".lower()
    for word in _blocked("word"):
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", words):
            reasons.append(f"blocked word “{word}”")
            break
    links = links_in(text)
    domains = {_domain(link) for link in links}
    for blocked in _blocked("domain"):
        if any(d == blocked or d.endswith("." + blocked) for d in domains):
            reasons.append(f"link to blocked domain {blocked}")
            break
    if len(links) >= setting("MODERATION_SPAM_LINKS") and author.trust_level < 3:
        reasons.append(f"{len(links)} links")
    if links and author.trust_level == 0:
        published = db.session.scalar(
            select(func.count(Post.id)).where(
                Post.author_id == author.id, Post.is_hidden.is_(False)
            )
        )
        if published < setting("MODERATION_FIRST_POSTS"):
            reasons.append("a new member's first posts with links")
    if kind in ("thread", "reply") and text.strip():
        since = utcnow() - timedelta(hours=setting("MODERATION_REPEAT_HOURS"))
        repeated = db.session.scalar(
            select(Post.id).where(
                Post.author_id == author.id, Post.body == text.strip(), Post.created_at >= since
            )
        )
        if repeated:
            reasons.append("the same text was posted in another thread")
    return reasons


def _count_since(model, author_id: int, since: datetime) -> tuple[int, datetime | None]:
    count, oldest = db.session.execute(
        select(func.count(model.id), func.min(model.created_at)).where(
            model.author_id == author_id, model.created_at >= since
        )
    ).one()
    return count or 0, oldest


def screen(author: Member, kind: str, title="", text="", space: Space | None = None, **_):
    """content_submitted receiver: refuse what the author's trust level does not allow,
    hold spam for approval, let the rest through."""
    if not has_request_context() or not setting("MODERATION_SCREENING"):
        return None
    if access.is_moderator(author):
        return None
    check_rate(author, "posting")
    level = author.trust_level or 0
    links = links_in(text)
    most = _by_level("MODERATION_LINKS_PER_POST", author)
    if len(links) > most:
        raise Invalid(
            f"At trust level {level} a post may contain at most {most} "
            f"link{'s' if most != 1 else ''}.",
            fields={"body": f"At most {most} link{'s' if most != 1 else ''}."},
        )
    mentions = markup.mentioned_handles(text)
    most = _by_level("MODERATION_MENTIONS_PER_POST", author)
    if len(mentions) > most:
        raise Invalid(
            f"At trust level {level} a post may mention at most {most} members.",
            fields={"body": f"At most {most} mentions."},
        )
    daily = {"thread": (Thread, "MODERATION_THREADS_PER_DAY", "new threads"),
             "idea": (Idea, "MODERATION_IDEAS_PER_DAY", "ideas")}  # fmt: skip
    if kind in daily:
        model, name, what = daily[kind]
        most = _by_level(name, author)
        count, oldest = _count_since(model, author.id, utcnow() - timedelta(days=1))
        if count >= most:
            wait = int(((oldest + timedelta(days=1)) - utcnow()).total_seconds()) + 1
            when = utcnow() + timedelta(seconds=wait)
            raise RateLimited(
                f"At trust level {level} you may start {most} {what} a day. "
                f"You may try again at {when:%Y-%m-%d %H:%M} UTC.",
                retry_after=wait,
            )
    reasons = spam_reasons(author, kind, title, text)
    return "; ".join(reasons) if reasons else None


def on_vote_attempted(member: Member, kind="vote", target=None, **_):
    check_rate(member, "voting")


# ---- targets ----------------------------------------------------------------------------


@dataclass
class Target:
    type: str
    id: int
    obj: object
    author: Member | None
    title: str
    url: str
    text_html: str = ""
    hidden: bool = False
    state: str = "visible"  # visible, hidden, deleted, pending, merged, suspended, banned
    extra: dict = field(default_factory=dict)


def load_target(target_type, target_id, viewer) -> Target:
    """The flagged or acted-on thing, if the viewer may see it (404 otherwise)."""
    if target_type not in TARGET_TYPES:
        raise Invalid(
            f"target_type is one of: {', '.join(TARGET_TYPES)}.",
            fields={"target_type": "Unknown."},
        )
    if isinstance(target_id, str) and target_id.isdigit():
        target_id = int(target_id)
    if target_type == "post":
        post = community.get_post(target_id, viewer)
        return _post_target(post)
    if target_type == "thread":
        thread = community.get_thread(target_id, viewer)
        opening = community.opening_post(thread)
        if opening is None:  # merged away: its posts live in the other thread now
            return Target("thread", thread.id, thread, thread.author, thread.title,
                          url_for("community.thread", thread_id=thread.id), "", True, "merged",
                          {"space": thread.space.slug, "locked": thread.is_locked,
                           "opening": None})  # fmt: skip
        target = _post_target(opening)
        target.type, target.id, target.obj = "thread", thread.id, thread
        target.url = url_for("community.thread", thread_id=thread.id)
        if thread.merged_into_id:
            target.state = "merged"
        target.extra = {"space": thread.space.slug, "locked": thread.is_locked, "opening": opening}
        return target
    if target_type == "idea":
        idea = ideas.get_idea(target_id, viewer)
        state = "visible"
        if idea.hidden_at is not None:
            held = (idea.hidden_reason or "").startswith("Awaiting approval")
            state = "pending" if held else "hidden"
        return Target("idea", idea.id, idea, idea.author, idea.title,
                      url_for("ideas.idea", idea_id=idea.id), idea.body_html,
                      idea.hidden_at is not None, state)  # fmt: skip
    member = community.get_member(target_id)
    state = "banned" if member.is_banned else "suspended" if member.is_suspended else "visible"
    return Target("member", member.id, member, member, member.display_name,
                  url_for("community.profile", member_id=member.id),
                  markup.render(member.bio or ""), False, state)  # fmt: skip


def _post_target(post: Post) -> Target:
    state = "visible"
    if post.deleted_at is not None:
        state = "deleted"
    elif post.pending_reason is not None:
        state = "pending"
    elif post.is_hidden:
        state = "hidden"
    title = post.thread.title if post.is_opening else f"Reply in “{post.thread.title}”"
    return Target("post", post.id, post, post.author, title,
                  url_for("community.post", post_id=post.id), post.body_html,
                  post.is_hidden, state)  # fmt: skip


# ---- flags and the queue ------------------------------------------------------------------


def can_flag(member) -> bool:
    if not getattr(member, "is_authenticated", False) or member.is_suspended:
        return False
    return member.is_staff or (member.trust_level or 0) >= setting("MODERATION_FLAG_MIN_TRUST")


def _open_item(kind: str, target_type: str, target_id: int) -> ReviewItem | None:
    return db.session.scalar(
        select(ReviewItem).where(
            ReviewItem.kind == kind,
            ReviewItem.target_type == target_type,
            ReviewItem.target_id == target_id,
            ReviewItem.status == "open",
        )
    )


def flag(by: Member, target_type, target_id, reason, note="") -> Flag:
    """One flag per member per item; enough trusted flags hide the content pending review."""
    if by.is_suspended:
        raise NotAllowed("Suspended members cannot flag.")
    if not can_flag(by):
        raise NotAllowed(
            f"Flagging opens at trust level {setting('MODERATION_FLAG_MIN_TRUST')}: "
            "read a little more of the community first."
        )
    target = load_target(target_type, target_id, by)
    errors: dict = {}
    if reason not in FLAG_REASONS:
        errors["reason"] = f"One of: {', '.join(FLAG_REASONS)}."
    note = community.checked_text(
        note, "note", errors, minimum=1 if reason == "other" else 0, maximum=500
    )
    community.raise_if_invalid(errors)
    if target.author is not None and target.author.id == by.id:
        raise Invalid("You cannot flag your own contribution.")
    already = db.session.scalar(
        select(Flag.id).where(
            Flag.target_type == target.type, Flag.target_id == target.id, Flag.member_id == by.id
        )
    )
    if already:
        raise Conflict("You have already flagged this.")
    check_rate(by, "flagging")
    now = utcnow()
    item = _open_item("flags", target.type, target.id)
    if item is None:
        item = ReviewItem(
            kind="flags", target_type=target.type, target_id=target.id,
            author_id=target.author.id if target.author else None, status="open",
            flag_count=0, detail="", created_at=now, last_activity_at=now,
        )  # fmt: skip
        db.session.add(item)
        db.session.flush()
    new = Flag(
        item_id=item.id, target_type=target.type, target_id=target.id, member_id=by.id,
        reason=reason, note=note, trust_level=by.trust_level or 0, created_at=now,
    )  # fmt: skip
    db.session.add(new)
    item.flag_count = (item.flag_count or 0) + 1
    item.last_activity_at = now
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict("You have already flagged this.") from error
    _maybe_auto_hide(item, target)
    _queue_changed(item)
    return new


def _maybe_auto_hide(item: ReviewItem, target: Target) -> None:
    if item.auto_hidden or target.state != "visible" or target.type == "member":
        return
    trusted = db.session.scalar(
        select(func.count(Flag.id)).where(
            Flag.item_id == item.id, Flag.trust_level >= setting("MODERATION_AUTO_HIDE_MIN_TRUST")
        )
    )
    threshold = setting("MODERATION_AUTO_HIDE_FLAGS")
    if trusted < threshold:
        return
    reason = f"Hidden automatically after {trusted} flags from trusted members, pending review."
    if target.type == "idea":
        ideas.hide_idea(target.obj, None, reason)
    else:
        post = target.extra["opening"] if target.type == "thread" else target.obj
        community.hide_post(post, None, reason)
    item.auto_hidden = True
    db.session.commit()


def _queue_changed(item: ReviewItem | None) -> None:
    from . import realtime  # socket emits only; imported late so services stay importable

    realtime.queue_changed(item.id if item else None)


@dataclass
class QueueEntry:
    item: ReviewItem
    target: Target | None
    author: Member | None
    recent_posts: list = field(default_factory=list)
    earlier_actions: list = field(default_factory=list)
    reasons: dict = field(default_factory=dict)


QUEUE_SORTS = ("newest", "most_flagged")


def open_items_query(sort="newest", kind=None):
    if sort not in QUEUE_SORTS:
        raise Invalid(f"Sort by one of: {', '.join(QUEUE_SORTS)}.", fields={"sort": "Unknown."})
    query = select(ReviewItem).where(ReviewItem.status == "open")
    if kind:
        query = query.where(ReviewItem.kind == kind)
    if sort == "most_flagged":
        return query.order_by(ReviewItem.flag_count.desc(), ReviewItem.last_activity_at.desc())
    return query.order_by(ReviewItem.last_activity_at.desc(), ReviewItem.id.desc())


def review_queue(viewer, *, sort="newest", kind=None, page=1, per_page=25):
    """Open items with their flags, target, and the author's history and trust level."""
    _require_moderator(viewer)
    if kind not in (None, "", "flags", "approval", "fraud"):
        raise Invalid("kind is flags, approval or fraud.", fields={"kind": "Unknown."})
    pagination = db.paginate(
        open_items_query(sort, kind or None),
        page=min(max(page, 1), community.MAX_PAGE),
        per_page=per_page,
        max_per_page=100,
        error_out=False,
    )
    entries = [queue_entry(item, viewer) for item in pagination.items]
    return pagination, entries


def queue_entry(item: ReviewItem, viewer) -> QueueEntry:
    try:
        target = load_target(item.target_type, item.target_id, viewer)
    except NotFound:
        target = None
    author = item.author
    entry = QueueEntry(item=item, target=target, author=author)
    for flag_row in item.flags:
        entry.reasons[flag_row.reason_label] = entry.reasons.get(flag_row.reason_label, 0) + 1
    if author is not None:
        entry.recent_posts = list(
            db.session.scalars(
                select(Post)
                .where(Post.author_id == author.id)
                .order_by(Post.created_at.desc())
                .limit(5)
            )
        )
        entry.earlier_actions = list(
            db.session.scalars(
                select(AuditEntry)
                .where(_about_member(author.id))
                .order_by(AuditEntry.created_at.desc())
                .limit(5)
            )
        )
    return entry


def _about_member(member_id: int):
    """Audit entries about a member or their content (author recorded in ``after``)."""
    return ((AuditEntry.target_type == "member") & (AuditEntry.target_id == member_id)) | (
        AuditEntry.after.like(f'%"author_id": {member_id}}}%')
        | AuditEntry.after.like(f'%"author_id": {member_id},%')
    )


def open_count() -> int:
    return db.session.scalar(select(func.count(ReviewItem.id)).where(ReviewItem.status == "open"))


def add_fraud_item(member: Member, detail: str) -> ReviewItem:
    """voting_fraud_detected: one open item per member, updated when seen again."""
    now = utcnow()
    item = _open_item("fraud", "member", member.id)
    if item is None:
        item = ReviewItem(
            kind="fraud", target_type="member", target_id=member.id, author_id=member.id,
            status="open", flag_count=0, detail=detail[:2000], created_at=now,
            last_activity_at=now,
        )  # fmt: skip
        db.session.add(item)
    else:
        item.detail = detail[:2000]
        item.last_activity_at = now
    db.session.commit()
    _queue_changed(item)
    return item


def add_approval_item(content, author: Member, reason: str) -> ReviewItem:
    """content_held (inside the holding transaction): an approval item for the queue."""
    if isinstance(content, Idea):
        target_type, target_id = "idea", content.id
    elif content.is_opening:
        target_type, target_id = "thread", content.thread_id
    else:
        target_type, target_id = "post", content.id
    now = utcnow()
    item = ReviewItem(
        kind="approval", target_type=target_type, target_id=target_id, author_id=author.id,
        status="open", flag_count=0, detail=reason[:2000], created_at=now, last_activity_at=now,
    )  # fmt: skip
    db.session.add(item)
    return item


# ---- actions ------------------------------------------------------------------------------


def _audit(by, action, target_type, target_id, label="", reason="", before=None, after=None):
    """Add an audit entry to the open transaction (the caller commits)."""
    entry = AuditEntry(
        actor_id=by.id if by is not None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=(label or "")[:300],
        reason=reason or "",
        before=json.dumps(before, sort_keys=True, default=str) if before is not None else None,
        after=json.dumps(after, sort_keys=True, default=str) if after is not None else None,
        created_at=utcnow(),
    )
    db.session.add(entry)
    return entry


def _resolve(target_type: str, target_id: int, by: Member, resolution: str) -> int:
    items = db.session.scalars(
        select(ReviewItem).where(
            ReviewItem.target_type == target_type,
            ReviewItem.target_id == target_id,
            ReviewItem.status == "open",
        )
    ).all()
    now = utcnow()
    for item in items:
        item.status = "resolved"
        item.resolved_at = now
        item.resolved_by_id = by.id
        item.resolution = resolution
    return len(items)


def _parse_until(value) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        raise Invalid("Say until when (ISO-8601).", fields={"until": "Required."})
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("until must be an ISO-8601 date.", fields={"until": "Not a date."}) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    if moment.year > 9000:
        raise Invalid("until is too far away.", fields={"until": "Too far away."})
    return moment


def _into_thread(into, by) -> Thread:
    if isinstance(into, str) and into.isdigit():
        into = int(into)
    if not isinstance(into, int) or isinstance(into, bool):
        raise Invalid("Say which thread to merge into.", fields={"into": "A thread id."})
    return community.get_thread(into, by)


def _into_space(into, by) -> Space:
    if not isinstance(into, str) or not into:
        raise Invalid("Say which space to move to.", fields={"into": "A space slug."})
    return community.get_space(into, by)


def act(by: Member, action, target_type, target_id, reason="", *, until=None, into=None,
        body=None, level=None) -> Target:  # fmt: skip
    """One moderator action on one target; resolves its open queue items. Events sent
    by the owners' services write the audit entries and tell the author."""
    _require_moderator(by)
    if action not in ACTIONS:
        raise Invalid(f"action is one of: {', '.join(ACTIONS)}.", fields={"action": "Unknown."})
    target = load_target(target_type, target_id, by)
    if target.type not in ACTIONS[action]:
        raise Invalid(
            f"{action} applies to: {', '.join(ACTIONS[action])}.",
            fields={"target_type": "Not for this action."},
        )
    reason = reason if isinstance(reason, str) else ""
    resolution = action
    if action == "dismiss":
        reason = community.moderation_reason(reason, required=False)
        _audit(by, "dismiss", target.type, target.id, target.title, reason,
               after={"author_id": target.author.id if target.author else None})  # fmt: skip
    elif action in ("hide", "restore", "delete", "approve", "reject"):
        _content_action(by, action, target, reason)
    elif action == "edit":
        post = target.obj
        community.edit_post(post, by, body, reason=reason)
    elif action == "move":
        community.move_thread(target.obj, _into_space(into, by), by, reason)
    elif action in ("lock", "unlock"):
        community.lock_thread(target.obj, by, reason, locked=action == "lock")
    elif action == "merge":
        community.merge_threads(target.obj, _into_thread(into, by), by, reason)
    elif action in ("warn", "suspend", "ban"):
        member = target.author
        if member is None:
            raise Invalid("Nobody to act on.")
        if action == "warn":
            community.warn_member(member, by, reason)
        elif action == "suspend":
            community.suspend_member(member, _parse_until(until), by, reason)
        else:
            community.ban_member(member, by, reason)
    elif action == "unban":
        community.unban_member(target.obj, by)
        _audit(by, "unban", "member", target.id, target.title, reason)
    elif action == "set_trust":
        if isinstance(level, str) and level.isdigit():
            level = int(level)
        set_trust(target.obj, level, by, reason)
    if action not in ("set_trust", "unban", "unlock"):
        _resolve(target.type, target.id, by, resolution)
        if action == "delete" and target.type == "thread":
            _resolve("post", target.extra["opening"].id, by, resolution)
    db.session.commit()
    _queue_changed(None)
    return target


def _content_action(by: Member, action: str, target: Target, reason: str) -> None:
    if target.type == "idea":
        idea = target.obj
        if action == "hide":
            ideas.hide_idea(idea, by, reason)
        elif action in ("restore", "approve"):
            if action == "approve" and target.state != "pending":
                raise Conflict("This idea is not waiting for approval.")
            ideas.restore_idea(idea, by, reason)
            if action == "approve":
                _audit(by, "approve", "idea", idea.id, idea.title, reason,
                       after={"author_id": idea.author_id})  # fmt: skip
        elif action == "reject":
            if target.state != "pending":
                raise Conflict("This idea is not waiting for approval.")
            _audit(by, "reject", "idea", idea.id, idea.title, reason,
                   after={"author_id": idea.author_id})  # fmt: skip
        return
    post = target.extra["opening"] if target.type == "thread" else target.obj
    if post is None:
        raise Conflict("This thread was merged into another; act on that one.")
    if action == "hide":
        community.hide_post(post, by, reason)
    elif action == "restore":
        community.restore_post(post, by, reason)
    elif action == "delete":
        community.delete_post(post, by, reason)
    elif action == "approve":
        community.approve_post(post, by)
        _audit(by, "approve", target.type, target.id, target.title, reason,
               after={"author_id": post.author_id})  # fmt: skip
    elif action == "reject":
        if post.pending_reason is None:
            raise Conflict("This post is not waiting for approval.")
        community.delete_post(post, by, reason or "Rejected by a moderator.")


@dataclass
class BulkResult:
    done: list[int]
    failed: dict[int, str]


def act_on_items(by: Member, action, item_ids, reason="") -> BulkResult:
    """The same action on several queue items; each succeeds or fails on its own."""
    _require_moderator(by)
    if action not in BULK_ACTIONS:
        raise Invalid(
            f"Bulk actions: {', '.join(BULK_ACTIONS)}.", fields={"action": "Not in bulk."}
        )
    if (
        not isinstance(item_ids, list)
        or not item_ids
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in item_ids)
    ):
        raise Invalid("Choose one or more items.", fields={"item_ids": "A list of item ids."})
    result = BulkResult(done=[], failed={})
    for item_id in item_ids[:100]:
        item = community.row_by_id(ReviewItem, item_id)
        if item is None or item.status != "open":
            result.failed[item_id] = "No such open item."
            continue
        try:
            act(by, action, item.target_type, item.target_id, reason)
        except (Invalid, Conflict, NotAllowed, NotFound) as error:
            db.session.rollback()
            result.failed[item_id] = error.message
        else:
            result.done.append(item_id)
    return result


# ---- the audit log -------------------------------------------------------------------------


def audit_query(viewer, *, actor=None, action=None, date_from=None, date_to=None):
    _require_moderator(viewer)
    query = select(AuditEntry)
    if actor:
        if isinstance(actor, str) and actor.isdigit():
            query = query.where(AuditEntry.actor_id == int(actor))
        else:
            handle = str(actor).strip().lstrip("@").lower()
            query = query.where(
                AuditEntry.actor_id.in_(select(Member.id).where(Member.handle == handle))
            )
    if action:
        query = query.where(AuditEntry.action == str(action)[:40])
    if date_from:
        query = query.where(AuditEntry.created_at >= _day(date_from, "from"))
    if date_to:
        query = query.where(AuditEntry.created_at < _day(date_to, "to") + timedelta(days=1))
    return query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def _day(value, name: str) -> datetime:
    try:
        return datetime.fromisoformat(str(value)[:10])
    except ValueError:
        raise Invalid(
            f"{name} must be a date (YYYY-MM-DD).", fields={name: "Not a date."}
        ) from None


def audit_log(viewer, *, page=1, per_page=50, **filters):
    return db.paginate(
        audit_query(viewer, **filters),
        page=min(max(page, 1), community.MAX_PAGE),
        per_page=per_page,
        max_per_page=100,
        error_out=False,
    )


def audit_actions() -> list[str]:
    return list(
        db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    )


CSV_COLUMNS = ("id", "created_at", "actor", "action", "target_type", "target_id", "target",
               "reason", "before", "after")  # fmt: skip


def audit_csv(viewer, **filters):
    """The filtered audit log as CSV text, streamed in chunks."""
    query = audit_query(viewer, **filters)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for entry in db.session.scalars(query.execution_options(yield_per=500)):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([
            entry.id, entry.created_at.isoformat(timespec="seconds") + "Z",
            entry.actor.handle if entry.actor else "system", entry.action, entry.target_type,
            entry.target_id, _csv_safe(entry.target_label), _csv_safe(entry.reason),
            entry.before or "", entry.after or "",
        ])  # fmt: skip
        yield buffer.getvalue()


def _csv_safe(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# ---- the spam report -----------------------------------------------------------------------


@dataclass
class SpamReport:
    open: int
    approved: int
    rejected: int
    by_week: list[tuple[str, int, int]]


def spam_report(viewer, weeks: int = 8) -> SpamReport:
    _require_moderator(viewer)
    rows = db.session.execute(
        select(ReviewItem.resolution, ReviewItem.status, ReviewItem.resolved_at).where(
            ReviewItem.kind == "approval"
        )
    ).all()
    approved = sum(1 for r in rows if r.resolution == "approve")
    rejected = sum(1 for r in rows if r.resolution in ("reject", "delete"))
    still_open = sum(1 for r in rows if r.status == "open")
    today = utcnow().date()
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    buckets = {start + timedelta(weeks=n): [0, 0] for n in range(weeks)}
    for r in rows:
        if r.resolved_at is None:
            continue
        day = r.resolved_at.date()
        monday = day - timedelta(days=day.weekday())
        if monday in buckets:
            buckets[monday][0 if r.resolution == "approve" else 1] += 1
    by_week = [(monday.isoformat(), a, b) for monday, (a, b) in sorted(buckets.items())]
    return SpamReport(still_open, approved, rejected, by_week)


def spam_rules(viewer) -> list[SpamRule]:
    _require_moderator(viewer)
    return list(db.session.scalars(select(SpamRule).order_by(SpamRule.kind, SpamRule.value)))


def add_spam_rule(by: Member, kind, value) -> SpamRule:
    _require_moderator(by)
    errors: dict = {}
    if kind not in ("word", "domain"):
        errors["kind"] = "word or domain."
    value = community.checked_text(value, "value", errors, maximum=200).lower()
    community.raise_if_invalid(errors)
    rule = db.session.scalar(select(SpamRule).where(SpamRule.kind == kind, SpamRule.value == value))
    if rule is None:
        rule = SpamRule(kind=kind, value=value)
        db.session.add(rule)
        _audit(by, "add_spam_rule", "spam_rule", None, f"{kind}: {value}")
        db.session.commit()
    return rule


def remove_spam_rule(by: Member, rule_id) -> None:
    _require_moderator(by)
    rule = community.row_by_id(SpamRule, rule_id)
    if rule is None:
        raise NotFound("No such rule.")
    _audit(by, "remove_spam_rule", "spam_rule", rule.id, f"{rule.kind}: {rule.value}")
    db.session.delete(rule)
    db.session.commit()
