"""Community events the CRM bridge carries to the CRMs.

Recording receivers run inside the causing transaction and add the outbox rows with
one INSERT each (nothing read: they use the objects the service already holds), so
the event and its CRM delivery commit or roll back together. After-commit receivers
link new members to their contacts and queue reputation's changes (reputation
sends them after its own commit).
"""

from __future__ import annotations

import logging
import uuid

from flask import current_app
from sqlalchemy import insert
from sqlalchemy.orm.util import identity_key

from community import events
from community.extensions import db
from community.models import Member, Post, utcnow

from . import outbox, services
from .models import OutboxItem

log = logging.getLogger(__name__)


def _url(endpoint: str, **values) -> str:
    return services.external_url(endpoint, **values)


def _at(moment) -> str:
    return (moment or utcnow()).isoformat(timespec="seconds") + "Z"


def _activity(type_: str, title: str, url: str | None, at=None, **extra) -> dict:
    return {"type": type_, "title": title[:300], "url": url, "at": _at(at), **extra}


def _enqueue_all(entries: list[tuple]) -> None:
    """Several rows (kind, data, member) for one event: still one INSERT."""
    names = outbox.enabled()
    if not names or not entries:
        return
    now = utcnow()
    rows = []
    for kind, data, member in entries:
        event_id = str(uuid.uuid4())
        rows += [
            {
                "event_id": event_id, "connector": name, "kind": kind,
                "contact_key": f"m:{member.id}", "member_id": member.id,
                "email": member.email, "payload": {"data": data, "account": None},
                "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
            }
            for name in names
        ]  # fmt: skip
    db.session.execute(insert(OutboxItem), rows)


def _cached(model, ident):
    """The row if the session already holds it; never a query."""
    if ident is None:
        return None
    return db.session.identity_map.get(identity_key(model, ident))


# ---- contributions ---------------------------------------------------------------


def on_thread_created(thread, post=None, **_):
    kind = "question_asked" if thread.kind == "question" else "discussion_started"
    url = _url("community.thread", thread_id=thread.id)
    outbox.enqueue(
        "activity", _activity(kind, thread.title, url, thread.created_at, thread_id=thread.id),
        member=thread.author,
    )  # fmt: skip


def on_post_created(post, thread=None, **_):
    thread = thread or post.thread
    url = _url("community.post", post_id=post.id)
    outbox.enqueue(
        "activity",
        _activity("answer_posted" if thread.kind == "question" else "reply_posted",
                  f"Re: {thread.title}", url, post.created_at, thread_id=thread.id,
                  post_id=post.id),
        member=post.author,
    )  # fmt: skip


def on_answer_accepted(post, thread=None, by=None, **_):
    thread = thread or post.thread
    url = _url("community.post", post_id=post.id)
    outbox.enqueue(
        "activity",
        _activity("answer_accepted", f"Answer accepted: {thread.title}", url,
                  thread_id=thread.id, post_id=post.id),
        member=post.author,
    )  # fmt: skip


def on_kudos_given(kudos, post=None, by=None, **_):
    post = post or kudos.post
    url = _url("community.post", post_id=post.id)
    outbox.enqueue(
        "activity",
        _activity("kudos_received", f"Kudos from {by.display_name if by else 'a member'}", url,
                  post_id=post.id),
        member=post.author,
    )  # fmt: skip


# ---- ideas ----------------------------------------------------------------------------


def on_idea_voted(vote, idea=None, by=None, changed=False, **_):
    idea = idea or vote.idea
    member = by or vote.member
    outbox.enqueue(
        "activity",
        _activity("idea_voted", idea.title, _url("ideas.idea", idea_id=idea.id),
                  idea_id=idea.id, importance=vote.importance, changed=bool(changed),
                  status=idea.status),
        member=member,
    )  # fmt: skip


def on_idea_status_changed(idea, change=None, by=None, **_):
    """One row; the worker fans it out to every account whose members voted."""
    to_status = change.to_status if change is not None else idea.status
    outbox.enqueue(
        "idea_status",
        {"idea_id": idea.id, "status": to_status,
         "status_label": getattr(change, "label", None) or to_status.replace("_", " "),
         "note": (change.note if change is not None else "") or "",
         "url": _url("ideas.idea", idea_id=idea.id)},
        key=f"i:{idea.id}",
    )  # fmt: skip


# ---- the help flow ----------------------------------------------------------------------


def on_case_deflected(deflection, thread=None, member=None, query="", **_):
    """The customer's self-service on their record; the answerer's deflected-case
    count moves with it (when the session holds the answer; else the next sync)."""
    entries = []
    if member is not None:
        entries.append(
            ("activity", _activity("case_deflected", f"Solved with: {thread.title}",
                                   _url("community.thread", thread_id=thread.id),
                                   deflection.created_at, thread_id=thread.id,
                                   query=(query or "")[:500]), member)
        )  # fmt: skip
    answer = _cached(Post, thread.accepted_post_id) if thread is not None else None
    author = _cached(Member, answer.author_id) if answer is not None else None
    if author is not None and (member is None or author.id != member.id):
        entries.append(("contact", {"deflected_cases_changed": True}, author))
    _enqueue_all(entries)


def on_case_escalated(case, member=None, thread=None, **_):
    data = {
        "reference": case.reference,
        "subject": case.subject,
        "description": case.description,
        "email": case.email,
        "thread_url": _url("community.thread", thread_id=thread.id) if thread else None,
        "query": case.query or "",
        "type": "case_escalated",
    }
    if member is not None:
        outbox.enqueue("case", data, member=member)
    else:
        outbox.enqueue("case", data, email=case.email)


# ---- after commit: reputation's figures -----------------------------------------------


def on_reputation_changed(member, points=None, rank=None, delta=None, **_):
    """Reputation sends this after its own commit (its totals are known only then),
    so the contact update is a short transaction of its own: one INSERT. The
    figures reputation registers with community.member_figures (social value,
    engagement level, rank, reputation) are read at delivery, once per contact
    and batch, not here in the request that caused the change."""
    if not outbox.enabled():
        return
    data = {"reputation": points, "rank": rank}
    # The caller's session (a second connection per request would double what
    # concurrent requests hold), committed without expiring the caller's objects:
    # the one row written here is not among them.
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        outbox.enqueue("contact", data, member=member)
        session.commit()
    except Exception:  # the cause has committed; the next change or sync carries it
        session.rollback()
        log.exception("CRM bridge could not queue the reputation change of %s", member.id)
    finally:
        session.expire_on_commit = expire


# ---- signals from listening and advisory ----------------------------------------------------


def _watchlist(kind: str, type_: str):
    def receive(alert, member=None, thread=None, idea=None, terms=(), **_):
        if member is None:
            return
        if thread is not None:
            title, url = thread.title, _url("community.thread", thread_id=thread.id)
        elif idea is not None:
            title, url = idea.title, _url("ideas.idea", idea_id=idea.id)
        else:
            title, url = "", None
        label = "Sales lead" if kind == "lead" else "Churn risk"
        outbox.enqueue(
            kind,
            {"type": type_, "subject": f"{label}: {title}"[:300],
             "title": f"{label}: {title}"[:300],
             "description": f"Matched: {', '.join(map(str, terms))}"[:2000], "url": url,
             "terms": [str(t)[:60] for t in terms][:20]},
            member=member,
        )  # fmt: skip

    receive.__name__ = f"on_{type_}"
    return receive


on_lead_detected = _watchlist("lead", "lead_detected")
on_churn_signal = _watchlist("task", "churn_signal")


def on_conversation_at_risk(alert, member=None, thread=None, post=None, sentiment=None, **_):
    if member is None or thread is None:
        return
    outbox.enqueue(
        "activity",
        _activity("conversation_at_risk", f"At risk: {thread.title}",
                  _url("community.thread", thread_id=thread.id),
                  sentiment=float(sentiment) if sentiment is not None else None,
                  thread_id=thread.id),
        member=member,
    )  # fmt: skip


def on_space_member_added(membership, space=None, member=None, by=None, **_):
    if space is None or member is None or space.kind != "advisory":
        return
    outbox.enqueue(
        "activity",
        _activity("advisory_joined", f"Joined {space.name}",
                  _url("community.space", slug=space.slug)),
        member=member,
    )  # fmt: skip


def on_space_member_removed(space, member=None, by=None, reason="", **_):
    if member is None or space.kind != "advisory":
        return
    outbox.enqueue(
        "activity",
        _activity("advisory_left", f"Left {space.name}", _url("community.space", slug=space.slug),
                  reason=(reason or "")[:200]),
        member=member,
    )  # fmt: skip


def on_member_updated_recording(member, changed=frozenset(), **_):
    """Name or e-mail changes reach the contact; customer facts come *from* the CRM
    and are not sent back."""
    if {"display_name", "email"} & set(changed or ()):
        outbox.enqueue(
            "contact", {"name": member.display_name, "email": member.email}, member=member
        )


# ---- after commit: identity ---------------------------------------------------------------


def on_member_joined(member, **_):
    if outbox.enabled() and current_app.config.get("CRM_AUTO_LINK", True):
        services.auto_link(member)


RECORDING = {
    events.thread_created: on_thread_created,
    events.post_created: on_post_created,
    events.answer_accepted: on_answer_accepted,
    events.kudos_given: on_kudos_given,
    events.idea_voted: on_idea_voted,
    events.idea_status_changed: on_idea_status_changed,
    events.case_deflected: on_case_deflected,
    events.case_escalated: on_case_escalated,
    events.lead_detected: on_lead_detected,
    events.churn_signal: on_churn_signal,
    events.conversation_at_risk: on_conversation_at_risk,
    events.space_member_added: on_space_member_added,
    events.space_member_removed: on_space_member_removed,
    events.member_updated: on_member_updated_recording,
}


def connect_subscribers() -> None:
    for signal, receiver in RECORDING.items():
        events.recording(signal).connect(receiver)
    events.member_joined.connect(on_member_joined)
    events.reputation_changed.connect(on_reputation_changed)
