"""How listening reacts to other domains' events: every new or edited post and
every new idea is scored and matched after it has committed, in a short
transaction of its own; alerts raised go out live to those allowed to see them.

Listening never breaks the change that triggered it: a failure is logged and
the post stays as written.
"""

from __future__ import annotations

import logging

from community import events
from community.extensions import db

from . import realtime, services

log = logging.getLogger(__name__)


def _safely(what: str, work) -> None:
    try:
        work()
    except Exception:
        db.session.rollback()
        log.exception("listening: %s failed", what)


def on_thread_created(thread, post=None, **_):
    if post is not None:
        _safely("scoring a new thread", lambda: services.listen_to_post(post))


def on_post_created(post, **_):
    _safely("handling alerts answered by staff", lambda: services.mark_replied(post))
    _safely("scoring a reply", lambda: services.listen_to_post(post))


def on_post_edited(post, **_):
    _safely("scoring an edited post", lambda: services.listen_to_post(post))


def on_idea_submitted(idea, **_):
    _safely("scoring an idea", lambda: services.listen_to_idea(idea))


def on_thread_moved(thread, **_):
    _safely("following a moved thread", lambda: services.relocate([thread.id]))


def on_threads_merged(thread, into=None, **_):
    ids = [thread.id, into.id if into is not None else None]
    _safely("following merged threads", lambda: services.relocate(ids))


def on_alert(alert, **_):
    """conversation_at_risk, lead_detected and churn_signal: tell the audience live."""
    _safely("sending a live alert", lambda: realtime.send_alert(alert))


def connect_subscribers() -> None:
    events.thread_created.connect(on_thread_created)
    events.post_created.connect(on_post_created)
    events.post_edited.connect(on_post_edited)
    events.idea_submitted.connect(on_idea_submitted)
    events.thread_moved.connect(on_thread_moved)
    events.threads_merged.connect(on_threads_merged)
    for signal in (events.conversation_at_risk, events.lead_detected, events.churn_signal):
        signal.connect(on_alert)
