"""Community use cases: the only place that changes community state.

Each function validates its input, loads what it needs, asks the access policy,
writes in one transaction, commits once, and then sends its domain events.
Functions never look at the request: views pass the acting member as ``by``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app, url_for
from sqlalchemy import and_, delete, false, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from . import access, cache, events, markup, shared_pages
from .errors import Conflict, Invalid, NotAllowed, NotFound
from .extensions import db
from .models import (
    ACTIVE_SPACE_ROLES,
    ROLES,
    SPACE_KINDS,
    SPACE_ROLES,
    SPACE_VISIBILITIES,
    THREAD_KINDS,
    ApiToken,
    EmailOutbox,
    Kudos,
    Member,
    MemberRole,
    Notification,
    Post,
    Space,
    SpaceFollow,
    SpaceMembership,
    Tag,
    Thread,
    ThreadFollow,
    ThreadView,
    utcnow,
)

HANDLE_CLEAN = re.compile(r"[^a-z0-9]+")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
TAG = re.compile(r"^[a-z0-9][a-z0-9+#.-]{0,29}$")
PASSWORD_MIN = 10
PASSWORD_MAX = 256
DISPLAY_NAME_MAX = 80
BIO_MAX = 2000


# ---- helpers ----------------------------------------------------------------


def _cfg(name: str):
    return current_app.config[name]


def _hasher() -> PasswordHasher:
    """argon2id with the configured cost (tests use a cheap one)."""
    return PasswordHasher(
        time_cost=_cfg("PASSWORD_HASH_TIME_COST"),
        memory_cost=_cfg("PASSWORD_HASH_MEMORY_KIB"),
        parallelism=_cfg("PASSWORD_HASH_PARALLELISM"),
    )


def checked_text(value, field: str, errors: dict, *, minimum: int = 1, maximum: int) -> str:
    """Stripped text within the length limits; records a field error otherwise."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = "Must be text."
        return ""
    value = value.replace("\x00", "").strip()  # NUL has no place in text (PostgreSQL refuses it)
    if len(value) < minimum:
        errors[field] = "Required." if minimum <= 1 else f"At least {minimum} characters."
    elif len(value) > maximum:
        errors[field] = f"At most {maximum:,} characters."
    return value


# Ids and page numbers beyond what SQL integers hold are simply not found / empty.
MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL
MAX_PAGE = 10**12


def row_by_id(model, value):
    """The row with this id, or None for anything that cannot be one of its ids."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_ID:
        return None
    return db.session.get(model, value)


def raise_if_invalid(errors: dict) -> None:
    if errors:
        raise Invalid("Please correct the highlighted fields.", fields=errors)


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict("That conflicts with a change made at the same time; try again.") from error


def _mention_resolver():
    def resolve(handle: str) -> str | None:
        member_id = db.session.scalar(select(Member.id).where(Member.handle == handle))
        return url_for("community.profile", member_id=member_id) if member_id else None

    return resolve


def render_body(body: str) -> str:
    return markup.render(body, _mention_resolver())


# ---- members ----------------------------------------------------------------


def _unique_handle(display_name: str) -> str:
    base = HANDLE_CLEAN.sub("-", display_name.lower()).strip("-")[:30] or "member"
    if len(base) < 2:
        base = f"{base}-member"
    taken = set(db.session.scalars(select(Member.handle).where(Member.handle.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _checked_email(value, errors: dict) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["email"] = "Required."
        return ""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        errors["email"] = str(error)
        return ""


def _checked_password(value, field: str, errors: dict) -> str:
    if not isinstance(value, str) or not value:
        errors[field] = "Required."
    elif len(value) < PASSWORD_MIN:
        errors[field] = f"At least {PASSWORD_MIN} characters."
    elif len(value) > PASSWORD_MAX:
        errors[field] = f"At most {PASSWORD_MAX} characters."
    return value if isinstance(value, str) else ""


def register_member(email, display_name, password) -> Member:
    errors: dict = {}
    email = _checked_email(email, errors)
    display_name = checked_text(
        display_name, "display_name", errors, minimum=2, maximum=DISPLAY_NAME_MAX
    )
    password = _checked_password(password, "password", errors)
    if email and "email" not in errors:
        exists = db.session.scalar(select(Member.id).where(Member.email_key == email.lower()))
        if exists:
            errors["email"] = "An account with this e-mail address already exists."
    raise_if_invalid(errors)
    member = Member(
        email=email,
        email_key=email.lower(),
        handle=_unique_handle(display_name),
        display_name=display_name,
        password_hash=_hasher().hash(password),
        bio="",
        session_epoch=0,
    )
    db.session.add(member)
    try:
        db.session.flush()
        sent = events.record(events.member_joined, member)
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise Invalid(
            "Please correct the highlighted fields.",
            fields={"email": "An account with this e-mail address already exists."},
        ) from error
    sent()
    return member


# A valid hash to verify against when the e-mail is unknown, so both paths take
# the same time and answer the same message.
_DUMMY_HASH = (
    "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$"
    "0aXPPWG+p6ftvuN5fvOaRHtnfI2FkoJLp8AnZ2pnyzQ"
)


def authenticate(email, password) -> Member:
    message = "Wrong e-mail address or password."
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise Invalid(message, fields={"password": message})
    member = db.session.scalar(select(Member).where(Member.email_key == email.strip().lower()))
    hasher = _hasher()
    try:
        hasher.verify(member.password_hash if member else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        member = None
    if member is None:
        raise Invalid(message, fields={"password": message})
    if member.is_banned:
        banned = "This account is banned from the community."
        raise Invalid(banned, fields={"password": banned})
    if hasher.check_needs_rehash(member.password_hash):
        member.password_hash = hasher.hash(password)
    member.last_seen_at = utcnow()
    db.session.commit()
    return member


def change_password(member: Member, current, new) -> None:
    """Ends every other session of the member: their epoch moves on."""
    errors: dict = {}
    try:
        _hasher().verify(member.password_hash, current if isinstance(current, str) else "")
    except (VerificationError, InvalidHashError):
        errors["current_password"] = "That is not your current password."  # noqa: S105
    new = _checked_password(new, "new_password", errors)
    raise_if_invalid(errors)
    member.password_hash = _hasher().hash(new)
    member.session_epoch += 1
    db.session.commit()
    events.sessions_ended.send(member, session_key=None)


def end_session(member: Member, session_key: str | None) -> None:
    """Sign-out: only the signing-out browser's connections end."""
    events.sessions_ended.send(member, session_key=session_key)


def update_profile(member: Member, display_name, bio) -> Member:
    errors: dict = {}
    display_name = checked_text(
        display_name, "display_name", errors, minimum=2, maximum=DISPLAY_NAME_MAX
    )
    bio = checked_text(bio, "bio", errors, minimum=0, maximum=BIO_MAX)
    raise_if_invalid(errors)
    changed = set()
    if display_name != member.display_name:
        member.display_name = display_name
        changed.add("display_name")
    if bio != member.bio:
        member.bio = bio
        changed.add("bio")
    if not changed:
        db.session.commit()
        return member
    sent = events.record(events.member_updated, member, changed=changed, by=member)
    db.session.commit()
    sent()
    return member


def set_roles(member: Member, roles: Iterable[str], by: Member) -> Member:
    access.require(access.can_manage_spaces(by), message="Only admins assign roles.")
    if isinstance(roles, str) or not all(isinstance(r, str) for r in roles):
        raise Invalid("Roles must be a list of names.", fields={"roles": "Must be a list."})
    wanted = {r for r in roles if r != "member"}
    if member.id == by.id and "admin" not in wanted:
        raise Invalid(
            "You cannot remove your own admin role.",
            fields={"roles": "Ask another admin to do it."},
        )
    return grant_roles(member, wanted, by=by)


def grant_roles(member: Member, roles: Iterable[str], by: Member | None = None) -> Member:
    """Set exactly these roles; for operators at the command line and set_roles."""
    wanted = {r for r in roles if r != "member"}
    unknown = wanted - set(ROLES)
    if unknown:
        raise Invalid("Unknown role.", fields={"roles": f"Unknown: {', '.join(sorted(unknown))}"})
    current = {row.role: row for row in member.role_rows}
    for role in set(current) - wanted:
        member.role_rows.remove(current[role])
    for role in wanted - set(current):
        member.role_rows.append(MemberRole(role=role))
    sent = events.record(events.member_updated, member, changed={"roles"}, by=by)
    db.session.commit()
    sent()
    return member


def suspend_member(member: Member, until: datetime, by: Member, reason: str) -> Member:
    """Suspended members can read but not post, vote, flag or give kudos."""
    access.require(access.is_moderator(by), message="Only moderators suspend members.")
    errors: dict = {}
    reason = checked_text(reason, "reason", errors, maximum=500)
    if not isinstance(until, datetime) or until <= utcnow():
        errors["until"] = "Must be a date in the future."
    raise_if_invalid(errors)
    member.suspended_until = until
    sent = events.record(events.member_suspended, member, until=until, by=by, reason=reason)
    db.session.commit()
    sent()
    return member


_UNCHANGED = object()
CUSTOMER_FIELDS_MAX = 50


def set_customer_attributes(
    member: Member,
    customer_value,
    segment,
    by: Member | None,
    *,
    tier=_UNCHANGED,
    account_name=_UNCHANGED,
    renewal_on=_UNCHANGED,
    fields=_UNCHANGED,
) -> Member:
    """The customer facts the CRM knows (by=None: the CRM bridge) or an admin sets.
    Keyword facts left out keep their value; custom `fields` replace the old ones."""
    if by is not None:
        access.require(access.can_manage_spaces(by), message="Only admins set customer data.")
    errors: dict = {}
    value = None
    if customer_value not in (None, ""):
        try:
            value = Decimal(str(customer_value).replace(",", "").strip())
        except (InvalidOperation, ValueError):
            errors["customer_value"] = "Must be an amount, such as 12000 or 12000.50."
        else:
            if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
                errors["customer_value"] = "Must be between 0 and 999,999,999,999."
    segment = checked_text(segment, "segment", errors, minimum=0, maximum=60) or None
    changed = {"customer_value", "segment"}
    facts: dict = {}
    if tier is not _UNCHANGED:
        facts["tier"] = checked_text(tier, "tier", errors, minimum=0, maximum=40) or None
    if account_name is not _UNCHANGED:
        facts["account_name"] = (
            checked_text(account_name, "account_name", errors, minimum=0, maximum=120) or None
        )
    if renewal_on is not _UNCHANGED:
        facts["renewal_on"] = _checked_date(renewal_on, "renewal_on", errors)
    if fields is not _UNCHANGED:
        facts["customer_fields"] = _checked_fields(fields, errors)
    raise_if_invalid(errors)
    member.customer_value = value.quantize(Decimal("0.01")) if value is not None else None
    member.segment = segment
    for name, fact in facts.items():
        setattr(member, name, fact)
    changed |= set(facts)
    sent = events.record(events.member_updated, member, changed=changed, by=by)
    db.session.commit()
    sent()
    return member


def _checked_date(value, field: str, errors: dict) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = "Must be a date such as 2027-03-31."
        return None


def _checked_fields(value, errors: dict) -> dict:
    """Custom fields: a flat object of short names to text, numbers, booleans or null."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or len(value) > CUSTOMER_FIELDS_MAX:
        errors["fields"] = f"Must be an object of at most {CUSTOMER_FIELDS_MAX} fields."
        return {}
    clean = {}
    for name, item in value.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,39}", name):
            errors["fields"] = f"{str(name)[:40]!r} is not a field name (letters, digits, _)."
            return {}
        if isinstance(item, str):
            item = item[:500]
        elif not (item is None or isinstance(item, bool | int | float)):
            errors["fields"] = f"{name}: must be text, a number, true/false or empty."
            return {}
        clean[name] = item
    return clean


def get_member(member_id) -> Member:
    member = row_by_id(Member, member_id)
    if member is None:
        raise NotFound("No such member.")
    return member


def find_member_by_email(email: str) -> Member | None:
    return db.session.scalar(select(Member).where(Member.email_key == email.strip().lower()))


# ---- API tokens -------------------------------------------------------------


def issue_api_token(member: Member, name) -> tuple[ApiToken, str]:
    """Returns the token row and its plaintext, which is shown once and never stored."""
    errors: dict = {}
    name = checked_text(name or "API token", "name", errors, maximum=80)
    raise_if_invalid(errors)
    plaintext = "prl_" + secrets.token_urlsafe(32)
    token = ApiToken(
        member_id=member.id, name=name, digest=ApiToken.digest_of(plaintext), prefix=plaintext[:10]
    )
    db.session.add(token)
    db.session.commit()
    return token, plaintext


def revoke_api_token(member: Member, token_id) -> None:
    token = row_by_id(ApiToken, token_id)
    if token is None or token.member_id != member.id:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()


def member_for_token(plaintext: str) -> Member | None:
    token = db.session.scalar(
        select(ApiToken).where(
            ApiToken.digest == ApiToken.digest_of(plaintext), ApiToken.revoked_at.is_(None)
        )
    )
    if token is None or token.member.is_banned:
        return None
    now = utcnow()
    # Record use at most every few minutes: a write per API call would be waste.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
        db.session.commit()
    return token.member


def api_tokens(member: Member) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.member_id == member.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )


# ---- spaces -----------------------------------------------------------------


def _space_fields(data: dict, errors: dict, *, creating: bool) -> dict:
    fields = {}
    if creating or "name" in data:
        fields["name"] = checked_text(data.get("name"), "name", errors, minimum=2, maximum=80)
    if creating or "slug" in data:
        slug = data.get("slug")
        if not isinstance(slug, str) or not SLUG.match(slug.strip()):
            errors["slug"] = "2-60 lower-case letters, digits and dashes."
        else:
            fields["slug"] = slug.strip()
    if creating or "description" in data:
        fields["description"] = checked_text(
            data.get("description"), "description", errors, minimum=0, maximum=2000
        )
    if "position" in data:
        position = data["position"]
        if isinstance(position, str) and position.strip().lstrip("-").isdigit():
            position = int(position)
        if not isinstance(position, int) or isinstance(position, bool):
            errors["position"] = "Must be a whole number."
        else:
            fields["position"] = position
    if creating or "kind" in data:
        kind = data.get("kind") or "forum"
        if kind not in SPACE_KINDS:
            errors["kind"] = f"One of: {', '.join(SPACE_KINDS)}."
        fields["kind"] = kind
    if creating or "visibility" in data:
        visibility = data.get("visibility") or "public"
        if visibility not in SPACE_VISIBILITIES:
            errors["visibility"] = f"One of: {', '.join(SPACE_VISIBILITIES)}."
        fields["visibility"] = visibility
    if fields.get("kind") == "advisory" and fields.get("visibility") == "public":
        errors["visibility"] = "An advisory space is always private."
    return fields


def create_space(by: Member, **data) -> Space:
    access.require(access.can_manage_spaces(by), message="Only admins create spaces.")
    errors: dict = {}
    fields = _space_fields(data, errors, creating=True)
    if "slug" in fields and db.session.scalar(select(Space.id).where(Space.slug == fields["slug"])):
        errors["slug"] = "A space with this address already exists."
    raise_if_invalid(errors)
    if "position" not in fields:
        fields["position"] = (db.session.scalar(select(func.max(Space.position))) or 0) + 1
    space = Space(**fields)
    db.session.add(space)
    db.session.flush()
    if space.is_private:
        db.session.add(SpaceMembership(space_id=space.id, member_id=by.id, role="host"))
    sent = events.record(events.space_created, space, by=by)
    _commit()
    sent()
    return space


def update_space(space: Space, by: Member, **data) -> Space:
    access.require(access.can_manage_spaces(by), message="Only admins edit spaces.")
    errors: dict = {}
    fields = _space_fields({k: v for k, v in data.items() if k != "slug"}, errors, creating=False)
    kind, visibility = fields.get("kind", space.kind), fields.get("visibility", space.visibility)
    if kind == "advisory" and visibility == "public":
        errors["visibility"] = "An advisory space is always private."
    raise_if_invalid(errors)
    for key, value in fields.items():
        setattr(space, key, value)
    sent = events.record(events.space_updated, space, by=by)
    _commit()
    sent()
    return space


def get_space(slug, viewer) -> Space:
    space = (
        db.session.scalar(select(Space).where(Space.slug == slug))
        if isinstance(slug, str)
        else None
    )
    if space is None or not access.can_view_space(viewer, space):
        raise NotFound("No such space.")
    return space


@dataclass
class SpaceSummary:
    space: Space
    thread_count: int
    post_count: int
    last_activity: datetime | None


def space_summaries(viewer) -> list[SpaceSummary]:
    """The spaces the viewer may see, with the counts everyone sees (threads and
    posts not hidden by moderators). The counts are one grouped query, kept until
    the next change: the same for every viewer, so signed-in pages share them."""
    counts = cache.remember("space-counts", _space_counts)
    return [
        SpaceSummary(space, *counts.get(space.id, (0, 0, None))) for space in list_spaces(viewer)
    ]


def _space_counts() -> dict[int, tuple[int, int, datetime | None]]:
    rows = db.session.execute(
        select(
            Thread.space_id,
            func.count(Thread.id),
            func.coalesce(func.sum(Thread.reply_count + 1), 0),
            func.max(Thread.last_post_at),
        )
        .where(Thread.embed_url.is_(None), Thread.is_hidden == false())
        .group_by(Thread.space_id)
    ).all()
    return {space_id: (threads, posts, last) for space_id, threads, posts, last in rows}


def list_spaces(viewer) -> list[Space]:
    return list(
        db.session.scalars(
            select(Space)
            .where(access.visible_space_filter(viewer))
            .order_by(Space.position, Space.name)
        )
    )


# ---- threads and posts ------------------------------------------------------


THREAD_SORTS = ("latest", "new", "unanswered", "solved")


def checked_tags(tags, errors: dict) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [t for t in re.split(r"[,\s]+", tags) if t]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errors["tags"] = "Must be a list of words."
        return []
    cleaned = []
    for tag in tags:
        tag = tag.strip().lower().lstrip("#")
        if not TAG.match(tag):
            errors["tags"] = "Tags are 1-30 letters, digits, dashes or dots."
            return []
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > _cfg("TAGS_MAX"):
        errors["tags"] = f"At most {_cfg('TAGS_MAX')} tags."
    return cleaned


def tag_rows(names: list[str]) -> list[Tag]:
    rows = []
    for name in names:
        tag = db.session.scalar(select(Tag).where(Tag.name == name))
        if tag is None:
            try:
                with db.session.begin_nested():
                    tag = Tag(name=name)
                    db.session.add(tag)
            except IntegrityError:  # created by someone else meanwhile
                tag = db.session.scalar(select(Tag).where(Tag.name == name))
        rows.append(tag)
    return rows


def _title(value, errors: dict) -> str:
    return checked_text(
        value, "title", errors, minimum=_cfg("TITLE_MIN"), maximum=_cfg("TITLE_MAX")
    )


def _body(value, errors: dict) -> str:
    return checked_text(value, "body", errors, maximum=_cfg("BODY_MAX"))


def create_thread(space: Space, author: Member, kind, title, body, tags=None) -> Thread:
    access.require_visible(author, space)
    access.require(access.can_post_in(author, space), message="You cannot post here.")
    errors: dict = {}
    if kind not in THREAD_KINDS:
        errors["kind"] = "Choose question or discussion."
    title = _title(title, errors)
    body = _body(body, errors)
    tag_names = checked_tags(tags, errors)
    raise_if_invalid(errors)
    held = screen_content(author, "thread", title, body, space)
    now = utcnow()
    thread = Thread(
        space_id=space.id,
        author_id=author.id,
        kind=kind,
        title=title,
        created_at=now,
        last_post_at=now,
        last_poster_id=author.id,
        last_number=0,
        reply_count=0,
        view_count=0,
    )
    thread.space = space
    thread.tags = tag_rows(tag_names)
    db.session.add(thread)
    db.session.flush()
    post = Post(
        thread_id=thread.id,
        author_id=author.id,
        number=0,
        body=body,
        body_html=render_body(body),
        created_at=now,
    )
    db.session.add(post)
    db.session.add(ThreadFollow(thread_id=thread.id, member_id=author.id))
    if held:
        return _hold(post, thread, author, held)
    db.session.flush()
    notes = _notify_mentions(post, thread, author, markup.mentioned_handles(body))
    notes += _notify_space_followers(thread, author, skip={n.member_id for n in notes})
    sent = events.record(events.thread_created, thread, post=post)
    _commit()
    sent()
    _announce(notes)
    return thread


def start_attached_discussion(space: Space, author: Member, title, embed_url: str) -> Thread:
    """A discussion thread for something shown elsewhere (an idea's comments): it
    has every forum feature, but forum lists leave it out and its page is
    ``embed_url``. Added to the caller's transaction (flushed, not committed)."""
    now = utcnow()
    thread = Thread(
        space_id=space.id,
        author_id=author.id,
        kind="discussion",
        title=title,
        created_at=now,
        last_post_at=now,
        last_poster_id=author.id,
        last_number=0,
        reply_count=0,
        view_count=0,
        embed_url=embed_url,
    )
    thread.space = space
    db.session.add(thread)
    db.session.flush()
    body = f"Comments on “{title}”."
    db.session.add(
        Post(
            thread_id=thread.id, author_id=author.id, number=0, body=body,
            body_html=markup.render(body), created_at=now,
        )
    )  # fmt: skip
    db.session.add(ThreadFollow(thread_id=thread.id, member_id=author.id))
    db.session.flush()
    return thread


def copy_followers(from_thread: Thread, to_thread: Thread) -> int:
    """Everyone following one thread follows another too (merging ideas keeps
    followers). Added to the caller's transaction; returns how many were added."""
    already = select(ThreadFollow.member_id).where(ThreadFollow.thread_id == to_thread.id)
    newcomers = list(
        db.session.scalars(
            select(ThreadFollow.member_id).where(
                ThreadFollow.thread_id == from_thread.id, ThreadFollow.member_id.not_in(already)
            )
        )
    )
    for member_id in newcomers:
        db.session.add(ThreadFollow(thread_id=to_thread.id, member_id=member_id))
    return len(newcomers)


def follower_ids(thread: Thread) -> set[int]:
    return set(
        db.session.scalars(
            select(ThreadFollow.member_id).where(ThreadFollow.thread_id == thread.id)
        )
    )


def attach_discussion_elsewhere(thread: Thread, embed_url: str, title: str | None = None) -> None:
    """Point an attached discussion at its new home (merged ideas keep their comments)."""
    thread.embed_url = embed_url
    if title:
        thread.title = title


def reply(thread: Thread, author: Member, body) -> Post:
    access.require_visible(author, thread)
    if not access.can_reply(author, thread):
        raise NotAllowed("This thread is locked." if thread.is_locked else "You cannot reply.")
    errors: dict = {}
    body = _body(body, errors)
    raise_if_invalid(errors)
    held = screen_content(author, "reply", thread.title, body, thread.space)
    now = utcnow()
    # One atomic statement hands out the post number and bumps the counters, so
    # concurrent replies never collide. A reply held for approval is not counted yet.
    counters = (
        {}
        if held
        else {
            "reply_count": Thread.reply_count + 1,
            "last_post_at": now,
            "last_poster_id": author.id,
        }
    )
    number = db.session.execute(
        update(Thread)
        .where(Thread.id == thread.id)
        .values(last_number=Thread.last_number + 1, **counters)
        .returning(Thread.last_number)
    ).scalar_one()
    db.session.expire(thread, ["last_number", "reply_count", "last_post_at", "last_poster_id"])
    post = Post(
        thread_id=thread.id,
        author_id=author.id,
        number=number,
        body=body,
        body_html=render_body(body),
        created_at=now,
    )
    db.session.add(post)
    if held:
        return _hold(post, thread, author, held)
    db.session.flush()
    mentioned = markup.mentioned_handles(body)
    notes = _notify_mentions(post, thread, author, mentioned)
    notes += _notify_followers(post, thread, author, skip={n.member_id for n in notes})
    if not is_following_thread(thread, author):
        db.session.add(ThreadFollow(thread_id=thread.id, member_id=author.id))
    sent = events.record(events.post_created, post, thread=thread)
    _commit()
    sent()
    _announce(notes)
    return post


def edit_post(post: Post, by: Member, body, title=None, tags=None, reason=None) -> Post:
    """The author's edit, or a moderator's with a reason (audited, the author is told)."""
    access.require_visible(by, post)
    access.require(access.can_edit_post(by, post), message="You can only edit your own posts.")
    thread = post.thread
    errors: dict = {}
    if by.id != post.author_id:  # a moderator's edit: audited, the author is told
        reason = checked_text(reason, "reason", errors, minimum=0, maximum=500)
    else:
        reason = None
    body = _body(body, errors)
    new_title = _title(title, errors) if post.is_opening and title is not None else None
    tag_names = checked_tags(tags, errors) if post.is_opening and tags is not None else None
    raise_if_invalid(errors)
    before = {"body": post.body, "title": thread.title, "tags": thread.tag_names}
    old_mentions = markup.mentioned_handles(post.body)
    post.body = body
    post.body_html = render_body(body)
    post.edited_at = utcnow()
    if new_title is not None:
        thread.title = new_title
    if tag_names is not None:
        thread.tags = tag_rows(tag_names)
    notes = _notify_mentions(post, thread, by, markup.mentioned_handles(body) - old_mentions)
    sent = events.record(events.post_edited, post, by=by, before=before, reason=reason)
    _commit()
    sent()
    _announce(notes)
    return post


def accept_answer(post: Post, by: Member) -> Thread:
    access.require_visible(by, post)
    thread = post.thread
    access.require(
        access.can_accept(by, thread),
        message="Only the asker or a moderator can accept an answer to a question.",
    )
    if post.is_opening:
        raise Invalid("The question itself cannot be its answer; accept a reply.")
    if post.is_hidden:
        raise Invalid("A hidden reply cannot be the accepted answer.")
    if thread.accepted_post_id == post.id:
        return thread
    replaced = thread.accepted_post
    thread.accepted_post_id = post.id
    notes = []
    if post.author_id != by.id:
        notes.append(_notify(post.author_id, "accepted", by, thread, post))
    sent = []
    if replaced is not None:
        sent.append(events.record(events.answer_unaccepted, replaced, thread=thread, by=by))
    sent.append(
        events.record(events.answer_accepted, post, thread=thread, by=by, replaced=replaced)
    )
    _commit()
    for send in sent:
        send()
    _announce(notes)
    return thread


def unaccept_answer(post: Post, by: Member) -> Thread:
    access.require_visible(by, post)
    thread = post.thread
    access.require(
        access.can_accept(by, thread),
        message="Only the asker or a moderator can change the accepted answer.",
    )
    if thread.accepted_post_id != post.id:
        return thread  # nothing to undo; DELETE is idempotent
    thread.accepted_post_id = None
    sent = events.record(events.answer_unaccepted, post, thread=thread, by=by)
    _commit()
    sent()
    return thread


def give_kudos(post: Post, by: Member) -> Post:
    access.require_visible(by, post)
    if post.author_id == by.id:
        raise Invalid("You cannot give kudos to your own post.")
    access.require(access.can_give_kudos(by, post), message="You cannot give kudos.")
    if has_given_kudos(post, by):
        return post
    events.vote_attempted.send(by, kind="kudos", target=post)
    kudos = Kudos(post_id=post.id, member_id=by.id)
    try:
        with db.session.begin_nested():
            db.session.add(kudos)
    except IntegrityError:  # a double click racing itself: already given
        return post
    db.session.execute(
        update(Post).where(Post.id == post.id).values(kudos_count=Post.kudos_count + 1)
    )
    db.session.expire(post, ["kudos_count"])
    notes = [_notify(post.author_id, "kudos", by, post.thread, post)]
    sent = events.record(events.kudos_given, kudos, post=post, by=by)
    _commit()
    sent()
    _announce(notes)
    return post


def withdraw_kudos(post: Post, by: Member) -> Post:
    access.require_visible(by, post)
    # One DELETE decides: of two tabs withdrawing at once, only the one that removed
    # the row lowers the count (the other finds nothing left to withdraw).
    removed = db.session.execute(
        delete(Kudos).where(Kudos.post_id == post.id, Kudos.member_id == by.id)
    ).rowcount
    if not removed:
        return post
    db.session.execute(
        update(Post).where(Post.id == post.id).values(kudos_count=Post.kudos_count - 1)
    )
    db.session.expire(post, ["kudos_count"])
    sent = events.record(events.kudos_withdrawn, post, by=by)
    _commit()
    sent()
    return post


def has_given_kudos(post: Post, member) -> bool:
    if not getattr(member, "is_authenticated", False):
        return False
    return bool(
        db.session.scalar(
            select(Kudos.id).where(Kudos.post_id == post.id, Kudos.member_id == member.id)
        )
    )


def kudos_given_among(post_ids: list[int], member) -> set[int]:
    if not post_ids or not getattr(member, "is_authenticated", False):
        return set()
    return set(db.session.scalars(kudos_given_query(member.id, post_ids)))


def get_thread(thread_id, viewer) -> Thread:
    thread = row_by_id(Thread, thread_id)
    if not access.can_view_thread(viewer, thread):
        raise NotFound("No such thread.")
    return thread


def get_post(post_id, viewer) -> Post:
    post = row_by_id(Post, post_id)
    if not access.can_view_post(viewer, post):
        raise NotFound("No such post.")
    return post


def list_threads(
    viewer, *, space: Space | None = None, sort="latest", page=1, per_page=None, count=True
):
    """A page of threads the viewer may see, newest activity first by default.
    ``count=False`` skips counting every match, for lists without page links."""
    if sort not in THREAD_SORTS:
        raise Invalid(f"Sort by one of: {', '.join(THREAD_SORTS)}.", fields={"sort": "Unknown."})
    query = select(Thread).where(access.visible_thread_filter(viewer), Thread.embed_url.is_(None))
    if space is not None:
        query = query.where(Thread.space_id == space.id)
    if sort == "latest":
        query = query.order_by(Thread.last_post_at.desc(), Thread.id.desc())
    elif sort == "new":
        query = query.order_by(Thread.created_at.desc(), Thread.id.desc())
    elif sort == "unanswered":
        query = query.where(
            Thread.kind == "question", Thread.reply_count == 0, Thread.accepted_post_id.is_(None)
        ).order_by(Thread.created_at.desc(), Thread.id.desc())
    else:
        query = query.where(Thread.accepted_post_id.is_not(None)).order_by(
            Thread.last_post_at.desc(), Thread.id.desc()
        )
    query = query.options(joinedload(Thread.last_poster))
    # An unfiltered list holds every thread of its spaces: its total comes from the
    # shared space counts instead of counting thousands of rows on every page.
    from_space_counts = count and sort in ("latest", "new") and not access.is_moderator(viewer)
    threads = db.paginate(
        query,
        page=min(page, MAX_PAGE),
        per_page=per_page or _cfg("THREADS_PER_PAGE"),
        max_per_page=_cfg("API_MAX_PER_PAGE"),
        error_out=False,
        count=count and not from_space_counts,
    )
    if from_space_counts:
        threads.total = _thread_total(viewer, space)
    return threads


def _thread_total(viewer, space: Space | None) -> int:
    """How many threads the viewer sees in the space (or in every space they see):
    the counts everyone sees, plus the viewer's own threads hidden by moderators."""
    counts = cache.remember("space-counts", _space_counts)
    space_ids = [s.id for s in list_spaces(viewer)]  # never a space the viewer may not see
    if space is not None:
        space_ids = [space.id] if space.id in space_ids else []
    total = sum(counts.get(space_id, (0, 0, None))[0] for space_id in space_ids)
    if getattr(viewer, "is_authenticated", False):
        # Hidden threads the access policy still shows this viewer: their own.
        total += db.session.scalar(
            select(func.count(Thread.id)).where(
                access.visible_thread_filter(viewer),
                Thread.is_hidden == true(),
                Thread.embed_url.is_(None),
                Thread.space_id.in_(space_ids),
            )
        )
    return total


def newest_threads_with_openings(viewer, *, space: Space | None = None, limit: int = 30):
    """The newest threads the viewer may see with their opening posts, for feeds:
    two queries whatever the limit."""
    threads = list_threads(viewer, space=space, sort="new", per_page=limit, count=False).items
    openings = {
        post.thread_id: post
        for post in db.session.scalars(
            select(Post).where(Post.thread_id.in_([t.id for t in threads]), Post.number == 0)
        )
    }
    return [(thread, openings[thread.id]) for thread in threads if thread.id in openings]


def latest_replies(thread: Thread, viewer, limit: int = 30) -> list[Post]:
    """The thread's newest replies the viewer may see, newest first (for its feed)."""
    return list(
        db.session.scalars(
            select(Post)
            .where(Post.thread_id == thread.id, Post.number > 0, access.visible_post_filter(viewer))
            .order_by(Post.number.desc())
            .limit(limit)
        )
    )


def unanswered_questions(viewer, limit: int = 8) -> list[Thread]:
    return list_threads(viewer, sort="unanswered", per_page=limit, count=False).items


def accepted_answer(thread: Thread) -> Post | None:
    """The thread's accepted answer, loaded afresh even when the page already holds it,
    so that a thread page runs the same statements on every page of a thread."""
    if thread.accepted_post_id is None:
        return None
    return db.session.scalars(
        select(Post)
        .where(Post.id == thread.accepted_post_id)
        .execution_options(populate_existing=True)
    ).first()


def opening_post(thread: Thread) -> Post:
    return db.session.scalar(select(Post).where(Post.thread_id == thread.id, Post.number == 0))


def thread_replies(thread: Thread, viewer, page=1, per_page=None):
    query = (
        select(Post)
        .where(Post.thread_id == thread.id, Post.number > 0, access.visible_post_filter(viewer))
        .order_by(Post.number)
    )
    return db.paginate(
        query,
        page=min(page, MAX_PAGE),
        per_page=per_page or _cfg("POSTS_PER_PAGE"),
        max_per_page=_cfg("API_MAX_PER_PAGE"),
        error_out=False,
    )


def page_of_post(post: Post, viewer) -> int:
    """Which page of its thread a reply is on, for links to it."""
    earlier = db.session.scalar(
        select(func.count(Post.id)).where(
            Post.thread_id == post.thread_id,
            Post.number > 0,
            Post.number < post.number,
            access.visible_post_filter(viewer),
        )
    )
    return earlier // _cfg("POSTS_PER_PAGE") + 1


def record_view(thread: Thread, viewer_key: str) -> bool:
    """Count one view now (pages batch theirs through community.cache); True when it
    was the viewer's first of this thread."""
    counted = record_views([(thread.id, viewer_key)]) == 1
    db.session.expire(thread, ["view_count"])
    return counted


def record_views(views: Iterable[tuple[int, str]]) -> int:
    """Write a batch of counted views, (thread id, viewer key) pairs, in one transaction:
    each counts once per viewer (the unique row decides, also across processes), views
    of threads deleted meanwhile are dropped. Returns how many counted."""
    pairs = sorted(set(views))
    if not pairs:
        return 0
    existing = set(
        db.session.scalars(select(Thread.id).where(Thread.id.in_({t for t, _ in pairs})))
    )
    rows = [
        {"thread_id": thread_id, "viewer": viewer[:64], "viewed_at": utcnow()}
        for thread_id, viewer in pairs
        if thread_id in existing
    ]
    if not rows:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as insert_new
    else:
        from sqlalchemy.dialects.sqlite import insert as insert_new
    # Only the rows that were new come back: those are the views that count.
    counted: dict[int, int] = {}
    readers: dict[int, list[int]] = {}  # member id -> threads newly read
    for thread_id, viewer in db.session.execute(
        insert_new(ThreadView)
        .on_conflict_do_nothing()
        .returning(ThreadView.thread_id, ThreadView.viewer),
        rows,
    ):
        counted[thread_id] = counted.get(thread_id, 0) + 1
        if viewer.startswith("m:") and viewer[2:].isdigit():
            readers.setdefault(int(viewer[2:]), []).append(thread_id)
    for thread_id, n in counted.items():
        db.session.execute(
            update(Thread).where(Thread.id == thread_id).values(view_count=Thread.view_count + n)
        )
    # Trust levels count the posts a member has read; the view rows de-duplicate.
    for member_id, thread_ids in readers.items():
        posts = select(func.coalesce(func.sum(Thread.reply_count + 1), 0)).where(
            Thread.id.in_(thread_ids)
        )
        db.session.execute(
            update(Member)
            .where(Member.id == member_id)
            .values(posts_read=Member.posts_read + posts.scalar_subquery())
        )
    db.session.commit()
    return sum(counted.values())


# ---- following --------------------------------------------------------------


def is_following_thread(thread: Thread, member) -> bool:
    if not getattr(member, "is_authenticated", False):
        return False
    return bool(
        db.session.scalar(
            select(ThreadFollow.id).where(
                ThreadFollow.thread_id == thread.id, ThreadFollow.member_id == member.id
            )
        )
    )


def is_following_space(space: Space, member) -> bool:
    if not getattr(member, "is_authenticated", False):
        return False
    return bool(
        db.session.scalar(
            select(SpaceFollow.id).where(
                SpaceFollow.space_id == space.id, SpaceFollow.member_id == member.id
            )
        )
    )


def follow_thread(thread: Thread, member: Member) -> None:
    access.require_visible(member, thread)
    if not is_following_thread(thread, member):
        db.session.add(ThreadFollow(thread_id=thread.id, member_id=member.id))
        _commit()


def unfollow_thread(thread: Thread, member: Member) -> None:
    access.require_visible(member, thread)
    db.session.execute(
        ThreadFollow.__table__.delete().where(
            ThreadFollow.thread_id == thread.id, ThreadFollow.member_id == member.id
        )
    )
    db.session.commit()


def follow_space(space: Space, member: Member) -> None:
    access.require_visible(member, space)
    if not is_following_space(space, member):
        db.session.add(SpaceFollow(space_id=space.id, member_id=member.id))
        _commit()


def unfollow_space(space: Space, member: Member) -> None:
    access.require_visible(member, space)
    db.session.execute(
        SpaceFollow.__table__.delete().where(
            SpaceFollow.space_id == space.id, SpaceFollow.member_id == member.id
        )
    )
    db.session.commit()


# ---- notifications ----------------------------------------------------------


def _notify(member_id: int, kind: str, actor: Member, thread: Thread, post: Post) -> Notification:
    note = Notification(
        member_id=member_id, kind=kind, actor_id=actor.id, thread_id=thread.id, post_id=post.id
    )
    db.session.add(note)
    return note


def _members_who_can_see(thread: Thread, member_ids: set[int]) -> list[Member]:
    if not member_ids:
        return []
    members = db.session.scalars(select(Member).where(Member.id.in_(member_ids)))
    return [m for m in members if access.can_view_thread(m, thread)]


def _notify_mentions(post, thread, author, handles: set[str]) -> list[Notification]:
    if not handles:
        return []
    ids = set(db.session.scalars(select(Member.id).where(Member.handle.in_(handles))))
    ids.discard(author.id)
    # A mention never tells anyone about a thread they may not see.
    return [
        _notify(m.id, "mention", author, thread, post) for m in _members_who_can_see(thread, ids)
    ]


def _notify_followers(post, thread, author, skip: set[int]) -> list[Notification]:
    ids = set(
        db.session.scalars(
            select(ThreadFollow.member_id).where(ThreadFollow.thread_id == thread.id)
        )
    )
    ids -= skip | {author.id}
    return [_notify(m.id, "reply", author, thread, post) for m in _members_who_can_see(thread, ids)]


def _notify_space_followers(thread, author, skip: set[int]) -> list[Notification]:
    ids = set(
        db.session.scalars(
            select(SpaceFollow.member_id).where(SpaceFollow.space_id == thread.space_id)
        )
    )
    ids -= skip | {author.id}
    post = opening_post(thread)
    return [
        _notify(m.id, "thread", author, thread, post) for m in _members_who_can_see(thread, ids)
    ]


def _announce(notes: list[Notification]) -> None:
    for note in notes:
        events.notification_created.send(note)


def _visible_notifications(member: Member):
    visible_threads = select(Thread.id).where(access.visible_thread_filter(member))
    return select(Notification).where(
        Notification.member_id == member.id,
        Notification.thread_id.is_(None) | Notification.thread_id.in_(visible_threads),
        Notification.space_id.is_(None)
        | Notification.space_id.in_(access.visible_space_ids(member)),
    )


def queue_notifications(
    member_ids: Iterable[int],
    kind: str,
    *,
    actor: Member | None,
    space: Space,
    summary: str,
    url: str,
    email_subject: str | None = None,
    email_body: str | None = None,
) -> list[Notification]:
    """Notifications (and their e-mails, as outbox rows) about something another
    domain owns, for the members who may see its space. Added to the caller's
    transaction: the caller commits, then calls ``announce``."""
    wanted = set(member_ids) - ({actor.id} if actor else set())
    if not wanted:
        return []
    members = db.session.scalars(select(Member).where(Member.id.in_(wanted)))
    notes = []
    for member in members:
        if not access.can_view_space(member, space):
            continue
        note = Notification(
            member_id=member.id,
            kind=kind,
            actor_id=actor.id if actor else None,
            space_id=space.id,
            summary=summary[:300],
            url=url[:300],
        )
        db.session.add(note)
        notes.append(note)
        if email_subject:
            db.session.add(
                EmailOutbox(member_id=member.id, subject=email_subject[:200], body=email_body or "")
            )
    return notes


def announce(notes: list[Notification]) -> None:
    """After commit: tell live badges about new notifications."""
    _announce(notes)


def list_notifications(member: Member, page=1, per_page=30, unread_only=False):
    query = _visible_notifications(member)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc())
    return db.paginate(
        query,
        page=min(page, MAX_PAGE),
        per_page=per_page,
        max_per_page=_cfg("API_MAX_PER_PAGE"),
        error_out=False,
    )


def unread_count(member: Member) -> int:
    query = _visible_notifications(member).where(Notification.read_at.is_(None))
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


def unread_badge(member: Member) -> int:
    """The unread count on every page's bell: kept per member until a notification
    arrives or is read, or what they may see changes (community/cache.py)."""
    return cache.remember_for(member.id, "unread", lambda: unread_count(member))


def mark_notifications_read(member: Member, ids=None) -> int:
    """Marks the given notifications (or all) read; returns the new unread count."""
    if ids is not None and (
        not isinstance(ids, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        raise Invalid("ids must be a list of notification ids.", fields={"ids": "Must be a list."})
    statement = update(Notification).where(
        Notification.member_id == member.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    db.session.execute(statement.values(read_at=utcnow()))
    db.session.commit()
    count = unread_count(member)
    events.notifications_read.send(member, unread=count)
    return count


# ---- profiles ---------------------------------------------------------------


@dataclass
class Activity:
    threads: list[Thread]
    answers: list[Post]
    solutions: list[Post]
    thread_count: int
    answer_count: int
    solution_count: int


def member_activity(member: Member, viewer, limit: int = 10) -> Activity:
    """What a profile shows: only what the viewer may see."""
    # Joined, not "thread id IN (every visible thread)": the member's own rows, found
    # by the author indexes, are checked against their thread one by one.
    visible_thread = and_(access.visible_thread_filter(viewer), Thread.embed_url.is_(None))
    threads_q = select(Thread).where(Thread.author_id == member.id, visible_thread)
    answers_q = (
        select(Post)
        .join(Thread, Thread.id == Post.thread_id)
        .where(
            Post.author_id == member.id,
            Post.number > 0,
            visible_thread,
            access.visible_post_filter(viewer),
        )
    )
    accepting = aliased(Thread)  # the thread that accepted the post: maybe another one
    solutions_q = answers_q.where(
        select(accepting.id).where(accepting.accepted_post_id == Post.id).exists()
    )

    def count(query):
        return db.session.scalar(select(func.count()).select_from(query.subquery()))

    def first(query, order):
        return list(db.session.scalars(query.order_by(order).limit(limit)))

    return Activity(
        threads=first(threads_q, Thread.created_at.desc()),
        answers=first(answers_q.options(joinedload(Post.thread)), Post.created_at.desc()),
        solutions=first(solutions_q.options(joinedload(Post.thread)), Post.created_at.desc()),
        thread_count=count(threads_q),
        answer_count=count(answers_q),
        solution_count=count(solutions_q),
    )


def list_members(page=1, per_page=50, query_text: str | None = None):
    query = select(Member).order_by(Member.created_at.desc())
    if query_text:
        like = f"%{query_text.strip().lower()}%"
        query = query.where(
            func.lower(Member.display_name).like(like) | Member.email_key.like(like)
        )
    return db.paginate(
        query, page=min(page, MAX_PAGE), per_page=per_page, max_per_page=100, error_out=False
    )


# ---- moderation actions -------------------------------------------------------------
# The moderation domain changes community content only through these; each sends
# its event (moderation audits it and tells the author). Content held by the spam
# rules is stored hidden and uncounted, and published by approve_post.


def screen_content(author: Member, kind: str, title, text, space: Space) -> str | None:
    """Ask the screening receivers (moderation) before publishing: they raise to refuse
    (a rate limit, too many links) or return a reason to hold it for approval."""
    reasons = [
        reason
        for _receiver, reason in events.content_submitted.send(
            author, kind=kind, title=title or "", text=text or "", space=space
        )
        if isinstance(reason, str) and reason
    ]
    return "; ".join(reasons)[:300] or None


def _hold(post: Post, thread: Thread, author: Member, reason: str):
    """Store a new thread or reply pending approval: no notifications, no publishing events."""
    post.is_hidden = True
    post.pending_reason = reason
    if post.is_opening:
        thread.is_hidden = True
    db.session.flush()
    sent = events.record(events.content_held, post, author=author, reason=reason)
    _commit()
    sent()
    return thread if post.is_opening else post


def _require_moderator(by) -> None:
    access.require(access.is_moderator(by), message="Only moderators can do that.")


def moderation_reason(reason, *, required: bool = True) -> str:
    errors: dict = {}
    reason = checked_text(reason, "reason", errors, minimum=1 if required else 0, maximum=500)
    raise_if_invalid(errors)
    return reason


def _set_visible(post: Post, thread: Thread, visible: bool) -> None:
    """Show or hide a post, keeping the reply count right; the opening post stands for
    its whole thread."""
    if post.is_opening:
        thread.is_hidden = not visible
    elif post.is_hidden == visible:
        delta = 1 if visible else -1
        db.session.execute(
            update(Thread)
            .where(Thread.id == thread.id)
            .values(reply_count=Thread.reply_count + delta)
        )
        db.session.expire(thread, ["reply_count"])
    post.is_hidden = not visible


def hide_post(post: Post, by: Member | None, reason) -> Post:
    """Hide a post (the opening post hides its thread). ``by=None`` is the automatic
    hide at the flag threshold, pending review."""
    if by is not None:
        _require_moderator(by)
    reason = moderation_reason(reason)
    if post.deleted_at is not None:
        raise Conflict("This post is deleted.")
    if post.is_hidden and post.pending_reason is None:
        return post
    thread = post.thread
    _set_visible(post, thread, False)
    post.hidden_reason = reason
    sent = events.record(events.post_hidden, post, thread=thread, by=by, reason=reason)
    _commit()
    sent()
    return post


def restore_post(post: Post, by: Member, reason="") -> Post:
    """Undo a hide or a delete."""
    _require_moderator(by)
    reason = moderation_reason(reason, required=False)
    if post.pending_reason is not None:
        raise Conflict("This post awaits approval: approve it instead.")
    if not post.is_hidden:
        return post
    thread = post.thread
    _set_visible(post, thread, True)
    post.hidden_reason = None
    post.deleted_at = None
    sent = events.record(events.post_restored, post, thread=thread, by=by, reason=reason)
    _commit()
    sent()
    return post


def delete_post(post: Post, by: Member, reason) -> Post:
    """Soft delete: the row stays, hidden, for the audit trail; rejecting content held
    for approval is a delete too."""
    _require_moderator(by)
    reason = moderation_reason(reason)
    if post.deleted_at is not None:
        return post
    thread = post.thread
    if post.pending_reason is None:
        _set_visible(post, thread, False)
    post.pending_reason = None
    post.deleted_at = utcnow()
    post.hidden_reason = reason
    sent = events.record(events.post_deleted, post, thread=thread, by=by, reason=reason)
    _commit()
    sent()
    return post


def approve_post(post: Post, by: Member) -> Post:
    """Publish a thread or reply held for approval, with the notifications and events
    it would have had."""
    _require_moderator(by)
    if post.pending_reason is None:
        raise Conflict("This post is not waiting for approval.")
    thread, author = post.thread, post.author
    post.pending_reason = None
    post.is_hidden = False
    mentioned = markup.mentioned_handles(post.body)
    if post.is_opening:
        thread.is_hidden = False
        notes = _notify_mentions(post, thread, author, mentioned)
        notes += _notify_space_followers(thread, author, skip={n.member_id for n in notes})
        sent = events.record(events.thread_created, thread, post=post)
    else:
        db.session.execute(
            update(Thread)
            .where(Thread.id == thread.id)
            .values(
                reply_count=Thread.reply_count + 1,
                last_post_at=utcnow(),
                last_poster_id=author.id,
            )
        )
        db.session.expire(thread, ["reply_count", "last_post_at", "last_poster_id"])
        notes = _notify_mentions(post, thread, author, mentioned)
        notes += _notify_followers(post, thread, author, skip={n.member_id for n in notes})
        sent = events.record(events.post_created, post, thread=thread)
    _commit()
    sent()
    _announce(notes)
    return post


def move_thread(thread: Thread, space: Space, by: Member, reason) -> Thread:
    _require_moderator(by)
    access.require_visible(by, space)
    reason = moderation_reason(reason)
    if thread.embed_url:
        raise Invalid("An idea's discussion stays with its idea.")
    if space.id == thread.space_id:
        return thread
    from_space = thread.space
    thread.space_id = space.id
    thread.space = space
    sent = events.record(events.thread_moved, thread, from_space=from_space, by=by, reason=reason)
    _commit()
    sent()
    return thread


def lock_thread(thread: Thread, by: Member, reason, locked: bool = True) -> Thread:
    """A locked thread refuses replies from members (moderators still may)."""
    _require_moderator(by)
    reason = moderation_reason(reason, required=locked)
    if thread.is_locked == locked:
        return thread
    thread.is_locked = locked
    sent = events.record(events.thread_locked, thread, by=by, locked=locked, reason=reason)
    _commit()
    sent()
    return thread


def unlock_thread(thread: Thread, by: Member, reason="") -> Thread:
    return lock_thread(thread, by, reason, locked=False)


def merge_threads(thread: Thread, into: Thread, by: Member, reason) -> Thread:
    """Move every post of ``thread`` to the end of ``into`` (its opening post becomes a
    reply); the merged thread is hidden and its page leads to ``into``."""
    _require_moderator(by)
    access.require_visible(by, into)
    reason = moderation_reason(reason)
    if thread.id == into.id:
        raise Invalid("A thread cannot be merged into itself.", fields={"into": "Another thread."})
    if thread.embed_url or into.embed_url:
        raise Invalid("An idea's discussion cannot be merged.")
    if thread.merged_into_id is not None or into.merged_into_id is not None:
        raise Conflict("That thread was already merged.")
    posts = list(
        db.session.scalars(select(Post).where(Post.thread_id == thread.id).order_by(Post.number))
    )
    start = into.last_number
    for offset, post in enumerate(posts, start=1):
        post.thread = into
        post.number = start + offset
    into.last_number = start + len(posts)
    into.reply_count = into.reply_count + sum(1 for p in posts if not p.is_hidden)
    into.last_post_at = max(into.last_post_at, thread.last_post_at)
    thread.accepted_post_id = None
    thread.is_hidden = True
    thread.reply_count = 0
    thread.merged_into_id = into.id
    copy_followers(thread, into)
    sent = events.record(events.threads_merged, thread, into=into, by=by, reason=reason)
    _commit()
    sent()
    return into


def merged_into(thread_id, viewer) -> Thread | None:
    """Where a merged thread's page leads, if the viewer may see it."""
    thread = row_by_id(Thread, thread_id)
    if thread is None or thread.merged_into_id is None:
        return None
    target = db.session.get(Thread, thread.merged_into_id)
    return target if access.can_view_thread(viewer, target) else None


def ban_member(member: Member, by: Member, reason) -> Member:
    """A banned member cannot sign in; every session, token and socket ends now."""
    _require_moderator(by)
    reason = moderation_reason(reason)
    if member.id == by.id or member.is_admin:
        raise NotAllowed("Admins (and yourself) cannot be banned.")
    if member.is_banned:
        return member
    member.banned_at = utcnow()
    member.session_epoch += 1
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.member_id == member.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    sent = events.record(events.member_banned, member, by=by, reason=reason)
    _commit()
    sent()
    events.sessions_ended.send(member, session_key=None)
    return member


def unban_member(member: Member, by: Member) -> Member:
    _require_moderator(by)
    member.banned_at = None
    _commit()
    return member


def warn_member(member: Member, by: Member, reason) -> Notification:
    """A private warning: a notification and an e-mail with the moderator's reason."""
    _require_moderator(by)
    reason = moderation_reason(reason)
    note = Notification(
        member_id=member.id,
        kind="warning",
        actor_id=by.id,
        summary=f"A moderator warned you: {reason}"[:300],
        url=url_for("community.profile", member_id=member.id),
    )
    db.session.add(note)
    db.session.add(
        EmailOutbox(
            member_id=member.id,
            subject="A warning from the community moderators",
            body=f"Hello {member.display_name},\n\nA moderator warned you:\n\n{reason}\n",
        )
    )
    sent = events.record(events.member_warned, member, by=by, reason=reason)
    _commit()
    sent()
    _announce([note])
    return note


TRUST_LEVELS = range(5)


def set_trust_level(member: Member, level, *, by: Member | None = None, locked=None) -> Member:
    """Store a trust level computed by moderation (``by=None``; a locked level stays), or
    set by a moderator, who may lock it."""
    if by is not None:
        _require_moderator(by)
    if not isinstance(level, int) or isinstance(level, bool) or level not in TRUST_LEVELS:
        raise Invalid("A trust level is 0 to 4.", fields={"level": "0 to 4."})
    if by is None and member.trust_level_locked:
        return member
    member.trust_level = level
    if locked is not None:
        member.trust_level_locked = bool(locked)
    _commit()
    return member


def record_visit(member: Member) -> bool:
    """Count a day visited: at most one write per member and day."""
    today = utcnow().date().isoformat()
    if member.last_visit_day == today:
        return False
    db.session.execute(
        update(Member)
        .where(Member.id == member.id, Member.last_visit_day.is_distinct_from(today))
        .values(days_visited=Member.days_visited + 1, last_visit_day=today, last_seen_at=utcnow())
    )
    db.session.commit()
    db.session.refresh(member)
    return True


# ---- space membership (advisory) ---------------------------------------------
# Membership rows of private spaces are the community's; the advisory domain (and
# admins) change them through these, and hear about changes through
# space_member_added / space_member_removed.


def space_membership(space: Space, member: Member) -> SpaceMembership | None:
    return db.session.scalar(
        select(SpaceMembership).where(
            SpaceMembership.space_id == space.id, SpaceMembership.member_id == member.id
        )
    )


def stage_space_role(
    space: Space, member: Member, role: str | None, *, by: Member | None, reason: str = ""
) -> Callable[[], None]:
    """Give ``member`` a role in ``space`` ('host', 'member', 'alumni'; None removes
    the row) inside the caller's transaction, recording the event the change means.
    No permission check: callers (the services below, advisory's) decide who may.
    Returns the after-commit send; the caller commits, then calls it."""
    if role is not None and role not in SPACE_ROLES:
        raise Invalid("Unknown space role.", fields={"role": f"One of: {', '.join(SPACE_ROLES)}."})
    row = space_membership(space, member)
    was_active = row is not None and row.role in ACTIVE_SPACE_ROLES
    if role is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        row = SpaceMembership(space_id=space.id, member_id=member.id, role=role)
        db.session.add(row)
    else:
        row.role = role
        if role in ACTIVE_SPACE_ROLES and not was_active:
            row.joined_at = utcnow()
    db.session.flush()
    now_active = role in ACTIVE_SPACE_ROLES
    if now_active and not was_active:
        return events.record(events.space_member_added, row, space=space, member=member, by=by)
    if was_active and not now_active:
        return events.record(
            events.space_member_removed, space, member=member, by=by, reason=reason or "removed"
        )
    return lambda: None


def _require_host(space: Space, by: Member) -> None:
    access.require_visible(by, space)
    access.require(access.can_host_space(by, space), message="Only the space's hosts may.")


def _other_hosts(space: Space, member: Member) -> int:
    return db.session.scalar(
        select(func.count(SpaceMembership.id)).where(
            SpaceMembership.space_id == space.id,
            SpaceMembership.role == "host",
            SpaceMembership.member_id != member.id,
        )
    )


def add_space_member(space: Space, member: Member, by: Member, role: str = "member"):
    """A host (or admin) adds a member or host to a private space."""
    _require_host(space, by)
    if not space.is_private:
        raise Invalid("Public spaces have no member list.")
    if role not in ACTIVE_SPACE_ROLES:
        raise Invalid("Add as host or member.", fields={"role": "host or member."})
    sent = stage_space_role(space, member, role, by=by)
    _commit()
    sent()
    return space_membership(space, member)


def remove_space_member(space: Space, member: Member, by: Member, reason: str = "") -> None:
    """A host removes someone, or a member leaves (``by`` is the member). Access ends
    at once, open live connections included."""
    leaving = by.id == member.id
    if leaving:
        access.require(access.is_space_member(by, space), hide=True)
    else:
        _require_host(space, by)
    row = space_membership(space, member)
    if row is None or row.role not in ACTIVE_SPACE_ROLES:
        raise NotFound("Not a member of this space.")
    if row.role == "host" and not _other_hosts(space, member):
        raise Conflict("A space keeps at least one host.")
    sent = stage_space_role(
        space, member, None, by=by, reason=reason or ("left" if leaving else "removed")
    )
    _commit()
    sent()


def set_space_role(space: Space, member: Member, role: str, by: Member | None, reason=""):
    """Make someone host, member or alumni (badge kept, access gone). ``by`` None
    is the system (a term ending), which needs no permission."""
    if by is not None:
        _require_host(space, by)
    row = space_membership(space, member)
    if row is None:
        raise NotFound("Not a member of this space.")
    if row.role == "host" and role != "host" and not _other_hosts(space, member):
        raise Conflict("A space keeps at least one host.")
    sent = stage_space_role(space, member, role, by=by, reason=reason)
    _commit()
    sent()
    return row


def queue_email(to: Member | str, subject: str, body: str) -> EmailOutbox:
    """An e-mail to a member or to a bare address, as an outbox row in the caller's
    transaction (delivered later by the mail worker, never inline)."""
    row = EmailOutbox(subject=subject[:200], body=body)
    if isinstance(to, Member):
        row.member_id = to.id
    else:
        row.to_address = to[:254]
    db.session.add(row)
    return row


# ---- what a member has, for the personal parts of shared pages ---------------------


@shared_pages.member_state("kudos")
def kudos_given_query(member_id, post_ids):
    return select(Kudos.post_id).where(Kudos.member_id == member_id, Kudos.post_id.in_(post_ids))


@shared_pages.member_state("following-thread")
def followed_threads_query(member_id, thread_ids):
    return select(ThreadFollow.thread_id).where(
        ThreadFollow.member_id == member_id, ThreadFollow.thread_id.in_(thread_ids)
    )


@shared_pages.member_state("following-space")
def followed_spaces_query(member_id, space_ids):
    return select(SpaceFollow.space_id).where(
        SpaceFollow.member_id == member_id, SpaceFollow.space_id.in_(space_ids)
    )


shared_pages.own_hidden_content(access.seen_by_author_only)
