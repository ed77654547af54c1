"""Live vote counts and statuses over Socket.IO, through Flask-SocketIO's test client."""

from __future__ import annotations

import pytest

from community.extensions import db, socketio
from community.models import Member, SpaceMembership
from ideas import services
from ideas.models import Idea


def events_named(client, name):
    return [e["args"][0] for e in client.get_received() if e["name"] == name]


@pytest.fixture
def socket_for(app, login):
    """A signed-in (or visitor) socket that shares cookies with its own HTTP client."""

    def connect(member=None):
        http = app.test_client()
        if member is not None:
            login(member, the_client=http)
        sock = socketio.test_client(app, flask_test_client=http)
        assert sock.is_connected()
        return sock

    return connect


def as_member(app, fn, idea, member, *args):
    with app.test_request_context():
        return fn(db.session.get(Idea, idea.id), db.session.get(Member, member.id), *args)


def test_open_pages_see_vote_counts_and_statuses_change(
    app, socket_for, make_idea, make_member, pm
):
    idea = make_idea(title="Microsoft Teams notifications")
    other = make_idea(title="Webhook retries visible in the UI")
    voter = make_member("Val Voter")
    visitor = socket_for()
    reader = socket_for(make_member("Rae Reader"))
    for sock in (visitor, reader):
        joined = sock.emit("join_ideas", {"idea_ids": [idea.id, other.id]}, callback=True)
        assert joined == {"ok": True, "joined": [idea.id, other.id]}
        sock.get_received()

    as_member(app, services.vote, idea, voter, "critical")
    for sock in (visitor, reader):
        assert events_named(sock, "idea_votes") == [{"idea_id": idea.id, "votes": 2}]
    as_member(app, services.unvote, idea, voter)
    assert events_named(visitor, "idea_votes") == [{"idea_id": idea.id, "votes": 1}]

    with app.test_request_context():
        services.change_status(
            db.session.get(Idea, other.id),
            "planned",
            "Next quarter",
            by=db.session.get(Member, pm.id),
        )
    for sock in (visitor, reader):
        assert events_named(sock, "idea_status") == [
            {"idea_id": other.id, "status": "planned", "label": "Planned"}
        ]
    # The broadcast carries ids, counts and statuses, never the note or content.
    assert "Next quarter" not in str(reader.get_received())


def test_a_socket_hears_only_the_ideas_it_joined(app, socket_for, make_idea, make_member):
    shown, elsewhere = make_idea(), make_idea()
    sock = socket_for()
    sock.emit("join_ideas", {"idea_ids": [shown.id]}, callback=True)
    sock.get_received()
    as_member(app, services.vote, elsewhere, make_member("Val Voter"))
    assert events_named(sock, "idea_votes") == []


def test_merges_and_voided_votes_update_counts_live(
    app, socket_for, make_idea, make_member, pm, moderator
):
    duplicate, kept = make_idea(), make_idea()
    cheat = make_member("Chet Cheat")
    as_member(app, services.vote, kept, cheat)
    sock = socket_for()
    sock.emit("join_ideas", {"idea_ids": [duplicate.id, kept.id]}, callback=True)
    sock.get_received()
    with app.test_request_context():
        services.void_votes(
            db.session.get(Member, cheat.id), db.session.get(Member, moderator.id), "Fraud ring"
        )
    assert events_named(sock, "idea_votes") == [{"idea_id": kept.id, "votes": 1}]
    with app.test_request_context():
        services.merge_ideas(
            db.session.get(Idea, duplicate.id),
            db.session.get(Idea, kept.id),
            by=db.session.get(Member, pm.id),
        )
    counts = {e["idea_id"]: e["votes"] for e in events_named(sock, "idea_votes")}
    assert counts == {duplicate.id: 0, kept.id: 2}


def test_outsiders_cannot_join_a_private_ideas_room(
    app, socket_for, board, make_idea, make_member, admin
):
    public = make_idea()
    member = make_member("Mem Ber")
    with app.test_request_context():
        db.session.add(SpaceMembership(space_id=board.space.id, member_id=member.id))
        db.session.commit()
    outsiders = [socket_for(), socket_for(board.outsider)]
    for sock in outsiders:
        joined = sock.emit("join_ideas", {"idea_ids": [board.secret.id, public.id]}, callback=True)
        assert joined == {"ok": True, "joined": [public.id]}
        sock.get_received()
    insider = socket_for(board.insider)
    assert insider.emit("join_ideas", {"idea_ids": [board.secret.id]}, callback=True) == {
        "ok": True,
        "joined": [board.secret.id],
    }
    insider.get_received()

    as_member(app, services.vote, board.secret, member, "critical")
    with app.test_request_context():
        services.change_status(
            db.session.get(Idea, board.secret.id),
            "planned",
            "",
            by=db.session.get(Member, admin.id),
        )
    for sock in outsiders:
        assert sock.get_received() == []
    received = insider.get_received()
    assert [
        (e["name"], e["args"][0]["idea_id"]) for e in received if e["name"] != "notifications"
    ] == [
        ("idea_votes", board.secret.id),
        ("idea_status", board.secret.id),
    ]


def test_bad_join_payloads_are_refused_quietly(socket_for, make_idea):
    idea = make_idea()
    sock = socket_for()
    for payload in (None, "7", {"idea_ids": "1"}, [1, 2], {"ideas": [idea.id]}):
        assert sock.emit("join_ideas", payload, callback=True) == {"ok": False, "error": "invalid"}
    odd = sock.emit(
        "join_ideas", {"idea_ids": ["1", None, True, 10**30, -1, 999999, idea.id]}, callback=True
    )
    assert odd == {"ok": True, "joined": [idea.id]}
    many = sock.emit("join_ideas", {"idea_ids": [idea.id] * 500}, callback=True)
    assert many["ok"] is True
    assert sock.is_connected()
