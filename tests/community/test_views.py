"""The HTML site through the Flask test client: what a visitor or member sees and does."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from community import services
from community.extensions import db
from community.models import (
    ApiToken,
    Kudos,
    Member,
    Notification,
    Post,
    Space,
    SpaceFollow,
    SpaceMembership,
    Thread,
    ThreadFollow,
    utcnow,
)

PASSWORD = "correct horse battery"  # the conftest's test password


# ---- helpers ----------------------------------------------------------------


def page_text(response) -> str:
    return response.get_data(as_text=True)


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(app, model, ident):
    """The row as it is now, detached but readable."""
    with app.app_context():
        obj = db.session.get(model, ident)
        if obj is not None:
            db.session.expunge(obj)
        return obj


def roles_of(app, member_id) -> set[str]:
    with app.app_context():
        return set(db.session.get(Member, member_id).roles)


def join_space(app, space, member, role="member") -> None:
    with app.app_context():
        db.session.add(SpaceMembership(space_id=space.id, member_id=member.id, role=role))
        db.session.commit()


def hide_post(app, post_id) -> None:
    with app.app_context():
        db.session.get(Post, post_id).is_hidden = True
        db.session.commit()


def set_times(app, thread_id, *, created_ago, active_ago) -> None:
    now = utcnow()
    with app.app_context():
        thread = db.session.get(Thread, thread_id)
        thread.created_at = now - created_ago
        thread.last_post_at = now - active_ago
        db.session.commit()


def thread_titles(html: str) -> list[str]:
    return re.findall(r'class="thread-title" href="/t/\d+">([^<]*)</a>', html)


def reply_numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-number="(\d+)"', html) if n != "0"]


def space_card(html: str, name: str) -> str:
    chunks = (c.split("</li>")[0] for c in html.split('<li class="space-card">')[1:])
    cards = [c for c in chunks if f">{name}</a>" in c]
    assert len(cards) == 1, f"no single card for {name}"
    return cards[0]


def dd_after(html: str, label: str) -> int:
    match = re.search(rf"<dt>{re.escape(label)}</dt><dd>(\d+)</dd>", html)
    assert match, f"no count for {label}"
    return int(match.group(1))


def unread_badge(html: str) -> int:
    match = re.search(r'id="unread-badge" data-count="(\d+)"', html)
    assert match, "no notification badge on the page"
    return int(match.group(1))


def location(response) -> str:
    assert response.status_code in (301, 302, 303), response.status_code
    return response.headers["Location"]


def signed_in(client) -> bool:
    return client.get("/settings/profile").status_code == 200


@pytest.fixture
def other_client(app):
    return app.test_client()


@pytest.fixture
def private_space(make_space):
    return make_space("advisory-board", visibility="private", kind="advisory")


# ---- register -----------------------------------------------------------------


def test_register_creates_the_account_signs_in_and_goes_home(app, client):
    response = client.post(
        "/register",
        data={"email": "Nina@Example.com", "display_name": "Nina Newcomer", "password": PASSWORD},
    )
    assert location(response) == "/"
    home = page_text(client.get("/"))
    assert "Welcome to the community, Nina Newcomer!" in home
    assert "Sign out" in home
    assert signed_in(client)
    assert count(app, Member, Member.email_key == "nina@example.com") == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"email": "not-an-email", "display_name": "Nina", "password": PASSWORD},
            "email",
            "An email address must have an @-sign.",
        ),
        (
            {"email": "nina@example.com", "display_name": "Nina", "password": "short"},
            "password",
            "At least 10 characters.",
        ),
        (
            {"email": "nina@example.com", "display_name": "N", "password": PASSWORD},
            "display_name",
            "At least 2 characters.",
        ),
    ],
)
def test_register_with_a_bad_field_re_renders_with_its_message(app, client, data, field, message):
    before = count(app, Member)
    response = client.post("/register", data=data)
    assert response.status_code == 422
    html = page_text(response)
    assert f'<p class="error" id="{field}-error">{message}</p>' in html
    assert f'value="{data["email"]}"' in html  # what was typed stays in the form
    assert count(app, Member) == before
    assert not signed_in(client)


def test_register_refuses_an_e_mail_taken_in_another_case(app, client, make_member):
    make_member("Carl Case", email="Carl.Case@Example.com")
    before = count(app, Member)
    response = client.post(
        "/register",
        data={"email": "carl.case@EXAMPLE.COM", "display_name": "Carl Two", "password": PASSWORD},
    )
    assert response.status_code == 422
    assert "An account with this e-mail address already exists." in page_text(response)
    assert count(app, Member) == before
    assert not signed_in(client)


def test_signed_in_members_are_sent_away_from_register(client, make_member, login):
    assert client.get("/register").status_code == 200
    login(make_member())
    assert location(client.get("/register")) == "/"


# ---- login and logout -------------------------------------------------------------


def test_wrong_password_shows_a_message_and_does_not_sign_in(client, make_member):
    member = make_member()
    for email, password in ((member.email, "wrong password!"), ("nobody@example.com", PASSWORD)):
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 422
        assert "Wrong e-mail address or password." in page_text(response)
        assert not signed_in(client)


def test_login_accepts_the_e_mail_in_any_case(client, make_member):
    member = make_member()
    response = client.post("/login", data={"email": member.email.upper(), "password": PASSWORD})
    assert location(response) == "/"
    assert signed_in(client)


def test_login_page_carries_next_into_the_form(client):
    html = page_text(client.get("/login?next=/s/billing/new"))
    assert 'name="next" type="hidden" value="/s/billing/new"' in html


def test_login_follows_a_local_next(client, make_member):
    member = make_member()
    response = client.post(
        "/login", data={"email": member.email, "password": PASSWORD, "next": "/threads?sort=new"}
    )
    assert location(response) == "/threads?sort=new"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "///evil.example",
        "////evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "/\r\nSet-Cookie: stolen=1",
    ],
)
def test_login_never_redirects_off_site(client, make_member, target):
    member = make_member()
    response = client.post(
        "/login", data={"email": member.email, "password": PASSWORD, "next": target}
    )
    assert location(response) == "/"
    assert signed_in(client)


def test_remember_me_sets_a_lasting_cookie(app, client, make_member):
    member = make_member()
    client.post("/login", data={"email": member.email, "password": PASSWORD})
    assert client.get_cookie("remember_token") is None

    remembered = app.test_client()
    remembered.post("/login", data={"email": member.email, "password": PASSWORD, "remember": "y"})
    assert remembered.get_cookie("remember_token") is not None
    # The browser forgets its session cookie; the remember cookie signs it back in.
    remembered.delete_cookie("session")
    assert signed_in(remembered)


def test_logout_needs_post_and_signs_out(client, make_member, login):
    login(make_member())
    assert client.get("/logout").status_code == 405
    assert signed_in(client)
    response = client.post("/logout")
    assert location(response) == "/"
    assert "You are signed out." in page_text(client.get("/"))
    assert location(client.get("/settings/profile")).startswith("/login")


def test_logout_forgets_the_remember_cookie(client, make_member):
    member = make_member()
    client.post("/login", data={"email": member.email, "password": PASSWORD, "remember": "y"})
    client.post("/logout")
    assert client.get_cookie("remember_token") is None
    assert not signed_in(client)


# ---- home page ------------------------------------------------------------------


def test_home_lists_spaces_with_thread_and_post_counts(client, make_space, make_thread, make_reply):
    billing = make_space("billing", name="Billing")
    make_space("integrations", name="Integrations")
    first = make_thread(billing, title="Invoice is missing VAT")
    make_reply(first)
    make_reply(first)
    make_thread(billing, title="Change card details")

    html = page_text(client.get("/"))
    billing_card = space_card(html, "Billing")
    assert dd_after(billing_card, "threads") == 2
    assert dd_after(billing_card, "posts") == 4  # two opening posts and two replies
    empty_card = space_card(html, "Integrations")
    assert dd_after(empty_card, "threads") == 0
    assert dd_after(empty_card, "posts") == 0


def test_home_shows_unanswered_questions_only(client, make_space, make_thread, make_reply):
    space = make_space()
    make_thread(space, title="Nobody answered this one")
    answered = make_thread(space, title="Somebody answered this one")
    make_reply(answered)
    make_thread(space, title="Just a discussion topic", kind="discussion")

    html = page_text(client.get("/"))
    needs_help = html.split("Needs your help")[1]
    assert "Nobody answered this one" in needs_help
    assert "Somebody answered this one" not in needs_help
    assert "Just a discussion topic" not in needs_help


def test_private_spaces_are_invisible_to_visitors_and_outsiders(
    app, client, admin, private_space, make_space, make_member, make_thread, login
):
    make_space("general", name="General")
    secret = make_thread(private_space, admin, title="Roadmap canary-4411")
    with app.app_context():
        secret_post_id = services.opening_post(db.session.get(Thread, secret.id)).id
    insider = make_member("Ines Insider")
    join_space(app, private_space, insider)
    outsider = make_member("Otto Outsider")

    visitor = app.test_client()
    outsider_client = login(outsider, the_client=app.test_client())
    for who in (visitor, outsider_client):
        for url in ("/", "/threads", "/threads?sort=unanswered", "/s/general"):
            html = page_text(who.get(url))
            assert "Advisory Board" not in html
            assert "canary-4411" not in html
        for url in (
            "/s/advisory-board",
            f"/t/{secret.id}",
            f"/posts/{secret_post_id}",
            f"/posts/{secret_post_id}/fragment",
        ):
            response = who.get(url)
            assert response.status_code == 404, url
            assert "canary-4411" not in page_text(response)
    assert outsider_client.get("/s/advisory-board/new").status_code == 404
    assert outsider_client.post(f"/t/{secret.id}/reply", data={"body": "hi"}).status_code == 404

    # Those who belong see it (so the checks above would notice a leak).
    insider_client = login(insider, the_client=app.test_client())
    assert "canary-4411" in page_text(insider_client.get("/"))
    assert insider_client.get("/s/advisory-board").status_code == 200
    assert insider_client.get(f"/t/{secret.id}").status_code == 200


# ---- space page -------------------------------------------------------------------


@pytest.fixture
def sorted_space(app, make_space, make_member, make_thread, make_reply):
    """Four threads whose activity and creation orders differ."""
    space = make_space("sorting", name="Sorting")
    asker = make_member("Asker")
    alpha = make_thread(space, asker, title="Alpha unanswered question")
    bravo = make_thread(space, asker, title="Bravo solved question")
    charlie = make_thread(space, asker, title="Charlie discussion", kind="discussion")
    delta = make_thread(space, asker, title="Delta answered question")
    answer = make_reply(bravo)
    make_reply(delta)
    with app.test_request_context():
        services.accept_answer(db.session.get(Post, answer.id), db.session.get(Member, asker.id))
    hour = timedelta(hours=1)
    set_times(app, alpha.id, created_ago=4 * hour, active_ago=4 * hour)
    set_times(app, bravo.id, created_ago=3 * hour, active_ago=hour / 2)
    set_times(app, charlie.id, created_ago=hour, active_ago=hour)
    set_times(app, delta.id, created_ago=2 * hour, active_ago=1.5 * hour)
    return space


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("latest", ["Bravo", "Charlie", "Delta", "Alpha"]),
        ("new", ["Charlie", "Delta", "Bravo", "Alpha"]),
        ("unanswered", ["Alpha"]),
        ("solved", ["Bravo"]),
    ],
)
def test_space_page_sorts(client, sorted_space, sort, expected):
    response = client.get(f"/s/sorting?sort={sort}")
    assert response.status_code == 200
    assert [title.split()[0] for title in thread_titles(page_text(response))] == expected


def test_space_page_defaults_to_latest_and_unknown_sorts_fall_back(client, sorted_space):
    default = page_text(client.get("/s/sorting"))
    bogus = client.get("/s/sorting?sort=bogus")
    assert bogus.status_code == 200
    assert thread_titles(page_text(bogus)) == thread_titles(default)
    assert [t.split()[0] for t in thread_titles(default)] == ["Bravo", "Charlie", "Delta", "Alpha"]
    assert re.search(r'aria-current="page" class="active">Latest activity', page_text(bogus))


def test_space_page_shows_30_threads_a_page(client, make_space, make_member, make_thread):
    space = make_space("busy")
    author = make_member()
    for n in range(31):
        make_thread(space, author, title=f"Busy thread number {n:02}")

    first = thread_titles(page_text(client.get("/s/busy")))
    second_page = client.get("/s/busy?page=2")
    second = thread_titles(page_text(second_page))
    assert len(first) == 30
    assert len(second) == 1
    assert set(first).isdisjoint(second)
    assert len(set(first) | set(second)) == 31
    assert 'rel="prev"' in page_text(second_page)
    assert 'rel="next"' in page_text(client.get("/s/busy"))


@pytest.mark.parametrize("page", ["abc", "-1", "0", "", "1.5", "99999999999999999999999999"])
def test_space_page_survives_odd_page_numbers(client, make_space, make_thread, page):
    space = make_space("oddpages")
    make_thread(space, title="Only thread here")
    response = client.get(f"/s/oddpages?page={page}")
    assert response.status_code == 200
    if page != "99999999999999999999999999":
        assert thread_titles(page_text(response)) == ["Only thread here"]


def test_page_past_the_end_is_empty_not_an_error(client, make_space, make_thread):
    make_thread(make_space("short"), title="Lonely thread")
    response = client.get("/s/short?page=7")
    assert response.status_code == 200
    assert thread_titles(page_text(response)) == []


# ---- new thread -------------------------------------------------------------------


def test_new_thread_page_needs_sign_in(client, make_space, make_member):
    make_space("billing")
    response = client.get("/s/billing/new")
    target = urlsplit(location(response))
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/s/billing/new"]

    member = make_member()
    response = client.post(
        "/login", data={"email": member.email, "password": PASSWORD, "next": "/s/billing/new"}
    )
    assert location(response) == "/s/billing/new"
    assert client.get("/s/billing/new").status_code == 200


def test_new_thread_is_created_and_shown(app, client, make_space, make_member, login):
    make_space("billing")
    member = make_member("Quentin Question")
    login(member)
    response = client.post(
        "/s/billing/new",
        data={
            "kind": "question",
            "title": "Where do I download invoices?",
            "body": "I looked under **Billing** but found nothing.",
            "tags": "invoices, billing",
        },
    )
    match = re.fullmatch(r"/t/(\d+)", location(response))
    assert match
    thread = fresh(app, Thread, int(match.group(1)))
    assert thread.title == "Where do I download invoices?"
    assert thread.author_id == member.id
    html = page_text(client.get(location(response)))
    assert "Where do I download invoices?" in html
    assert "<strong>Billing</strong>" in html
    assert '<span class="tag">billing</span>' in html
    assert '<span class="tag">invoices</span>' in html


def test_new_thread_title_is_prefilled_from_the_query(client, make_space, make_member, login):
    make_space("billing")
    login(make_member())
    html = page_text(client.get("/s/billing/new?title=Refund+please"))
    assert 'value="Refund please"' in html


@pytest.mark.parametrize(
    ("title", "body", "field", "message"),
    [
        ("", "Some details", "title", "At least 5 characters."),
        ("A fine title here", "x" * 50_001, "body", "At most 50,000 characters."),
        ("A fine title here", "   ", "body", "Required."),
    ],
)
def test_new_thread_with_bad_fields_re_renders_and_writes_nothing(
    app, client, make_space, make_member, login, title, body, field, message
):
    make_space("billing")
    login(make_member())
    response = client.post(
        "/s/billing/new", data={"kind": "question", "title": title, "body": body, "tags": ""}
    )
    assert response.status_code == 422
    assert f'<p class="error" id="{field}-error">{message}</p>' in page_text(response)
    assert count(app, Thread) == 0
    assert count(app, Post) == 0


# ---- thread page ------------------------------------------------------------------


def test_thread_page_shows_the_question_and_the_solution_under_it(
    app, client, make_thread, make_reply, make_member
):
    asker = make_member("Asker")
    thread = make_thread(author=asker, title="Export to CSV?", body="How do I *export*?")
    make_reply(thread, body="First idea that did not work")
    solution = make_reply(thread, body="Use Settings then Export")
    for _ in range(3):
        make_reply(thread, body="Later chatter")
    html = page_text(client.get(f"/t/{thread.id}"))
    assert "How do I <em>export</em>?" in html
    assert "✓ Solved" not in html
    assert 'class="solution"' not in html

    with app.test_request_context():
        services.accept_answer(db.session.get(Post, solution.id), db.session.get(Member, asker.id))
    html = page_text(client.get(f"/t/{thread.id}"))
    opening_at = html.index("How do I <em>export</em>?")
    solution_at = html.index('<section class="solution"')
    replies_at = html.index('class="replies-head"')
    assert opening_at < solution_at < replies_at
    section = html[solution_at:replies_at]
    assert f'id="post-{solution.id}"' in section
    assert "Use Settings then Export" in section
    assert "✓ Solved" in html


def test_thread_replies_come_20_a_page(client, make_thread, make_member, make_reply):
    thread = make_thread()
    helper = make_member()
    for n in range(1, 22):
        make_reply(thread, helper, body=f"Reply number {n}")
    first = page_text(client.get(f"/t/{thread.id}"))
    second = page_text(client.get(f"/t/{thread.id}?page=2"))
    assert reply_numbers(first) == list(range(1, 21))
    assert reply_numbers(second) == [21]
    # The question stays on top of every page.
    assert 'data-number="0"' in first
    assert 'data-number="0"' in second
    assert "21 replies" in first


def test_views_count_once_per_member_and_once_per_visitor_session(
    app, make_thread, make_member, login
):
    thread = make_thread()
    reader = make_member("Rita Reader")
    laptop = login(reader, the_client=app.test_client())
    phone = login(reader, the_client=app.test_client())
    for browser in (laptop, laptop, phone):
        assert browser.get(f"/t/{thread.id}").status_code == 200
    assert fresh(app, Thread, thread.id).view_count == 1

    visitor = app.test_client()
    visitor.get(f"/t/{thread.id}")
    visitor.get(f"/t/{thread.id}?page=1")
    assert fresh(app, Thread, thread.id).view_count == 2

    another_visitor = app.test_client()
    response = another_visitor.get(f"/t/{thread.id}")
    assert fresh(app, Thread, thread.id).view_count == 3
    assert "3 views" in page_text(response)


# ---- replying and editing -----------------------------------------------------------


def test_reply_is_posted_and_redirects_to_it(app, client, make_thread, make_member, login):
    thread = make_thread(title="Need help with SSO")
    login(make_member("Helpful Hal"))
    response = client.post(f"/t/{thread.id}/reply", data={"body": "Check the **SAML** settings."})
    post = fresh(app, Post, _last_post_id(app))
    assert location(response) == f"/t/{thread.id}?page=1#post-{post.id}"
    assert post.number == 1
    html = page_text(client.get(f"/t/{thread.id}"))
    assert "Check the <strong>SAML</strong> settings." in html
    assert "1 reply" in html


def _last_post_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(Post.id)))


def test_empty_reply_is_refused(app, client, make_thread, make_member, login):
    thread = make_thread()
    login(make_member())
    response = client.post(f"/t/{thread.id}/reply", data={"body": "  "})
    assert response.status_code == 422
    assert '<p class="error" id="body-error">Required.</p>' in page_text(response)
    assert count(app, Post, Post.thread_id == thread.id) == 1


def test_visitors_are_asked_to_sign_in_to_reply(app, client, make_thread):
    thread = make_thread()
    assert "to answer" in page_text(client.get(f"/t/{thread.id}"))
    response = client.post(f"/t/{thread.id}/reply", data={"body": "anonymous"})
    assert urlsplit(location(response)).path == "/login"
    assert count(app, Post, Post.thread_id == thread.id) == 1


def test_author_edits_a_reply_and_it_is_marked_edited(
    app, client, make_thread, make_member, make_reply, login
):
    thread = make_thread()
    author = make_member()
    reply = make_reply(thread, author, body="Original wording")
    assert 'class="edited"' not in page_text(client.get(f"/t/{thread.id}"))
    login(author)
    form = client.get(f"/posts/{reply.id}/edit")
    assert form.status_code == 200
    assert "Original wording" in page_text(form)

    response = client.post(f"/posts/{reply.id}/edit", data={"body": "Better wording"})
    assert location(response) == f"/posts/{reply.id}"
    html = page_text(client.get(f"/t/{thread.id}"))
    assert "Better wording" in html
    assert "Original wording" not in html
    assert 'class="edited"' in html
    assert "edited just now" in html


def test_author_edits_the_question_title_and_tags(app, client, make_thread, make_member, login):
    author = make_member()
    thread = make_thread(author=author, title="Old title here", tags=["old"])
    login(author)
    with app.app_context():
        opening_id = services.opening_post(db.session.get(Thread, thread.id)).id
    response = client.post(
        f"/posts/{opening_id}/edit",
        data={"title": "New title here", "body": "New body", "tags": "fresh, shiny"},
    )
    assert location(response) == f"/posts/{opening_id}"
    assert fresh(app, Thread, thread.id).title == "New title here"
    html = page_text(client.get(f"/t/{thread.id}"))
    assert '<span class="tag">shiny</span>' in html
    assert '<span class="tag">old</span>' not in html


def test_edit_with_an_empty_body_re_renders(
    app, client, make_thread, make_member, make_reply, login
):
    author = make_member()
    reply = make_reply(make_thread(), author, body="Keep me")
    login(author)
    response = client.post(f"/posts/{reply.id}/edit", data={"body": ""})
    assert response.status_code == 422
    assert '<p class="error" id="body-error">Required.</p>' in page_text(response)
    assert fresh(app, Post, reply.id).body == "Keep me"


def test_others_cannot_edit_a_post(
    app, client, admin, private_space, make_thread, make_member, make_reply, login
):
    thread = make_thread()
    reply = make_reply(thread, body="Mine, not yours")
    hidden = make_reply(thread, body="Hidden by a moderator")
    hide_post(app, hidden.id)
    secret = make_thread(private_space, admin, title="Secret")
    with app.app_context():
        secret_post_id = services.opening_post(db.session.get(Thread, secret.id)).id
    login(make_member("Mallory"))

    assert client.get(f"/posts/{reply.id}/edit").status_code == 403
    assert client.post(f"/posts/{reply.id}/edit", data={"body": "defaced"}).status_code == 403
    assert client.post(f"/posts/{hidden.id}/edit", data={"body": "defaced"}).status_code == 404
    assert client.post(f"/posts/{secret_post_id}/edit", data={"body": "x"}).status_code == 404
    assert fresh(app, Post, reply.id).body == "Mine, not yours"
    assert fresh(app, Post, hidden.id).body == "Hidden by a moderator"
    assert "Edit</a>" not in page_text(client.get(f"/t/{thread.id}"))


# ---- accepting answers --------------------------------------------------------------


def test_asker_accepts_and_unaccepts_an_answer(
    app, client, make_thread, make_member, make_reply, login
):
    asker = make_member("Asker")
    thread = make_thread(author=asker)
    answer = make_reply(thread, body="The answer")
    login(asker)
    assert "Accept as solution" in page_text(client.get(f"/t/{thread.id}"))

    response = client.post(f"/posts/{answer.id}/accept", data={"action": "accept"})
    assert location(response) == f"/t/{thread.id}"
    assert fresh(app, Thread, thread.id).accepted_post_id == answer.id
    html = page_text(client.get(f"/t/{thread.id}"))
    assert "Thank you for closing the loop!" in html
    assert "Unmark solution" in html

    client.post(f"/posts/{answer.id}/accept", data={"action": "unaccept"})
    assert fresh(app, Thread, thread.id).accepted_post_id is None
    assert 'class="solution"' not in page_text(client.get(f"/t/{thread.id}"))


def test_others_cannot_accept_but_a_moderator_can(
    app, client, make_thread, make_member, make_reply, login
):
    thread = make_thread()
    answer = make_reply(thread)
    login(make_member("Bystander"))
    assert "Accept as solution" not in page_text(client.get(f"/t/{thread.id}"))
    assert client.post(f"/posts/{answer.id}/accept").status_code == 403
    assert fresh(app, Thread, thread.id).accepted_post_id is None

    moderator = login(
        make_member("Mona Moderator", roles=["moderator"]), the_client=app.test_client()
    )
    assert location(moderator.post(f"/posts/{answer.id}/accept")) == f"/t/{thread.id}"
    assert fresh(app, Thread, thread.id).accepted_post_id == answer.id

    assert client.post(f"/posts/{answer.id}/accept", data={"action": "unaccept"}).status_code == 403
    assert fresh(app, Thread, thread.id).accepted_post_id == answer.id


def test_visitors_cannot_accept(app, client, make_thread, make_reply):
    thread = make_thread()
    answer = make_reply(thread)
    response = client.post(f"/posts/{answer.id}/accept")
    assert urlsplit(location(response)).path == "/login"
    assert fresh(app, Thread, thread.id).accepted_post_id is None


# ---- kudos ------------------------------------------------------------------------


def test_kudos_given_and_withdrawn(app, client, make_thread, make_member, make_reply, login):
    thread = make_thread()
    reply = make_reply(thread, body="Worth a kudos")
    login(make_member("Grateful Greta"))

    response = client.post(f"/posts/{reply.id}/kudos", data={"action": "give"})
    assert location(response) == f"/posts/{reply.id}"
    assert fresh(app, Post, reply.id).kudos_count == 1
    html = page_text(client.get(f"/t/{thread.id}"))
    assert re.search(
        r'class="kudos given" aria-pressed="true">\s*♥ Kudos <span[^>]*>1</span>', html
    )

    client.post(f"/posts/{reply.id}/kudos", data={"action": "give"})  # a double click
    assert fresh(app, Post, reply.id).kudos_count == 1

    client.post(f"/posts/{reply.id}/kudos", data={"action": "withdraw"})
    assert fresh(app, Post, reply.id).kudos_count == 0
    assert count(app, Kudos) == 0


def test_no_kudos_for_your_own_post(app, client, make_thread, make_member, make_reply, login):
    author = make_member()
    reply = make_reply(make_thread(), author)
    login(author)
    response = client.post(f"/posts/{reply.id}/kudos", follow_redirects=True)
    assert response.status_code == 200
    assert "You cannot give kudos to your own post." in page_text(response)
    assert fresh(app, Post, reply.id).kudos_count == 0


# ---- following and notifications ------------------------------------------------------


def test_follow_and_unfollow_a_thread(app, client, make_thread, make_member, make_reply, login):
    thread = make_thread()
    follower = make_member("Fiona Follower")
    login(follower)
    assert location(client.post(f"/t/{thread.id}/follow", data={"action": "follow"})) == (
        f"/t/{thread.id}"
    )
    assert "Following ✓" in page_text(client.get(f"/t/{thread.id}"))
    make_reply(thread)
    assert count(app, Notification, Notification.member_id == follower.id) == 1

    client.post(f"/t/{thread.id}/follow", data={"action": "unfollow"})
    html = page_text(client.get(f"/t/{thread.id}"))
    assert "You no longer follow this thread." in html
    assert "Following ✓" not in html
    assert count(app, ThreadFollow, ThreadFollow.member_id == follower.id) == 0
    make_reply(thread)
    assert count(app, Notification, Notification.member_id == follower.id) == 1


def test_follow_and_unfollow_a_space(app, client, make_space, make_member, make_thread, login):
    space = make_space("billing", name="Billing")
    follower = make_member("Sam Spacefan")
    login(follower)
    response = client.post("/s/billing/follow", data={"action": "follow"})
    assert location(response) == "/s/billing"
    html = page_text(client.get("/s/billing"))
    assert "You will hear about new threads in Billing." in html
    assert "Following ✓" in html
    make_thread(space, title="Brand new billing thread")
    notes = page_text(client.get("/notifications"))
    assert "started “Brand new billing thread” in Billing" in notes

    client.post("/s/billing/follow", data={"action": "unfollow"})
    assert count(app, SpaceFollow) == 0
    make_thread(space, title="Another billing thread")
    assert count(app, Notification, Notification.member_id == follower.id) == 1


def test_reply_notification_and_mark_all_read(
    app, client, make_thread, make_member, make_reply, login
):
    asker = make_member("Asker Anne")
    thread = make_thread(author=asker, title="Printer on fire")
    login(asker)
    assert unread_badge(page_text(client.get("/"))) == 0
    reply = make_reply(thread, make_member("Rob Replier"), body="Unplug it")

    assert unread_badge(page_text(client.get("/"))) == 1
    html = page_text(client.get("/notifications"))
    assert "Rob Replier replied in “Printer on fire”" in html
    assert f'href="/posts/{reply.id}"' in html
    assert 'class="note unread"' in html

    response = client.post("/notifications/read")
    assert location(response) == "/notifications"
    html = page_text(client.get("/notifications"))
    assert unread_badge(html) == 0
    assert 'class="badge hidden"' in html
    assert 'class="note unread"' not in html
    assert "Rob Replier replied" in html  # read, not deleted


def test_notifications_need_sign_in(client):
    assert urlsplit(location(client.get("/notifications"))).path == "/login"


# ---- links to posts ---------------------------------------------------------------------


def test_post_links_redirect_to_the_right_page_and_anchor(
    app, client, make_thread, make_member, make_reply
):
    thread = make_thread()
    helper = make_member()
    replies = [make_reply(thread, helper, body=f"Reply {n}") for n in range(1, 22)]
    with app.app_context():
        opening_id = services.opening_post(db.session.get(Thread, thread.id)).id
    assert (
        location(client.get(f"/posts/{opening_id}")) == f"/t/{thread.id}?page=1#post-{opening_id}"
    )
    assert location(client.get(f"/posts/{replies[0].id}")) == (
        f"/t/{thread.id}?page=1#post-{replies[0].id}"
    )
    assert location(client.get(f"/posts/{replies[19].id}")) == (
        f"/t/{thread.id}?page=1#post-{replies[19].id}"
    )
    assert location(client.get(f"/posts/{replies[20].id}")) == (
        f"/t/{thread.id}?page=2#post-{replies[20].id}"
    )
    # Following the link lands on a page that has the post.
    page = client.get(location(client.get(f"/posts/{replies[20].id}")).split("#")[0])
    assert f'id="post-{replies[20].id}"' in page_text(page)


def test_post_fragment_renders_one_post(client, make_thread, make_reply):
    thread = make_thread()
    reply = make_reply(thread, body="Fragment **body**")
    response = client.get(f"/posts/{reply.id}/fragment")
    assert response.status_code == 200
    html = page_text(response)
    assert html.count("<article") == 1
    assert f'id="post-{reply.id}"' in html
    assert "Fragment <strong>body</strong>" in html
    assert "<html" not in html


def test_hidden_and_private_fragments_are_not_found_for_others(
    app, client, admin, private_space, make_thread, make_member, make_reply, login
):
    thread = make_thread()
    author = make_member("Hidden Author")
    hidden = make_reply(thread, author, body="Spam link")
    hide_post(app, hidden.id)
    secret = make_thread(private_space, admin, title="Secret stuff")
    secret_reply = make_reply(secret, admin, body="Secret reply")

    outsider = login(make_member(), the_client=app.test_client())
    for who in (client, outsider):
        for post_id in (hidden.id, secret_reply.id):
            assert who.get(f"/posts/{post_id}/fragment").status_code == 404
            assert who.get(f"/posts/{post_id}").status_code == 404

    assert (
        login(author, the_client=app.test_client()).get(f"/posts/{hidden.id}/fragment").status_code
        == 200
    )
    moderator = login(make_member(roles=["moderator"]), the_client=app.test_client())
    assert moderator.get(f"/posts/{hidden.id}/fragment").status_code == 200
    admin_client = login(admin, the_client=app.test_client())
    assert admin_client.get(f"/posts/{secret_reply.id}/fragment").status_code == 200


# ---- profiles ---------------------------------------------------------------------------


def test_profile_counts_and_hides_private_activity(
    app, client, admin, private_space, make_space, make_member, make_thread, make_reply, login
):
    public = make_space("public-forum")
    pat = make_member("Pat Profile")
    join_space(app, private_space, pat)
    make_thread(public, pat, title="Pat asks in public")
    make_thread(private_space, pat, title="Pat asks canary-9090 in private")
    asker = make_member("Other Asker")
    question = make_thread(public, asker, title="Public question for Pat")
    answer = make_reply(question, pat, body="Pat's public answer")
    make_reply(make_thread(private_space, admin, title="Private canary-9191"), pat)
    with app.test_request_context():
        services.accept_answer(db.session.get(Post, answer.id), db.session.get(Member, asker.id))

    html = page_text(client.get(f"/members/{pat.id}"))
    # Pat belongs to an advisory committee: the badge says so, never which one.
    assert "<h1>Pat Profile" in html and "Advisory committee</span></h1>" in html
    assert "Advisory Board" not in html
    assert dd_after(html, "Questions &amp; threads") == 1
    assert dd_after(html, "Answers") == 1
    assert dd_after(html, "Accepted solutions") == 1
    assert "Pat asks in public" in html
    assert "Public question for Pat" in html
    assert "canary-9090" not in html
    assert "canary-9191" not in html

    insider = login(admin, the_client=app.test_client())
    html = page_text(insider.get(f"/members/{pat.id}"))
    assert dd_after(html, "Questions &amp; threads") == 2
    assert dd_after(html, "Answers") == 2
    assert "canary-9090" in html


# ---- settings ---------------------------------------------------------------------------


def test_profile_settings_save_name_and_bio(app, client, make_member, login):
    member = make_member("Old Name")
    login(member)
    assert 'value="Old Name"' in page_text(client.get("/settings/profile"))
    response = client.post(
        "/settings/profile", data={"display_name": "New Name", "bio": "I <b>love</b> exports"}
    )
    assert location(response) == "/settings/profile"
    assert "Your profile is saved." in page_text(client.get("/settings/profile"))
    html = page_text(client.get(f"/members/{member.id}"))
    assert "<h1>New Name</h1>" in html
    assert "I &lt;b&gt;love&lt;/b&gt; exports" in html


def test_profile_settings_refuse_a_too_short_name(app, client, make_member, login):
    member = make_member("Kept Name")
    login(member)
    response = client.post("/settings/profile", data={"display_name": "K", "bio": ""})
    assert response.status_code == 422
    assert "At least 2 characters." in page_text(response)
    assert fresh(app, Member, member.id).display_name == "Kept Name"


def test_password_change_needs_the_current_password(app, client, make_member, login):
    member = make_member()
    login(member)
    response = client.post(
        "/settings/password",
        data={"current_password": "not my password", "new_password": "a brand new password"},
    )
    assert response.status_code == 422
    assert "That is not your current password." in page_text(response)
    assert fresh(app, Member, member.id).session_epoch == 0
    # The old password still works.
    login(member, the_client=app.test_client())


def test_password_change_signs_out_other_devices_only(app, client, make_member, login):
    member = make_member()
    login(member)
    other_device = login(member, the_client=app.test_client())
    assert other_device.get("/settings/profile").status_code == 200

    response = client.post(
        "/settings/password",
        data={"current_password": PASSWORD, "new_password": "a brand new password"},
    )
    assert location(response) == "/settings/profile"
    assert "Other devices have been signed out." in page_text(client.get("/settings/profile"))
    assert signed_in(client)
    assert urlsplit(location(other_device.get("/settings/profile"))).path == "/login"

    fresh_client = app.test_client()
    refused = fresh_client.post("/login", data={"email": member.email, "password": PASSWORD})
    assert refused.status_code == 422
    login(member, password="a brand new password", the_client=fresh_client)


def test_api_token_is_shown_once_and_revocable(app, client, make_member, login):
    member = make_member()
    login(member)
    response = client.post("/settings/tokens", data={"name": "reporting script"})
    assert response.status_code == 200
    match = re.search(r'<pre class="token" id="new-token">(prl_[^<]+)</pre>', page_text(response))
    assert match
    plaintext = match.group(1)

    listing = page_text(client.get("/settings/tokens"))
    assert "reporting script" in listing
    assert plaintext not in listing
    assert plaintext[:10] in listing

    api = app.test_client()  # no session cookie: the token alone
    bearer = {"Authorization": f"Bearer {plaintext}"}
    me = api.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200
    assert me.get_json()["id"] == member.id

    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.member_id == member.id))
    response = client.post(f"/settings/tokens/{token_id}/revoke")
    assert location(response) == "/settings/tokens"
    assert "No active tokens." in page_text(client.get("/settings/tokens"))
    assert api.get("/api/v1/me", headers=bearer).status_code == 401


def test_cannot_revoke_someone_elses_token(app, client, make_member, login):
    owner = make_member()
    with app.test_request_context():
        token, _plaintext = services.issue_api_token(db.session.get(Member, owner.id), "mine")
        token_id = token.id
    login(make_member())
    assert client.post(f"/settings/tokens/{token_id}/revoke").status_code == 404
    assert fresh(app, ApiToken, token_id).revoked_at is None


@pytest.mark.parametrize("url", ["/settings/profile", "/settings/password", "/settings/tokens"])
def test_settings_need_sign_in(client, url):
    assert urlsplit(location(client.get(url))).path == "/login"


# ---- administration ---------------------------------------------------------------------


def test_admin_pages_are_not_found_for_non_admins(app, client, make_member, login):
    member = make_member()
    target = make_member()
    moderator = make_member(roles=["moderator"])
    signed_in_clients = [login(m, the_client=app.test_client()) for m in (member, moderator)]
    for who in (client, *signed_in_clients):
        assert who.get("/admin/spaces").status_code == 404
        assert who.get("/admin/members").status_code == 404
        response = who.post("/admin/spaces", data={"name": "Sneaky", "slug": "sneaky"})
        assert response.status_code == 404
        response = who.post(f"/admin/members/{target.id}/roles", data={"roles": ["admin"]})
        assert response.status_code == 404
    assert count(app, Space, Space.slug == "sneaky") == 0
    assert roles_of(app, target.id) == {"member"}


def test_admin_creates_a_space_and_duplicates_are_refused(app, client, admin, login):
    login(admin)
    assert client.get("/admin/spaces").status_code == 200
    data = {
        "name": "Integrations",
        "slug": "integrations",
        "description": "APIs and webhooks",
        "position": "",
        "kind": "forum",
        "visibility": "public",
    }
    response = client.post("/admin/spaces", data=data)
    assert location(response) == "/admin/spaces"
    assert "Space Integrations created." in page_text(client.get("/admin/spaces"))
    assert "Integrations" in page_text(app.test_client().get("/"))

    response = client.post("/admin/spaces", data={**data, "name": "Integrations again"})
    assert response.status_code == 422
    assert "A space with this address already exists." in page_text(response)
    response = client.post("/admin/spaces", data={**data, "slug": "Bad Slug!"})
    assert response.status_code == 422
    assert "2-60 lower-case letters, digits and dashes." in page_text(response)
    assert count(app, Space) == 1


def test_admin_edits_a_space(app, client, admin, make_space, login):
    space = make_space("billing", name="Billing")
    login(admin)
    response = client.post(
        "/admin/spaces/billing",
        data={"name": "Billing & invoices", "description": "Money matters", "position": "7"},
    )
    assert location(response) == "/admin/spaces"
    saved = fresh(app, Space, space.id)
    assert (saved.name, saved.description, saved.position) == (
        "Billing & invoices",
        "Money matters",
        7,
    )
    assert "Billing &amp; invoices" in page_text(client.get("/"))

    response = client.post(
        "/admin/spaces/billing", data={"name": "X", "description": "", "position": "seven"}
    )
    html = page_text(client.get(location(response)))
    assert "Must be a whole number." in html
    assert fresh(app, Space, space.id).name == "Billing & invoices"
    assert client.post("/admin/spaces/no-such-space", data={"name": "Nope"}).status_code == 404


def test_admin_assigns_roles(app, client, admin, make_member, login):
    member = make_member("Rolf Roles")
    login(admin)
    assert "Rolf Roles" in page_text(client.get("/admin/members?q=rolf"))
    response = client.post(
        f"/admin/members/{member.id}/roles", data={"roles": ["moderator", "sales"]}
    )
    assert location(response).startswith("/admin/members")
    assert roles_of(app, member.id) == {"member", "moderator", "sales"}
    assert "Roles of Rolf Roles saved." in page_text(client.get("/admin/members"))

    client.post(f"/admin/members/{member.id}/roles", data={"roles": ["support_agent"]})
    assert roles_of(app, member.id) == {"member", "support_agent"}

    client.post(f"/admin/members/{member.id}/roles", data={"roles": ["emperor"]})
    assert roles_of(app, member.id) == {"member", "support_agent"}

    client.post(f"/admin/members/{member.id}/roles", data={})
    assert roles_of(app, member.id) == {"member"}


def test_admin_cannot_drop_their_own_admin_role(app, client, admin, login):
    login(admin)
    response = client.post(f"/admin/members/{admin.id}/roles", data={"roles": ["moderator"]})
    assert "You cannot remove your own admin role." in page_text(client.get(location(response)))
    assert "admin" in roles_of(app, admin.id)
