"""Moderation's reactions to domain events.

Inside the causing transaction (``events.recording``): the audit entry of every
moderation and admin action, and the approval item of content held by the spam
rules, so neither can be lost or exist without its cause. After commit: the
author hears what happened to their content and why, trust levels move, the
live queue refreshes, and suspicious voting lands in the queue.
"""

from __future__ import annotations

import logging

from flask import has_request_context, url_for
from flask_login import current_user

from community import events
from community import services as community
from community.extensions import db
from community.models import Member, Post

from . import services
from .services import _audit

log = logging.getLogger(__name__)


def _post_target(post: Post) -> tuple[str, int, str]:
    if post.is_opening:
        return "thread", post.thread_id, post.thread.title
    return "post", post.id, f"Reply in “{post.thread.title}”"


def _content(post: Post) -> dict:
    return {"author_id": post.author_id}


# ---- the audit log (inside the causing transaction) ----------------------------------


def audit_post_hidden(post, thread=None, by=None, reason="", **_):
    kind, target_id, label = _post_target(post)
    _audit(by, "hide" if by else "auto_hide", kind, target_id, label, reason, after=_content(post))


def audit_post_restored(post, thread=None, by=None, reason="", **_):
    kind, target_id, label = _post_target(post)
    _audit(by, "restore", kind, target_id, label, reason, after=_content(post))


def audit_post_deleted(post, thread=None, by=None, reason="", **_):
    kind, target_id, label = _post_target(post)
    _audit(by, "delete", kind, target_id, label, reason, after=_content(post))


def audit_post_edited(post, by=None, before=None, reason=None, **_):
    if reason is None:
        return  # the author's own edit
    kind, target_id, label = _post_target(post)
    thread = post.thread
    after = {
        "body": post.body,
        "title": thread.title,
        "tags": thread.tag_names,
        "author_id": post.author_id,
    }
    _audit(by, "edit", kind, target_id, label, reason, before=before, after=after)


def audit_thread_moved(thread, from_space=None, by=None, reason="", **_):
    _audit(
        by,
        "move",
        "thread",
        thread.id,
        thread.title,
        reason,
        before={"space": from_space.slug if from_space else None},
        after={"space": thread.space.slug, "author_id": thread.author_id},
    )


def audit_thread_locked(thread, by=None, locked=True, reason="", **_):
    _audit(
        by,
        "lock" if locked else "unlock",
        "thread",
        thread.id,
        thread.title,
        reason,
        after={"author_id": thread.author_id},
    )


def audit_threads_merged(thread, into=None, by=None, reason="", **_):
    _audit(
        by,
        "merge",
        "thread",
        thread.id,
        thread.title,
        reason,
        after={"into": into.id, "into_title": into.title, "author_id": thread.author_id},
    )


def audit_idea_hidden(idea, by=None, reason="", **_):
    _audit(
        by,
        "hide" if by else "auto_hide",
        "idea",
        idea.id,
        idea.title,
        reason,
        after={"author_id": idea.author_id},
    )


def audit_idea_restored(idea, by=None, reason="", **_):
    _audit(by, "restore", "idea", idea.id, idea.title, reason, after={"author_id": idea.author_id})


def audit_member_banned(member, by=None, reason="", **_):
    _audit(by, "ban", "member", member.id, member.display_name, reason)


def audit_member_suspended(member, until=None, by=None, reason="", **_):
    _audit(by, "suspend", "member", member.id, member.display_name, reason, after={"until": until})


def audit_member_warned(member, by=None, reason="", **_):
    _audit(by, "warn", "member", member.id, member.display_name, reason)


def audit_member_updated(member, changed=(), by=None, **_):
    """Admin actions: roles and customer data set by an admin."""
    if by is None:
        return
    if "roles" in changed:
        _audit(
            by,
            "set_roles",
            "member",
            member.id,
            member.display_name,
            after={"roles": sorted(member.roles)},
        )
    if "customer_value" in changed or "segment" in changed:
        _audit(
            by,
            "set_customer_data",
            "member",
            member.id,
            member.display_name,
            after={"customer_value": member.customer_value, "segment": member.segment},
        )


def audit_space_created(space, by=None, **_):
    _audit(
        by,
        "create_space",
        "space",
        space.id,
        space.name,
        after={"slug": space.slug, "visibility": space.visibility},
    )


def _audit_now(*args, **kwargs) -> None:
    """Audit something that happened outside any transaction (a page read): its own
    short one."""
    try:
        _audit(*args, **kwargs)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("audit: could not record %s", args[1] if len(args) > 1 else "?")


def audit_private_space_viewed(space, by=None, path="", **_):
    """An admin outside a private space was served its content: the committee is told
    only admins and hosts can read it, so every such read leaves a trace."""
    _audit_now(by, "view_private_space", "space", space.id, space.name, after={"path": path})


def audit_crm_link_changed(member, contact_id=None, action="", method="", by=None, reason="", **_):
    _audit(
        by, f"crm_{action}"[:40], "member", member.id, member.display_name, reason=reason,
        after={"contact_id": contact_id, "method": method},
    )  # fmt: skip


def hold_for_approval(content, author=None, reason="", **_):
    services.add_approval_item(content, author, reason)


# ---- after commit --------------------------------------------------------------------


def _tell_author(author_id, by, space, summary: str, url: str) -> None:
    """A notification (and e-mail) to the author, in its own short transaction."""
    try:
        notes = community.queue_notifications(
            [author_id],
            "moderation",
            actor=by,
            space=space,
            summary=summary,
            url=url,
            email_subject="About your contribution to the community",
            email_body=summary,
        )
        db.session.commit()
        community.announce(notes)
    except Exception:
        db.session.rollback()
        log.exception("moderation: notifying the author failed")


def _why(reason: str) -> str:
    return f" Reason: {reason}" if reason else ""


def _where(post: Post) -> str:
    return f"Your {'thread' if post.is_opening else 'reply in'} “{post.thread.title}”"


def notify_post_hidden(post, thread=None, by=None, reason="", **_):
    who = "by a moderator" if by else "automatically after several flags, pending review"
    _tell_author(
        post.author_id,
        by,
        post.thread.space,
        f"{_where(post)} was hidden {who}.{_why(reason)}",
        url_for("community.post", post_id=post.id),
    )


def notify_post_restored(post, thread=None, by=None, reason="", **_):
    _tell_author(
        post.author_id,
        by,
        post.thread.space,
        f"{_where(post)} was restored by a moderator.{_why(reason)}",
        url_for("community.post", post_id=post.id),
    )


def notify_post_deleted(post, thread=None, by=None, reason="", **_):
    _tell_author(
        post.author_id,
        by,
        post.thread.space,
        f"{_where(post)} was deleted by a moderator.{_why(reason)}",
        url_for("community.post", post_id=post.id),
    )


def notify_post_edited(post, by=None, reason=None, **_):
    if reason is None:
        return
    _tell_author(
        post.author_id,
        by,
        post.thread.space,
        f"{_where(post)} was edited by a moderator.{_why(reason)}",
        url_for("community.post", post_id=post.id),
    )


def notify_thread_moved(thread, from_space=None, by=None, reason="", **_):
    _tell_author(
        thread.author_id,
        by,
        thread.space,
        f"Your thread “{thread.title}” was moved to {thread.space.name}.{_why(reason)}",
        url_for("community.thread", thread_id=thread.id),
    )


def notify_thread_locked(thread, by=None, locked=True, reason="", **_):
    state = "locked" if locked else "unlocked"
    _tell_author(
        thread.author_id,
        by,
        thread.space,
        f"Your thread “{thread.title}” was {state} by a moderator.{_why(reason)}",
        url_for("community.thread", thread_id=thread.id),
    )


def notify_threads_merged(thread, into=None, by=None, reason="", **_):
    _tell_author(
        thread.author_id,
        by,
        into.space,
        f"Your thread “{thread.title}” was merged into “{into.title}”.{_why(reason)}",
        url_for("community.thread", thread_id=into.id),
    )


def notify_idea_hidden(idea, by=None, reason="", **_):
    who = "by a moderator" if by else "automatically after several flags, pending review"
    _tell_author(
        idea.author_id,
        by,
        idea.area.space,
        f"Your idea “{idea.title}” was hidden {who}.{_why(reason)}",
        url_for("ideas.idea", idea_id=idea.id),
    )


def notify_idea_restored(idea, by=None, reason="", **_):
    _tell_author(
        idea.author_id,
        by,
        idea.area.space,
        f"Your idea “{idea.title}” is visible again.{_why(reason)}",
        url_for("ideas.idea", idea_id=idea.id),
    )


def _refresh(member: Member | None) -> None:
    if member is None:
        return
    try:
        services.refresh_trust(member)
    except Exception:
        db.session.rollback()
        log.exception("moderation: refreshing a trust level failed")


def trust_after_thread(thread, **_):
    _refresh(thread.author)


def trust_after_post(post, **_):
    _refresh(post.author)


def trust_after_kudos(kudos, post=None, **_):
    _refresh(post.author if post is not None else None)


def on_voting_fraud(member, voter_ids=(), kind="serial", detail="", **_):
    voters = ", ".join(str(i) for i in list(voter_ids)[:50])
    text = f"Suspicious voting ({kind}) benefiting this member. {detail} Voters: {voters}."
    services.add_fraud_item(member, text.strip())


def _acting_for_themself(member) -> bool:
    """Screening and rate limits apply to members acting through the site or the API,
    not to operators' commands or demo seeding, which act on members' behalf."""
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return False
    return current_user.id == member.id


def screen_submission(author, **kwargs):
    return services.screen(author, **kwargs) if _acting_for_themself(author) else None


def limit_votes(member, **kwargs):
    if _acting_for_themself(member):
        services.on_vote_attempted(member, **kwargs)


def on_content_held(content, **_):
    services._queue_changed(None)


RECORDED = {
    events.post_hidden: audit_post_hidden,
    events.post_restored: audit_post_restored,
    events.post_deleted: audit_post_deleted,
    events.post_edited: audit_post_edited,
    events.thread_moved: audit_thread_moved,
    events.thread_locked: audit_thread_locked,
    events.threads_merged: audit_threads_merged,
    events.idea_hidden: audit_idea_hidden,
    events.idea_restored: audit_idea_restored,
    events.member_banned: audit_member_banned,
    events.member_suspended: audit_member_suspended,
    events.member_warned: audit_member_warned,
    events.member_updated: audit_member_updated,
    events.space_created: audit_space_created,
    events.content_held: hold_for_approval,
    events.crm_link_changed: audit_crm_link_changed,
}

AFTER_COMMIT = {
    events.post_hidden: notify_post_hidden,
    events.post_restored: notify_post_restored,
    events.post_deleted: notify_post_deleted,
    events.post_edited: notify_post_edited,
    events.thread_moved: notify_thread_moved,
    events.thread_locked: notify_thread_locked,
    events.threads_merged: notify_threads_merged,
    events.idea_hidden: notify_idea_hidden,
    events.idea_restored: notify_idea_restored,
    events.thread_created: trust_after_thread,
    events.post_created: trust_after_post,
    events.kudos_given: trust_after_kudos,
    events.voting_fraud_detected: on_voting_fraud,
    events.content_held: on_content_held,
    events.content_submitted: screen_submission,
    events.vote_attempted: limit_votes,
    events.private_space_viewed: audit_private_space_viewed,
}


def connect_subscribers() -> None:
    for signal, receiver in RECORDED.items():
        events.recording(signal).connect(receiver)
    for signal, receiver in AFTER_COMMIT.items():
        signal.connect(receiver)
