"""The one access policy: who may see and do what.

Every surface (pages, JSON API, search, feeds, notifications, socket rooms,
profiles, exports) asks here. Predicates answer for one object; the
``visible_*`` helpers return SQL filters so lists never post-filter in Python.
A member who may not see something gets "not found", never "forbidden".
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_request_context
from sqlalchemy import exists, false, or_, select, true

from .errors import NotAllowed, NotFound
from .extensions import db
from .models import ACTIVE_SPACE_ROLES, Member, Post, Space, SpaceMembership, Thread


def _member(member) -> Member | None:
    """Flask-Login's anonymous user and None both mean a visitor."""
    if member is None or not getattr(member, "is_authenticated", False):
        return None
    return member


# ---- spaces ---------------------------------------------------------------


def visible_space_filter(member):
    """SQL condition on Space rows the member may see."""
    member = _member(member)
    if member is not None and member.is_admin:
        return true()
    public = Space.visibility == "public"
    if member is None:
        return public
    return or_(public, Space.id.in_(joined_space_ids(member.id)))


def joined_space_ids(member_id):
    """A sub-select of the spaces the member belongs to (hosts and members, not alumni);
    ``member_id`` may be a bound parameter."""
    return select(SpaceMembership.space_id).where(
        SpaceMembership.member_id == member_id, SpaceMembership.role.in_(ACTIVE_SPACE_ROLES)
    )


def visible_space_ids(member):
    """A sub-select of the ids of spaces the member may see (for joins on space_id)."""
    return select(Space.id).where(visible_space_filter(member))


def space_role(member, space: Space) -> str | None:
    """'host', 'member', 'alumni' (no access any more), or None."""
    member = _member(member)
    if member is None or space is None:
        return None
    return db.session.scalar(
        select(SpaceMembership.role).where(
            SpaceMembership.space_id == space.id, SpaceMembership.member_id == member.id
        )
    )


def is_space_member(member, space: Space) -> bool:
    """Hosts and members belong; alumni no longer do."""
    return space_role(member, space) in ACTIVE_SPACE_ROLES


def is_space_host(member, space: Space) -> bool:
    return space_role(member, space) == "host"


def can_host_space(member, space: Space | None) -> bool:
    """Hosts run a private space (charter, invitations, meetings); admins may too."""
    member = _member(member)
    if member is None or space is None:
        return False
    return member.is_admin or is_space_host(member, space)


def _note_admin_view(member: Member, space: Space) -> None:
    """An admin reading a private space they do not belong to: the app sends
    ``private_space_viewed`` for the request's signed-in admin once it is served
    (community/web.py), so every such view reaches the audit trail."""
    if has_request_context():
        noted = g.setdefault("private_space_views", {})
        noted.setdefault((space.id, member.id), space)


def can_view_space(member, space: Space | None) -> bool:
    if space is None:
        return False
    if space.visibility == "public":
        return True
    member = _member(member)
    if member is None:
        return False
    if is_space_member(member, space):
        return True
    if member.is_admin:
        _note_admin_view(member, space)
        return True
    return False


def can_post_in(member, space: Space) -> bool:
    member = _member(member)
    return member is not None and not member.is_suspended and can_view_space(member, space)


def can_review_ideas(member) -> bool:
    """Product managers (and admins) set idea statuses, merge ideas and see demand by value."""
    member = _member(member)
    return member is not None and member.has_role("product_manager", "admin")


def can_respond_to_ideas(member, space: Space) -> bool:
    """Who answers ideas in a space: product managers who may see it, and the hosts
    of a private (advisory) space, who answer their committee's suggestions."""
    if not can_view_space(member, space):
        return False
    return can_review_ideas(member) or (space.is_private and is_space_host(member, space))


def can_manage_spaces(member) -> bool:
    member = _member(member)
    return member is not None and member.is_admin


# ---- threads and posts ----------------------------------------------------


def is_moderator(member) -> bool:
    member = _member(member)
    return member is not None and member.has_role("moderator", "admin")


def visible_thread_filter(member):
    """SQL condition on Thread rows the member may see in lists."""
    space_ok = Thread.space_id.in_(visible_space_ids(member))
    if is_moderator(member):
        return space_ok
    member = _member(member)
    not_hidden = Thread.is_hidden == false()
    if member is not None:
        not_hidden = or_(not_hidden, Thread.author_id == member.id)
    return space_ok & not_hidden


def visible_post_filter(member):
    """SQL condition on Post rows of one visible thread: hidden replies show to
    moderators and to their author only."""
    if is_moderator(member):
        return true()
    member = _member(member)
    if member is None:
        return Post.is_hidden == false()
    return or_(Post.is_hidden == false(), Post.author_id == member.id)


def seen_by_author_only(member_id):
    """SQL condition: the member has threads or posts that only they (and moderators)
    see, hidden or held for approval (the author clauses above)."""
    return or_(
        exists().where(Thread.author_id == member_id, Thread.is_hidden == true()),
        exists().where(Post.author_id == member_id, Post.is_hidden == true()),
    )


def can_view_thread(member, thread: Thread | None) -> bool:
    if thread is None or not can_view_space(member, thread.space):
        return False
    if not thread.is_hidden or is_moderator(member):
        return True
    member = _member(member)
    return member is not None and member.id == thread.author_id


def can_view_post(member, post: Post | None) -> bool:
    if post is None or not can_view_thread(member, post.thread):
        return False
    if not post.is_hidden or is_moderator(member):
        return True
    member = _member(member)
    return member is not None and member.id == post.author_id


def can_reply(member, thread: Thread) -> bool:
    member = _member(member)
    if member is None or member.is_suspended or not can_view_thread(member, thread):
        return False
    return not thread.is_locked or is_moderator(member)


@dataclass(frozen=True)
class Who:
    """Who may, among the members who see a page alike (community/shared_pages.py,
    which fills in the answer for each of them): everyone, nobody, only one member
    (``only``, the author) or everyone but one (``but``)."""

    everyone: bool
    member_id: int | None = None

    def allows(self, member) -> bool:
        member = _member(member)
        if member is None or self.member_id is None:
            return member is not None and self.everyone
        return (member.id == self.member_id) != self.everyone


EVERYONE, NOBODY = Who(True), Who(False)


def only(member_id: int) -> Who:
    return Who(False, member_id)


def but(member_id: int) -> Who:
    return Who(True, member_id)


def who_may_edit_post(member, post: Post) -> Who:
    """Its author, and moderators."""
    member = _member(member)
    if member is None or member.is_suspended or not can_view_post(member, post):
        return NOBODY
    return EVERYONE if is_moderator(member) else only(post.author_id)


def can_edit_post(member, post: Post) -> bool:
    return who_may_edit_post(member, post).allows(member)


def who_may_accept(member, thread: Thread) -> Who:
    """The asker or a moderator marks the solution; only questions have one."""
    member = _member(member)
    if member is None or member.is_suspended or not can_view_thread(member, thread):
        return NOBODY
    if thread.kind != "question":
        return NOBODY
    return EVERYONE if is_moderator(member) else only(thread.author_id)


def can_accept(member, thread: Thread) -> bool:
    return who_may_accept(member, thread).allows(member)


def who_may_give_kudos(member, post: Post) -> Who:
    """Anyone who may read it and post, but its author."""
    member = _member(member)
    if member is None or member.is_suspended or not can_view_post(member, post):
        return NOBODY
    return but(post.author_id)


def can_give_kudos(member, post: Post) -> bool:
    return who_may_give_kudos(member, post).allows(member)


def who_may_flag(member, post: Post) -> Who:
    """Any member but its author flags a post others can see."""
    if _member(member) is None or post.is_hidden:
        return NOBODY
    return but(post.author_id)


def can_view_profile_activity(viewer, thread: Thread) -> bool:
    """A profile lists a member's activity only where the viewer may see it."""
    return can_view_thread(viewer, thread)


# ---- support -----------------------------------------------------------------


def can_view_support_analytics(member) -> bool:
    """Staff (any staff role) see deflection analytics and the support cases opened."""
    member = _member(member)
    return member is not None and member.is_staff


# ---- listening (moderation.listening) ----------------------------------------


def can_listen(member) -> bool:
    """Support agents and sales (and admins) keep watchlists and receive alerts."""
    member = _member(member)
    return member is not None and member.has_role("support_agent", "sales", "admin")


def can_work_support_queue(member) -> bool:
    """Support agents (and admins) see at-risk conversations and escalate threads to cases."""
    member = _member(member)
    return member is not None and member.has_role("support_agent", "admin")


# ---- reputation ----------------------------------------------------------------


def can_view_social_value(member) -> bool:
    """Staff see members' social value, engagement levels and participation."""
    member = _member(member)
    return member is not None and member.is_staff


# ---- analytics -----------------------------------------------------------------


def can_view_analytics(member, roles) -> bool:
    """The analytics dashboard: admins, and members holding one of the roles the
    admins chose (analytics stores the choice and passes it in)."""
    member = _member(member)
    return member is not None and (member.is_admin or member.has_role(*roles))


def can_configure_analytics(member) -> bool:
    member = _member(member)
    return member is not None and member.is_admin


# ---- guards used by services ----------------------------------------------


def require(allowed: bool, *, hide: bool = False, message: str = "") -> None:
    """Raise when not allowed; ``hide`` answers not-found so nothing leaks."""
    if allowed:
        return
    if hide:
        raise NotFound(message or "Not found.")
    raise NotAllowed(message or "You are not allowed to do that.")


def require_visible(member, obj) -> None:
    """Anything the member may not see does not exist, as far as they know."""
    checks = {Space: can_view_space, Thread: can_view_thread, Post: can_view_post}
    for kind, check in checks.items():
        if isinstance(obj, kind):
            require(check(member, obj), hide=True)
            return
    raise TypeError(f"no visibility rule for {type(obj).__name__}")
