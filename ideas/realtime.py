"""Live vote counts and statuses on open idea pages and lists.

A page joins an idea's room only when the access policy lets it see the idea;
broadcasts carry the idea id, its count and its status, never content."""

from __future__ import annotations

from flask_login import current_user
from flask_socketio import join_room

from community import events, realtime
from community.errors import NotFound
from community.extensions import db, socketio

from . import services
from .models import STATUS_LABELS, Area, Idea


def idea_room(idea_id: int) -> str:
    return f"idea:{idea_id}"


@socketio.on("join_ideas")
def on_join_ideas(data):
    """Join the rooms of up to 100 ideas shown on a page."""
    ids = data.get("idea_ids") if isinstance(data, dict) else None
    if not isinstance(ids, list):
        return {"ok": False, "error": "invalid"}
    joined = []
    for idea_id in ids[:100]:
        try:
            idea = services.get_idea(idea_id, current_user)
        except NotFound:
            continue
        join_room(idea_room(idea.id))
        joined.append(idea.id)
    return {"ok": True, "joined": joined}


def _send_count(idea: Idea) -> None:
    socketio.emit(
        "idea_votes", {"idea_id": idea.id, "votes": idea.vote_count}, to=idea_room(idea.id)
    )


def on_voted(vote, idea, **_):
    _send_count(idea)


def on_unvoted(idea, **_):
    _send_count(idea)


def on_status_changed(idea, change, **_):
    socketio.emit(
        "idea_status",
        {"idea_id": idea.id, "status": idea.status, "label": STATUS_LABELS[idea.status]},
        to=idea_room(idea.id),
    )


def on_votes_changed(_sender, idea_ids=(), into=None, **_):
    """After a merge or voided votes: every idea whose count moved."""
    ids = list(idea_ids) + ([into.id, _sender.id] if into is not None else [])
    for idea in services.ideas_by_ids(ids):
        _send_count(idea)


def _space_of_idea(idea_id: int) -> int | None:
    return db.session.scalar(
        db.select(Area.space_id).join(Idea, Idea.area_id == Area.id).where(Idea.id == idea_id)
    )


def connect_subscribers() -> None:
    realtime.register_room_space("idea", _space_of_idea)
    events.idea_voted.connect(on_voted)
    events.idea_unvoted.connect(on_unvoted)
    events.idea_status_changed.connect(on_status_changed)
    events.idea_merged.connect(on_votes_changed)
    events.idea_votes_voided.connect(on_votes_changed)
