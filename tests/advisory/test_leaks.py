"""The leak suite: nothing said inside a private space reaches a non-member.

Canary strings go into every kind of private content. Then, as a visitor, an
ordinary member and a member of another private space, the sweep calls every GET
route the app registers (URL-map converters filled with the ids and slugs of the
private objects), follows the links it finds, searches for the canaries, reads
notifications and the e-mail outbox, and listens on Socket.IO while the content
is created and edited. It runs again after permissions change. Routes other
engineers add later are swept too: the crawl walks the URL map.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from datetime import timedelta
from urllib.parse import unquote_plus

import pytest
from flask import url_for
from werkzeug.routing import BuildError, IntegerConverter

from advisory import services
from community import services as community
from community.extensions import db, socketio
from community.models import EmailOutbox, Notification, Post, Thread, utcnow
from ideas import services as ideas

PASSWORD = "correct horse battery"
HREF = re.compile(r'href="(/[^"#]*)')
# Searches look for the first word ("zqxtitle"); a page leaks when it shows the whole
# canary, which no request ever carries (a page echoing its own URL is no leak).
CANARIES = {
    "thread title": "zqxtitle-canary",
    "post": "zqxpost-canary",
    "idea": "zqxidea-canary",
    "idea comment": "zqxcomment-canary",
    "meeting agenda": "zqxagenda-canary",
    "tag": "zqxtag-canary",
    "mention reply": "zqxmention-canary",
    "edited": "zqxedited-canary",
}
MOVED = "zqxmoved-canary"
SEARCH_ROUTES = [
    "/search?q={}",
    "/api/v1/search?q={}",
    "/api/v1/search/similar?q={}",
    "/api/v1/ideas/similar?q={}",
    "/help/suggestions?q={}",
    "/ideas/?tag={}",
    "/threads?tag={}",
    "/search?q={}&tag={}",
]
MAX_REQUESTS = 1500


def attached(obj):
    return db.session.get(type(obj), obj.id)


def sweep(app, client, canaries, *, ids, slugs, extra=()):
    """Every GET route (filled with the given ids and slugs), the links found in the
    pages, and searches for each canary: returns [(url, canary)] for every leak."""
    urls = list(extra)
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            options = []
            for name, converter in rule._converters.items():
                numeric = isinstance(converter, IntegerConverter)
                options.append([(name, v) for v in (ids if numeric else slugs)])
            for combo in itertools.islice(itertools.product(*options), 200):
                with contextlib.suppress(ValueError, BuildError):
                    urls.append(url_for(rule.endpoint, **dict(combo)))
    for canary in canaries:
        key = canary.split("-")[0]
        urls += [route.format(key, key) for route in SEARCH_ROUTES]
        urls += [route.format(canary, canary) for route in SEARCH_ROUTES]
    seen, leaks, requests = set(), [], 0
    queue = list(dict.fromkeys(urls))
    while queue and requests < MAX_REQUESTS:
        url = queue.pop(0)
        if url in seen or "logout" in url or url.startswith("/static/"):
            continue
        seen.add(url)
        response = client.get(url)
        requests += 1
        text = response.get_data(as_text=True).lower()
        response.close()
        asked = unquote_plus(url).lower()
        leaks += [(url, c) for c in canaries if c.lower() in text and c.lower() not in asked]
        if response.status_code == 200 and "html" in response.content_type:
            queue += [u.replace("&amp;", "&") for u in HREF.findall(text) if u not in seen]
    assert requests > 50, "the sweep must actually crawl"
    return leaks


def outbox_leaks(member_ids, addresses, canaries):
    rows = db.session.scalars(
        db.select(EmailOutbox).where(
            EmailOutbox.member_id.in_(member_ids) | EmailOutbox.to_address.in_(addresses)
        )
    )
    return [(row.subject, c) for row in rows for c in canaries if c in f"{row.subject} {row.body}"]


def events_payloads(sock):
    return [(e["name"], e["args"]) for e in sock.get_received()]


@pytest.fixture
def world(app, cab, make_member, make_space, make_committee, invite_and_join, login):
    """A public space, the committee with canary content, and the three outsiders:
    a visitor, an ordinary member (mentioned inside), a member of another committee."""
    public = make_space("lobby")
    ordinary = make_member("Pat Public")
    other_committee = make_committee("other-board", name="Other Board")
    other = make_member("Olga Other")
    invite_and_join(other_committee, other)

    # Outsiders listen on Socket.IO while the private content is created and edited.
    sockets = {}
    for name, member in (("visitor", None), ("ordinary", ordinary), ("other", other)):
        http = app.test_client()
        if member is not None:
            login(member, the_client=http)
        sockets[name] = socketio.test_client(app, flask_test_client=http)

    with app.test_request_context():
        space, insider, host = attached(cab.space), attached(cab.insider), attached(cab.host)
        committee = attached(cab.committee)
        thread = community.create_thread(
            space, insider, "discussion", f"Roadmap {CANARIES['thread title']}",
            f"Our plans: {CANARIES['post']}", [CANARIES["tag"]],
        )  # fmt: skip
        reply = community.reply(
            thread, insider, f"@{ordinary.handle} should never hear {CANARIES['mention reply']}"
        )
        community.edit_post(reply, insider, f"@{ordinary.handle} edit {CANARIES['edited']}")
        idea = ideas.submit_idea(
            insider, services.area_of(committee), f"Suggestion {CANARIES['idea']}", "Details."
        )
        community.reply(idea.thread, host, f"Comment {CANARIES['idea comment']}")
        ideas.change_status(idea, "planned", f"Answer {CANARIES['edited']}", by=host)
        meeting = services.create_meeting(
            committee, host, title="Monthly meeting",
            starts_at=utcnow() + timedelta(hours=3), agenda=f"1. {CANARIES['meeting agenda']}",
        )  # fmt: skip
        services.remind_due_meetings()
        ids = sorted(
            {thread.id, reply.id, idea.id, idea.thread_id, meeting.id, space.id, 1}
            | set(db.session.scalars(db.select(Post.id).where(Post.thread_id == thread.id)))
            | {insider.id, host.id}
        )
        slugs = [space.slug, services.area_of(committee).slug, CANARIES["tag"], "lobby"]
        private_thread_ids = {thread.id, idea.thread_id}
        public_id = public.id
    return {
        "ordinary": ordinary, "other": other, "sockets": sockets, "ids": ids, "slugs": slugs,
        "private_thread_ids": private_thread_ids, "public_id": public_id,
        "thread_id": thread.id, "idea_id": idea.id,
    }  # fmt: skip


def clients(app, login, world):
    visitor = app.test_client()
    ordinary = login(world["ordinary"], the_client=app.test_client())
    other = login(world["other"], the_client=app.test_client())
    return {"visitor": visitor, "ordinary": ordinary, "other": other}


def test_staff_who_do_not_belong_see_nothing_either(app, login, world, make_member):
    """Moderators, support agents, sales and product managers are not let in by
    their role: only admins, hosts and members are."""
    staff = make_member(
        "Stef Staff", roles=["moderator", "support_agent", "sales", "product_manager"]
    )
    client = login(staff, the_client=app.test_client())
    leaks = sweep(app, client, list(CANARIES.values()), ids=world["ids"], slugs=world["slugs"])
    assert leaks == []


def test_private_content_reaches_no_outsider_on_any_surface(app, login, world):
    canaries = list(CANARIES.values())
    for name, client in clients(app, login, world).items():
        leaks = sweep(app, client, canaries, ids=world["ids"], slugs=world["slugs"])
        assert leaks == [], f"{name} saw private content: {leaks[:5]}"
    with app.app_context():
        addresses = [world["ordinary"].email, world["other"].email]
        ids = [world["ordinary"].id, world["other"].id]
        assert outbox_leaks(ids, addresses, canaries) == []
        # The mention inside the private space notified nobody outside it.
        notes = db.session.scalars(
            db.select(Notification).where(Notification.member_id == world["ordinary"].id)
        ).all()
        assert notes == []
    for name, sock in world["sockets"].items():
        received = events_payloads(sock)
        assert not any(c in str(received) for c in canaries), name
        for thread_id in world["private_thread_ids"]:
            assert sock.emit("join_thread", {"thread_id": thread_id}, callback=True) == {
                "ok": False,
                "error": "not_found",
            }
        assert sock.emit("join_ideas", {"idea_ids": [world["idea_id"]]}, callback=True) == {
            "ok": True,
            "joined": [],
        }


@pytest.fixture
def leaky_route(app):
    """A route that forgets the access policy (registered before any request)."""

    def leaky(thread_id):
        thread = db.session.get(Thread, thread_id)
        return thread.title if thread else ""

    app.add_url_rule("/leaky/<int:thread_id>", "leaky", leaky)


def test_the_sweep_catches_a_deliberately_leaky_route(leaky_route, app, login, world):
    leaks = sweep(
        app, app.test_client(), [CANARIES["thread title"]], ids=world["ids"], slugs=world["slugs"]
    )
    assert (f"/leaky/{world['thread_id']}", CANARIES["thread title"]) in leaks


def test_a_public_thread_moved_into_the_space_disappears_for_outsiders(
    app, login, world, cab, make_thread
):
    thread = make_thread(
        None, world["ordinary"], title=f"Public question {MOVED}", body=f"Body {MOVED}"
    )
    visitor = app.test_client()
    assert MOVED in visitor.get(f"/t/{thread.id}").get_data(as_text=True)
    assert MOVED in visitor.get(f"/search?q={MOVED}").get_data(as_text=True)
    with app.test_request_context():
        community.move_thread(
            attached(thread), attached(cab.space), by=attached(cab.admin), reason="Committee topic."
        )
    ids = [*world["ids"], thread.id, thread.space_id]
    # Its own author too is an outsider to the space it now lives in.
    for name, client in clients(app, login, world).items():
        assert client.get(f"/t/{thread.id}").status_code == 404
        assert sweep(app, client, [MOVED], ids=ids, slugs=world["slugs"]) == [], name


def test_a_removed_member_loses_everything_at_once_including_their_socket(app, login, world, cab):
    http = login(cab.insider, the_client=app.test_client())
    sock = socketio.test_client(app, flask_test_client=http)
    assert sock.emit("join_thread", {"thread_id": world["thread_id"]}, callback=True)["ok"]
    assert sock.emit("join_ideas", {"idea_ids": [world["idea_id"]]}, callback=True)["joined"]
    sock.get_received()
    with app.test_request_context():
        services.remove_member(attached(cab.committee), attached(cab.insider), attached(cab.host))
    with app.test_request_context():
        thread = db.session.get(Thread, world["thread_id"])
        community.reply(thread, attached(cab.second), "After the removal")
    assert [e for e in sock.get_received() if e["name"] == "post_created"] == []
    assert http.get(f"/t/{world['thread_id']}").status_code == 404
    canaries = list(CANARIES.values())
    leaks = sweep(app, http, canaries, ids=world["ids"], slugs=world["slugs"])
    # Their own words are theirs, but they reach them no more through the space.
    assert leaks == []


def test_a_suspended_members_open_socket_is_closed(app, login, world, cab):
    http = login(cab.second, the_client=app.test_client())
    sock = socketio.test_client(app, flask_test_client=http)
    assert sock.is_connected()
    with app.test_request_context():
        community.suspend_member(
            attached(cab.second), utcnow() + timedelta(days=3), attached(cab.admin), "spam"
        )
    assert not sock.is_connected()


def test_a_revoked_invitation_link_shows_nothing(app, login, world, cab):
    with app.test_request_context():
        invitation, url = services.invite(
            attached(cab.committee), attached(cab.host), email=world["ordinary"].email
        )
        services.revoke_invitation(invitation, attached(cab.host))
    path = url.split("localhost", 1)[-1]
    token = path.rsplit("/", 1)[-1]
    client = clients(app, login, world)["ordinary"]
    assert client.get(path).status_code == 404
    response = client.post(f"/api/v1/invitations/{token}/accept", json={"accept_charter": True})
    assert response.status_code == 404
    canaries = [*CANARIES.values(), cab.space.name]
    assert sweep(app, client, canaries, ids=world["ids"], slugs=world["slugs"], extra=[path]) == []


def test_a_banned_members_open_socket_is_closed(app, login, world, cab):
    """Banning is moderation's; whoever sends member_banned, live connections end."""
    from community import events

    http = login(cab.second, the_client=app.test_client())
    sock = socketio.test_client(app, flask_test_client=http)
    assert sock.emit("join_thread", {"thread_id": world["thread_id"]}, callback=True)["ok"]
    with app.test_request_context():
        events.member_banned.send(attached(cab.second), by=attached(cab.admin), reason="abuse")
    assert not sock.is_connected()
