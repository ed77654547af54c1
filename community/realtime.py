"""Live updates over Socket.IO.

A browser connects with its session cookie. It is put in its member room (for
the notification badge) and its session room (so signing out closes exactly its
connections), and may join a thread's room only when the access policy lets it
see the thread. Broadcasts carry ids and counts, never content: the page fetches
the new reply's HTML through an access-checked route.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import session
from flask_login import current_user
from flask_socketio import join_room, leave_room

from . import events, services
from .errors import NotFound
from .extensions import db, socketio
from .models import Thread


def member_room(member_id: int) -> str:
    return f"member:{member_id}"


def session_room(key: str) -> str:
    return f"session:{key}"


def thread_room(thread_id: int) -> str:
    return f"thread:{thread_id}"


@socketio.on("connect")
def on_connect(auth=None):
    if current_user.is_authenticated:
        join_room(member_room(current_user.id))
        if session.get("key"):
            join_room(session_room(session["key"]))
    return True


@socketio.on("join_thread")
def on_join_thread(data):
    thread_id = data.get("thread_id") if isinstance(data, dict) else None
    try:
        thread = services.get_thread(thread_id, current_user)
    except NotFound:
        return {"ok": False, "error": "not_found"}
    join_room(thread_room(thread.id))
    return {"ok": True}


@socketio.on("leave_thread")
def on_leave_thread(data):
    thread_id = data.get("thread_id") if isinstance(data, dict) else None
    if isinstance(thread_id, int):
        leave_room(thread_room(thread_id))
    return {"ok": True}


def disconnect_room(room: str) -> None:
    """End every connection in a room (this process's; with a message queue the
    server fans the disconnects out)."""
    server = socketio.server
    if server is None:
        return
    participants = list(server.manager.get_participants("/", room))
    for sid, _eio_sid in participants:
        server.disconnect(sid, namespace="/")


# Which space a room's content lives in, per room prefix ("thread", and "idea"
# registered by ideas), so a member removed from a space leaves its rooms.
ROOM_SPACES: dict[str, Callable[[int], int | None]] = {
    "thread": lambda thread_id: db.session.scalar(
        db.select(Thread.space_id).where(Thread.id == thread_id)
    ),
}


def register_room_space(prefix: str, space_of: Callable[[int], int | None]) -> None:
    ROOM_SPACES[prefix] = space_of


def _room_space(room: str) -> int | None:
    prefix, _, number = room.partition(":")
    space_of = ROOM_SPACES.get(prefix)
    if space_of is None or not number.isdigit():
        return None
    return space_of(int(number))


def leave_space_rooms(member_id: int, space_id: int) -> int:
    """Take every open connection of the member out of the rooms of one space's
    content, at once; returns how many room memberships ended."""
    server = socketio.server
    if server is None:
        return 0
    left = 0
    for sid, _eio_sid in list(server.manager.get_participants("/", member_room(member_id))):
        for room in list(server.manager.get_rooms(sid, "/")):
            if isinstance(room, str) and _room_space(room) == space_id:
                server.leave_room(sid, room, namespace="/")
                left += 1
    return left


# ---- event subscribers --------------------------------------------------------


def on_post_created(post, thread, **_):
    if post.is_hidden:
        return
    socketio.emit(
        "post_created",
        {"thread_id": thread.id, "post_id": post.id, "number": post.number},
        to=thread_room(thread.id),
    )


def on_kudos_changed(sender, post=None, **_):
    post = post or sender  # kudos_given sends the Kudos, kudos_withdrawn the Post
    socketio.emit(
        "kudos_changed",
        {"post_id": post.id, "kudos_count": post.kudos_count},
        to=thread_room(post.thread_id),
    )


def on_answer_changed(post, thread, **_):
    socketio.emit(
        "answer_changed",
        {"thread_id": thread.id, "accepted_post_id": thread.accepted_post_id},
        to=thread_room(thread.id),
    )


def on_notification(note, **_):
    if note is None:
        return
    socketio.emit(
        "notifications",
        {"unread": services.unread_count(note.member)},
        to=member_room(note.member_id),
    )


def on_notifications_read(member, unread, **_):
    socketio.emit("notifications", {"unread": unread}, to=member_room(member.id))


def on_sessions_ended(member, session_key=None, **_):
    if session_key:
        disconnect_room(session_room(session_key))
    else:
        disconnect_room(member_room(member.id))


def on_member_suspended(member, **_):
    disconnect_room(member_room(member.id))


def on_space_member_removed(space, member, **_):
    leave_space_rooms(member.id, space.id)


def connect_subscribers() -> None:
    events.post_created.connect(on_post_created)
    events.kudos_given.connect(on_kudos_changed)
    events.kudos_withdrawn.connect(on_kudos_changed)
    events.answer_accepted.connect(on_answer_changed)
    events.answer_unaccepted.connect(on_answer_changed)
    events.notification_created.connect(on_notification)
    events.notifications_read.connect(on_notifications_read)
    events.sessions_ended.connect(on_sessions_ended)
    events.member_suspended.connect(on_member_suspended)
    events.member_banned.connect(on_member_suspended)  # a ban ends every live connection too
    events.space_member_removed.connect(on_space_member_removed)
