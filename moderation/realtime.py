"""The live review queue: moderators' pages join one room and hear when it changes.

Broadcasts carry an item id and the open count, never content: the page fetches
the refreshed list through an access-checked route."""

from __future__ import annotations

from flask_login import current_user
from flask_socketio import join_room

from community import access
from community.extensions import socketio

ROOM = "moderation:queue"


@socketio.on("join_moderation")
def on_join_moderation(_data=None):
    if not access.is_moderator(current_user):
        return {"ok": False, "error": "not_found"}
    join_room(ROOM)
    return {"ok": True}


def queue_changed(item_id: int | None) -> None:
    from .services import open_count

    socketio.emit("moderation_queue", {"item_id": item_id, "open": open_count()}, to=ROOM)
