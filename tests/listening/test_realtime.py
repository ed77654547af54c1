"""Live alerts over Socket.IO: only support and sales join, and each alert
reaches only those who may read what it is about."""

import pytest

from community.extensions import db, socketio
from community.models import SpaceMembership


def received(sock, name):
    return [e["args"][0] for e in sock.get_received() if e["name"] == name]


@pytest.fixture
def socket_for(app, login):
    def connect(member=None):
        http = app.test_client()
        if member is not None:
            login(member, the_client=http)
        sock = socketio.test_client(app, flask_test_client=http)
        assert sock.is_connected()
        return sock

    return connect


def test_a_support_agent_hears_an_angry_customer_live(
    app, socket_for, make_thread, customer, agent
):
    sock = socket_for(agent)
    assert sock.emit("join_alerts", {}, callback=True) == {"ok": True}
    sock.get_received()
    thread = make_thread(author=customer, title="Charged twice",
                         body="Charged twice again. Unacceptable, awful, furious.")  # fmt: skip
    [alert] = received(sock, "listening_alert")
    assert alert["kind"] == "at_risk" and alert["label"] == "At risk"
    assert alert["about"] == {
        "type": "thread", "id": thread.id, "title": "Charged twice", "url": alert["about"]["url"],
    }  # fmt: skip
    assert alert["member"]["id"] == customer.id and alert["sentiment"] < -0.5


def test_a_watchlist_owner_hears_their_matches_and_nobody_elses(
    app, socket_for, make_thread, customer, seller, make_member, make_watchlist, agent
):
    make_watchlist(seller, ["quote"])
    other = make_member("Sid Sales", roles=["sales"])
    owner_sock, other_sock, agent_sock = socket_for(seller), socket_for(other), socket_for(agent)
    for sock in (owner_sock, other_sock, agent_sock):
        assert sock.emit("join_alerts", {}, callback=True) == {"ok": True}
        sock.get_received()
    make_thread(author=customer, title="Quote please", body="Can we get a quote for 50 seats?")
    [alert] = received(owner_sock, "listening_alert")
    assert alert["kind"] == "lead" and alert["terms"] == ["quote"]
    assert received(other_sock, "listening_alert") == []
    assert received(agent_sock, "listening_alert") == []


def test_customers_and_visitors_cannot_join_the_alert_room(
    app, socket_for, make_thread, customer, make_member
):
    for who in (None, customer, make_member("Mo Moderator", roles=["moderator"])):
        sock = socket_for(who)
        assert sock.emit("join_alerts", {}, callback=True) == {"ok": False, "error": "not_found"}
        make_thread(author=make_member(), title="Awful", body="Horrible, terrible, useless.")
        assert received(sock, "listening_alert") == []


def test_private_alerts_reach_only_agents_who_belong_to_the_space(
    app, socket_for, make_space, make_thread, make_member, customer
):
    space = make_space("advisory", visibility="private", kind="advisory")
    insider = make_member("Ines Insider", roles=["support_agent"])
    outsider = make_member("Otto Outsider", roles=["support_agent"])
    with app.app_context():
        for who in (insider, customer):
            db.session.add(SpaceMembership(space_id=space.id, member_id=who.id))
        db.session.commit()
    inside, outside = socket_for(insider), socket_for(outsider)
    for sock in (inside, outside):
        assert sock.emit("join_alerts", {}, callback=True) == {"ok": True}
        sock.get_received()
    make_thread(space, customer, title="Secret canary-5521 complaint",
                body="Horrible, terrible, useless.")  # fmt: skip
    assert len(received(inside, "listening_alert")) == 1
    assert received(outside, "listening_alert") == []


def test_handling_an_alert_updates_open_queues(
    app, socket_for, make_thread, customer, agent, login
):
    sock = socket_for(agent)
    sock.emit("join_alerts", {}, callback=True)
    make_thread(author=customer, title="Awful", body="Horrible, terrible, useless.")
    [alert] = received(sock, "listening_alert")
    http = app.test_client()
    login(agent, the_client=http)
    assert http.post(f"/listening/alerts/{alert['id']}/handled").status_code == 302
    assert received(sock, "listening_alert_handled") == [{"id": alert["id"], "action": "dismissed"}]
