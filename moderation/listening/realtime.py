"""Live alerts over Socket.IO.

Only support agents and sales (and admins) may join their alert room; every
alert is then sent to each recipient's own room, and only to recipients who
may read the post or idea it is about, so private content never reaches
someone outside its space.
"""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from flask_socketio import join_room

from community import access
from community.extensions import socketio

from . import services
from .models import Alert


def alerts_room(member_id: int) -> str:
    return f"listening:{member_id}"


@socketio.on("join_alerts")
def on_join_alerts(data=None):
    if not access.can_listen(current_user) or current_user.is_suspended:
        return {"ok": False, "error": "not_found"}
    join_room(alerts_room(current_user.id))
    return {"ok": True}


def alert_payload(alert: Alert) -> dict:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "label": alert.label,
        "about": services.about(alert),
        "member": {"id": alert.member_id, "name": alert.member.display_name},
        "sentiment": alert.sentiment,
        "terms": alert.term_list,
        "watchlist": alert.watchlist.name if alert.watchlist is not None else None,
        "queue_url": url_for("listening.queue", _anchor=f"alert-{alert.id}"),
    }


def send_alert(alert: Alert) -> None:
    payload = alert_payload(alert)
    for member in services.alert_recipients(alert):
        socketio.emit("listening_alert", payload, to=alerts_room(member.id))


def send_handled(alert: Alert) -> None:
    payload = {"id": alert.id, "action": alert.handled_action}
    for member in services.alert_recipients(alert):
        socketio.emit("listening_alert_handled", payload, to=alerts_room(member.id))
