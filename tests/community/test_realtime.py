"""Live updates over Socket.IO, through Flask-SocketIO's test client."""

from datetime import timedelta

import pytest

from community import services
from community.extensions import db, socketio
from community.models import Member, Post, SpaceMembership, Thread, utcnow

PASSWORD = "correct horse battery"  # the conftest's test password


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
        return sock, http

    return connect


def test_visitor_joins_a_public_thread_and_sees_a_reply_arrive(
    app, socket_for, make_thread, make_reply
):
    thread = make_thread(title="Live replies please")
    sock, _ = socket_for()
    assert sock.emit("join_thread", {"thread_id": thread.id}, callback=True) == {"ok": True}
    sock.get_received()
    reply = make_reply(thread, body="Here is an answer")
    [payload] = events_named(sock, "post_created")
    assert payload == {"thread_id": thread.id, "post_id": reply.id, "number": 1}
    # The broadcast carries ids only; the page fetches the HTML through an access check.
    assert "Here is an answer" not in str(payload)


def test_private_thread_room_is_refused_to_outsiders(
    app, socket_for, make_space, make_thread, make_member
):
    host = make_member("Hana Host")
    space = make_space("advisory-board", visibility="private", kind="advisory")
    with app.app_context():
        db.session.add(SpaceMembership(space_id=space.id, member_id=host.id, role="host"))
        db.session.commit()
    secret = make_thread(space, host, title="Roadmap canary-7731 discussion")
    outsider = make_member("Otto Outsider")
    for who in (None, outsider):
        sock, _ = socket_for(who)
        assert sock.emit("join_thread", {"thread_id": secret.id}, callback=True) == {
            "ok": False,
            "error": "not_found",
        }
        with app.test_request_context():
            services.reply(db.session.get(Thread, secret.id), db.session.get(Member, host.id), "x")
        assert events_named(sock, "post_created") == []
    insider, _ = socket_for(host)
    assert insider.emit("join_thread", {"thread_id": secret.id}, callback=True) == {"ok": True}


def test_bad_join_payloads_are_refused_quietly(socket_for):
    sock, _ = socket_for()
    for payload in (None, "7", {"thread_id": "1"}, {"thread_id": 999999}, [1, 2]):
        assert sock.emit("join_thread", payload, callback=True)["ok"] is False
    assert sock.is_connected()


def test_kudos_count_updates_live(app, socket_for, make_thread, make_reply, make_member):
    thread = make_thread()
    reply = make_reply(thread)
    fan = make_member("Fay Fan")
    sock, _ = socket_for()
    sock.emit("join_thread", {"thread_id": thread.id}, callback=True)
    with app.test_request_context():
        services.give_kudos(db.session.get(Post, reply.id), db.session.get(Member, fan.id))
    assert events_named(sock, "kudos_changed") == [{"post_id": reply.id, "kudos_count": 1}]
    with app.test_request_context():
        services.withdraw_kudos(db.session.get(Post, reply.id), db.session.get(Member, fan.id))
    assert events_named(sock, "kudos_changed") == [{"post_id": reply.id, "kudos_count": 0}]


def test_notification_badge_updates_live_for_that_member_only(
    app, socket_for, make_thread, make_reply, make_member
):
    asker = make_member("Ann Asker")
    bystander = make_member("Ben Bystander")
    thread = make_thread(author=asker)
    asker_sock, _ = socket_for(asker)
    other_sock, _ = socket_for(bystander)
    make_reply(thread, body="An answer for Ann")
    assert events_named(asker_sock, "notifications") == [{"unread": 1}]
    assert events_named(other_sock, "notifications") == []
    with app.test_request_context():
        services.mark_notifications_read(db.session.get(Member, asker.id))
    assert events_named(asker_sock, "notifications") == [{"unread": 0}]


def test_signing_out_closes_that_browsers_connections_only(socket_for, make_member):
    member = make_member("Sid Signout")
    laptop, laptop_http = socket_for(member)
    phone, _ = socket_for(member)
    response = laptop_http.post("/logout")
    assert response.status_code == 302
    assert not laptop.is_connected()
    assert phone.is_connected()


def test_password_change_closes_every_connection_of_the_member(socket_for, make_member):
    member = make_member("Pat Password")
    laptop, laptop_http = socket_for(member)
    phone, _ = socket_for(member)
    response = laptop_http.post(
        "/settings/password",
        data={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert response.status_code == 302
    assert not laptop.is_connected()
    assert not phone.is_connected()


def test_suspension_closes_connections(app, socket_for, make_member):
    member = make_member("Sue Suspended")
    moderator = make_member("Mo Derator", roles=["moderator"])
    sock, _ = socket_for(member)
    with app.test_request_context():
        services.suspend_member(
            db.session.get(Member, member.id),
            utcnow() + timedelta(days=3),
            by=db.session.get(Member, moderator.id),
            reason="Repeated spam",
        )
    assert not sock.is_connected()


def test_a_reconnecting_socket_after_sign_out_is_a_visitor(
    app, socket_for, make_member, make_space, make_thread
):
    member = make_member("Vic Visitor")
    space = make_space("club", visibility="private")
    with app.app_context():
        db.session.add(SpaceMembership(space_id=space.id, member_id=member.id))
        db.session.commit()
    secret = make_thread(space, member, title="Members only thread")
    sock, http = socket_for(member)
    assert sock.emit("join_thread", {"thread_id": secret.id}, callback=True) == {"ok": True}
    http.post("/logout")
    again = socketio.test_client(app, flask_test_client=http)
    assert again.emit("join_thread", {"thread_id": secret.id}, callback=True)["ok"] is False
