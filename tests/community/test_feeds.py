"""Atom feeds mirror the pages: same access policy, sanitized content, valid Atom."""

from __future__ import annotations

from xml.etree import ElementTree

from community.extensions import db
from community.models import SpaceMembership

ATOM = "{http://www.w3.org/2005/Atom}"


def entries(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/atom+xml"
    root = ElementTree.fromstring(response.data)  # noqa: S314 - our own feed
    assert root.tag == f"{ATOM}feed"
    return [
        {
            "title": e.findtext(f"{ATOM}title"),
            "link": e.find(f"{ATOM}link").get("href"),
            "content": e.findtext(f"{ATOM}content"),
            "author": e.findtext(f"{ATOM}author/{ATOM}name"),
        }
        for e in root.findall(f"{ATOM}entry")
    ]


def test_new_threads_feed_lists_public_threads_newest_first(client, make_space, make_thread):
    space = make_space("general")
    make_thread(space, title="First question about invoices")
    make_thread(space, title="Second question about exports", body="Use **CSV**.")
    found = entries(client.get("/feed.atom"))
    assert [e["title"] for e in found] == [
        "Second question about exports",
        "First question about invoices",
    ]
    assert "<strong>CSV</strong>" in found[0]["content"]
    assert found[0]["link"].startswith("http://localhost/t/")
    assert client.get("/feed.atom").headers["Cache-Control"].startswith("public")


def test_space_and_thread_feeds(client, make_space, make_thread, make_reply, make_member):
    space = make_space("billing")
    thread = make_thread(space, title="Refund policy?")
    make_reply(thread, make_member("Rita Replier"), "Within 30 days. <script>alert(1)</script>")
    assert [e["title"] for e in entries(client.get("/s/billing/feed.atom"))] == ["Refund policy?"]
    replies = entries(client.get(f"/t/{thread.id}/feed.atom"))
    assert len(replies) == 1 and replies[0]["author"] == "Rita Replier"
    assert "Within 30 days." in replies[0]["content"] and "<script" not in replies[0]["content"]
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert f'href="/t/{thread.id}/feed.atom"' in page


def test_private_feeds_answer_404_to_outsiders_and_serve_members(
    app, client, login, make_space, make_thread, make_member
):
    board = make_space("board", kind="advisory", visibility="private")
    insider, outsider = make_member(), make_member()
    with app.test_request_context():
        db.session.add(SpaceMembership(space_id=board.id, member_id=insider.id))
        db.session.commit()
    secret = make_thread(board, insider, title="Secret roadmap feedcanary")
    make_thread(make_space("general"), title="Public hello")
    for who in (None, outsider):
        if who:
            login(who)
        assert client.get("/s/board/feed.atom").status_code == 404
        assert client.get(f"/t/{secret.id}/feed.atom").status_code == 404
        assert b"feedcanary" not in client.get("/feed.atom").data
    login(insider)
    assert "Secret roadmap feedcanary" in [e["title"] for e in entries(client.get("/feed.atom"))]
    response = client.get("/s/board/feed.atom")
    assert entries(response)[0]["title"] == "Secret roadmap feedcanary"
    assert response.headers["Cache-Control"] == "private, no-store"
