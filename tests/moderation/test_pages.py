"""What members and moderators see on pages after moderation (no shared context:
each request is its own, as in production)."""

from __future__ import annotations

from community.extensions import db
from community.models import Member, Thread
from moderation import services as moderation

from .conftest import attached


def act(app, moderator, *args, **kwargs):
    with app.test_request_context():
        moderation.act(attached(moderator), *args, **kwargs)


def test_hidden_and_deleted_replies_show_their_reason_to_the_author_only(
    app, client, login, make_thread, make_reply, make_member, moderator
):
    thread = make_thread()
    author = make_member("Ann Author")
    hidden = make_reply(thread, author, body="Buy cheap watches")
    deleted = make_reply(thread, author, body="Something rude")
    act(app, moderator, "hide", "post", hidden.id, "Advertising")
    act(app, moderator, "delete", "post", deleted.id, "Insulting")

    login(author)
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "Hidden by a moderator: Advertising" in page
    assert "Deleted by a moderator: Insulting" in page
    other = app.test_client()
    login(make_member("Olga Other"), the_client=other)
    page = other.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "Buy cheap watches" not in page and "Something rude" not in page
    assert "0 replies" in page
    assert other.get(f"/posts/{hidden.id}").status_code == 404


def test_merged_thread_page_leads_to_the_kept_thread(
    app, client, make_thread, make_space, moderator
):
    space = make_space()
    keep, dupe = make_thread(space), make_thread(space, title="Same question again")
    act(app, moderator, "merge", "thread", dupe.id, "Duplicate", into=keep.id)
    response = client.get(f"/t/{dupe.id}")
    assert response.status_code == 301 and response.location.endswith(f"/t/{keep.id}")


def test_ban_ends_sessions_tokens_and_sign_in(
    app, client, login, token_for, make_member, moderator
):
    member = make_member("Bert Banned")
    headers = token_for(member)
    login(member)
    assert client.get("/settings/profile").status_code == 200
    act(app, moderator, "ban", "member", member.id, "Spam ring")
    assert client.get("/settings/profile").status_code == 302  # signed out
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401
    response = client.post(
        "/login", data={"email": member.email, "password": "correct horse battery"}
    )
    assert response.status_code == 422 and "banned" in response.get_data(as_text=True)


def test_locked_thread_refuses_replies_on_the_page_and_api(
    app, client, login, token_for, make_thread, make_member, moderator
):
    thread = make_thread()
    member = make_member()
    act(app, moderator, "lock", "thread", thread.id, "Heated")
    headers = token_for(member)
    api = app.test_client().post(
        f"/api/v1/threads/{thread.id}/posts", json={"body": "More!"}, headers=headers
    )
    assert api.status_code == 403 and "locked" in api.get_json()["error"]["message"]
    login(member)
    client.post(f"/t/{thread.id}/reply", data={"body": "More!"})
    with app.app_context():
        assert db.session.get(Thread, thread.id).reply_count == 0


def test_moderator_works_the_queue_through_the_pages(
    app, client, login, make_thread, make_reply, member_at, moderator
):
    thread = make_thread()
    post = make_reply(thread, body="Spam spam spam")
    flagger = member_at(1)
    flagging = app.test_client()
    login(flagger, the_client=flagging)
    form = flagging.get(f"/moderation/flag/post/{post.id}")
    assert form.status_code == 200 and "Send flag" in form.get_data(as_text=True)
    sent = flagging.post(f"/moderation/flag/post/{post.id}", data={"reason": "spam", "note": ""})
    assert sent.status_code == 302

    login(moderator)
    queue = client.get("/moderation/").get_data(as_text=True)
    assert "Spam spam spam" in queue and "Spam</strong> by" in queue
    assert "trust level 0" in queue  # the author's level
    done = client.post(
        "/moderation/actions",
        data={
            "action": "hide",
            "target_type": "post",
            "target_id": str(post.id),
            "reason": "Spam",
            "next": "/moderation/",
        },
    )
    assert done.status_code == 302
    assert "The queue is empty" in client.get("/moderation/").get_data(as_text=True)
    log = client.get("/moderation/audit-log?action=hide").get_data(as_text=True)
    assert "Spam" in log and "Reply in" in log


def test_members_never_see_moderation_pages(app, client, login, make_member):
    login(make_member())
    for url in (
        "/moderation/",
        "/moderation/audit-log",
        "/moderation/audit-log.csv",
        "/moderation/spam",
        "/moderation/queue/items",
    ):
        assert client.get(url).status_code == 404, url


def test_suspended_member_is_refused_on_pages_but_reads(
    app, client, login, make_thread, make_reply, make_member, moderator
):
    thread = make_thread()
    post = make_reply(thread)
    member = make_member("Sue Suspended")
    act(app, moderator, "suspend", "member", member.id, "Cool down", until="2999-01-01")
    login(member)
    assert client.get(f"/t/{thread.id}").status_code == 200  # reading is fine
    client.post(f"/t/{thread.id}/reply", data={"body": "Let me in"})
    client.post(f"/posts/{post.id}/kudos", data={"action": "give"})
    flag = client.post(f"/moderation/flag/post/{post.id}", data={"reason": "spam"})
    assert flag.status_code == 403 and "suspended members cannot flag" in flag.get_data(
        as_text=True
    )
    with app.app_context():
        thread_row = db.session.get(Thread, thread.id)
        assert thread_row.reply_count == 1
        assert db.session.get(type(post), post.id).kudos_count == 0
        assert db.session.get(Member, member.id).is_suspended


def test_suspension_ends_the_members_live_connections(app, socket_for, make_member, moderator):
    member = make_member("Sid Socket")
    sock, _http = socket_for(member)
    assert sock.is_connected()
    act(app, moderator, "suspend", "member", member.id, "Cool down", until="2999-01-01")
    assert not sock.is_connected()


def test_banned_members_live_connections_end(app, socket_for, make_member, moderator):
    member = make_member("Ben Socket")
    sock, _http = socket_for(member)
    act(app, moderator, "ban", "member", member.id, "Spam ring")
    assert not sock.is_connected()
