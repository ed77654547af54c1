"""Security of the HTML site: headers, cookies, CSRF, rate limits, XSS, odd input."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from community import background, services
from community.app import create_app
from community.config import TestConfig
from community.extensions import db
from community.models import Member, Post, Space, Thread

PASSWORD = "correct horse battery"  # the conftest's test password


def page_text(response) -> str:
    return response.get_data(as_text=True)


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def set_cookies(response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def signed_in(client) -> bool:
    return client.get("/settings/profile").status_code == 200


def csrf_token_of(response) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page_text(response))
    assert match, "the page carries no CSRF token"
    return match.group(1)


# ---- headers --------------------------------------------------------------------


@pytest.fixture
def site(app, client, admin, make_space, make_thread, make_reply, make_member, login):
    """A small community and a signed-in member's client."""
    space = make_space("billing")
    thread = make_thread(space, title="Headers everywhere")
    reply = make_reply(thread)
    member = login(make_member(), the_client=app.test_client())
    return {"space": space, "thread": thread, "reply": reply, "member": member}


def _html_responses(client, member, site):
    thread, reply = site["thread"], site["reply"]
    yield client.get("/")
    yield client.get("/login")
    yield client.get("/register")
    yield client.get("/threads")
    yield client.get("/s/billing")
    yield client.get(f"/t/{thread.id}")
    yield client.get(f"/posts/{reply.id}/fragment")
    yield client.get(f"/posts/{reply.id}")  # a redirect
    yield client.get("/no-such-page")  # 404
    yield client.get("/logout")  # 405
    yield client.post("/login", data={"email": "x@example.com", "password": "nope"})  # 422
    yield member.get("/notifications")
    yield member.get("/settings/profile")
    yield member.get(f"/posts/{reply.id}/edit")  # 403
    yield member.get("/admin/spaces")  # 404


def test_every_html_response_carries_the_security_headers(client, site):
    responses = list(_html_responses(client, site["member"], site))
    assert {r.status_code for r in responses} >= {200, 302, 403, 404, 405, 422}
    for response in responses:
        assert response.mimetype == "text/html", response.status
        directives = csp_directives(response)
        script_src = directives.get("script-src", directives.get("default-src"))
        assert script_src, response.status
        assert "'unsafe-inline'" not in script_src
        assert "'unsafe-eval'" not in script_src
        assert directives["base-uri"] == ["'none'"]
        assert directives["object-src"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_use_no_inline_script_or_event_handlers(client, site):
    """The CSP forbids them, so any inline script would be silently broken."""
    for response in _html_responses(client, site["member"], site):
        html = page_text(response)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), response.request.path
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, re.IGNORECASE)


# ---- cookies -------------------------------------------------------------------------


def test_session_and_remember_cookies_are_http_only_and_same_site(client, make_member):
    member = make_member()
    response = client.post(
        "/login", data={"email": member.email, "password": PASSWORD, "remember": "y"}
    )
    cookies = set_cookies(response)
    for name in ("session", "remember_token"):
        assert name in cookies
        assert "HttpOnly" in cookies[name]
        assert "SameSite=Lax" in cookies[name]


def test_https_responses_ask_browsers_to_stay_on_https(client):
    assert (
        client.get("/", base_url="https://localhost")
        .headers["Strict-Transport-Security"]
        .startswith("max-age=")
    )
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_cookies_are_secure_over_https(client, make_member):
    member = make_member()
    response = client.post(
        "/login",
        data={"email": member.email, "password": PASSWORD, "remember": "y"},
        base_url="https://localhost",
    )
    assert response.status_code == 302
    cookies = set_cookies(response)
    assert {"session", "remember_token"} <= set(cookies)
    for header in cookies.values():
        assert "; Secure" in header
    # The browser keeps using the site over HTTPS, signed in.
    assert client.get("/settings/profile", base_url="https://localhost").status_code == 200


# ---- apps with protections that tests normally switch off ------------------------------


@pytest.fixture
def build_app(databases, tmp_path):
    """An app like the conftest's, with some settings changed, on its own database copy."""
    built = []

    def build(**overrides):
        database = databases.copy(tmp_path / f"strict-{len(built)}.sqlite3")
        settings = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
        settings |= {
            "SEARCH_INDEX_DIR": str(tmp_path / "search-index"),
            "SQLALCHEMY_DATABASE_URI": database,
            **overrides,
        }
        app = create_app(settings)
        built.append(app)
        return app

    yield build
    for app in built:
        background.stop_all(app)  # its threads end before its database goes
        with app.app_context():
            db.engine.dispose()
        databases.drop(app.config["SQLALCHEMY_DATABASE_URI"])


def _member_in(app, email="csrf@example.com", name="Cora Careful") -> int:
    with app.test_request_context():
        return services.register_member(email, name, PASSWORD).id


def _thread_in(app, author_id) -> int:
    with app.test_request_context():
        author = db.session.get(Member, author_id)
        admin = services.register_member("root@example.com", "Root Admin", PASSWORD)
        services.grant_roles(admin, ["admin"])
        space = services.create_space(admin, name="General", slug="general")
        return services.create_thread(space, author, "question", "A guarded thread", "Body").id


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_forms_without_a_csrf_token_are_refused(build_app):
    app = build_app(WTF_CSRF_ENABLED=True)
    member_id = _member_in(app)
    thread_id = _thread_in(app, member_id)
    client = app.test_client()
    credentials = {"email": "csrf@example.com", "password": PASSWORD}

    refused = client.post("/login", data=credentials)
    assert refused.status_code == 400
    assert "Your form expired or came from another site." in page_text(refused)
    assert not signed_in(client)

    forged = client.post("/login", data={**credentials, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert not signed_in(client)

    token = csrf_token_of(client.get("/login"))
    assert client.post("/login", data={**credentials, "csrf_token": token}).status_code == 302
    assert signed_in(client)

    # Signed in, a write without the token changes nothing.
    posts_before = _count(app, Post)
    response = client.post(f"/t/{thread_id}/reply", data={"body": "Forged reply"})
    assert response.status_code == 400
    assert _count(app, Post) == posts_before
    assert client.post("/logout").status_code == 400
    assert signed_in(client)

    token = csrf_token_of(client.get(f"/t/{thread_id}"))
    response = client.post(
        f"/t/{thread_id}/reply", data={"body": "Genuine reply", "csrf_token": token}
    )
    assert response.status_code == 302
    assert _count(app, Post) == posts_before + 1


def test_admin_forms_need_the_csrf_token(build_app):
    app = build_app(WTF_CSRF_ENABLED=True)
    with app.test_request_context():
        admin = services.register_member("boss@example.com", "Boss", PASSWORD)
        services.grant_roles(admin, ["admin"])
    client = app.test_client()
    token = csrf_token_of(client.get("/login"))
    client.post(
        "/login", data={"email": "boss@example.com", "password": PASSWORD, "csrf_token": token}
    )
    space = {"name": "Sneaky", "slug": "sneaky", "kind": "forum", "visibility": "public"}
    assert client.post("/admin/spaces", data=space).status_code == 400
    assert _count(app, Space) == 0
    token = csrf_token_of(client.get("/admin/spaces"))
    assert client.post("/admin/spaces", data={**space, "csrf_token": token}).status_code == 302
    assert _count(app, Space) == 1


def test_login_attempts_are_rate_limited(build_app):
    app = build_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
    _member_in(app, email="limited@example.com")
    client = app.test_client()
    wrong = {"email": "limited@example.com", "password": "guess number one"}
    for _ in range(3):
        assert client.post("/login", data=wrong).status_code == 422
    # Even the right password is refused until the window passes.
    response = client.post("/login", data={"email": "limited@example.com", "password": PASSWORD})
    assert response.status_code == 429
    html = page_text(response)
    assert "Slow down" in html
    assert "Too many requests. Wait a moment and try again." in html
    assert "Content-Security-Policy" in response.headers
    assert not signed_in(client)
    # Reading the page is not limited.
    assert client.get("/login").status_code == 200


# ---- member content -------------------------------------------------------------------


XSS_BODY = """Look at this:

<script>alert("body")</script>

<img src=x onerror=alert(1)>

<a href="javascript:alert(2)">raw link</a>

[markdown link](javascript:alert(3)) and [mixed case](JaVaScRiPt:alert(4))

[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg==)

<iframe src="https://evil.example"></iframe>
"""


def _assert_harmless(html: str) -> None:
    assert "<script>alert" not in html
    assert not re.search(r"<(img|iframe)\b", html, re.IGNORECASE)
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*(javascript|data):""", html, re.IGNORECASE)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, re.IGNORECASE)


def test_posted_markdown_is_rendered_harmless(client, make_space, make_member, login):
    make_space("billing")
    author = make_member()
    login(author)
    response = client.post(
        "/s/billing/new",
        data={
            "kind": "question",
            "title": '<script>alert("title")</script> in the title',
            "body": XSS_BODY,
        },
    )
    assert response.status_code == 302
    thread_url = response.headers["Location"]
    client.post(thread_url + "/reply", data={"body": XSS_BODY})

    html = page_text(client.get(thread_url))
    _assert_harmless(html)
    # The text is still there, shown as text.
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; in the title" in html
    assert html.count("&lt;script&gt;alert(&quot;body&quot;)&lt;/script&gt;") == 2
    assert "markdown link" in html


def test_display_names_are_escaped(client):
    response = client.post(
        "/register",
        data={
            "email": "sneaky@example.com",
            "display_name": "<script>alert(1)</script>",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    html = page_text(client.get("/"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    _assert_harmless(html)


# ---- odd input ------------------------------------------------------------------------


@pytest.fixture
def odd_site(app, admin, make_space, make_thread, make_reply, make_member, login):
    space = make_space("billing")
    thread = make_thread(space, title="Odd input target")
    reply = make_reply(thread)
    make_space("advisory", visibility="private", kind="advisory")  # hosted by the admin
    return {"thread": thread.id, "reply": reply.id, "member": make_member(), "admin": admin}


LONG = "x" * 20_000
HUGE = "9" * 30
UNICODE = "ünïcødé-✓-𝄞"

NOT_FOUND_GETS = [
    "/t/99999999",
    f"/t/{HUGE}",
    "/t/abc",
    "/t/-1",
    "/t/0",
    "/t/1.5",
    "/posts/99999999",
    "/posts/abc",
    "/posts/99999999/fragment",
    f"/posts/{HUGE}/fragment",
    "/posts/abc/fragment",
    "/members/99999999",
    "/members/abc",
    f"/members/{HUGE}",
    f"/s/{UNICODE}",
    "/s/" + "a" * 5000,
    "/s/%00",
    "/s/advisory",  # private: not found for outsiders
]

ODD_GETS = [
    f"/?q={LONG}",
    f"/?page={HUGE}",
    f"/threads?sort={LONG}&page={HUGE}",
    f"/threads?sort={UNICODE}&page=-5",
    "/threads?sort=latest&sort=new&page=1&page=2",
    f"/s/billing?sort=%00&page={UNICODE}",
    f"/s/billing?page={HUGE}",
    "/t/{thread}?page=" + HUGE,
    "/t/{thread}?page=-1&" + "a=" + LONG,
    f"/login?next={LONG}",
    "/login?next=%0d%0aSet-Cookie:%20x=y",
    f"/register?{UNICODE}={UNICODE}",
    f"/notifications?page={HUGE}",
    f"/admin/members?q={LONG}&page={HUGE}",
    "/admin/members?q=%25_%27%22" + UNICODE,
]

ODD_POSTS = [
    ("/t/99999999/reply", {"body": "x"}),
    (f"/t/{HUGE}/follow", {}),
    ("/s/no-such-space/follow", {}),
    ("/s/no-such-space/new", {"title": "Hello there", "body": "x"}),
    ("/posts/99999999/kudos", {}),
    ("/posts/99999999/accept", {}),
    ("/posts/99999999/edit", {"body": "x"}),
    ("/settings/tokens/99999999/revoke", {}),
    (f"/settings/tokens/{HUGE}/revoke", {}),
    ("/admin/members/99999999/roles", {"roles": ["moderator"]}),
    ("/admin/spaces/no-such-space", {"name": "Nope"}),
]


@pytest.mark.parametrize("who", ["visitor", "member", "admin"])
def test_no_route_answers_500_for_odd_input(app, odd_site, login, who):
    client = app.test_client()
    if who != "visitor":
        login(odd_site[who], the_client=client)
    ids = {"thread": odd_site["thread"], "reply": odd_site["reply"]}
    for url in NOT_FOUND_GETS:
        if who == "admin" and url == "/s/advisory":
            continue  # the admin hosts it
        response = client.get(url)
        assert response.status_code == 404, url
    for url in ODD_GETS:
        response = client.get(url.format(**ids))
        assert response.status_code < 500, url[:80]
    for url, data in ODD_POSTS:
        response = client.post(url, data=data)
        assert response.status_code < 500, url
        if who != "visitor":
            assert response.status_code == 404, url


@pytest.mark.parametrize(
    "data",
    [
        {"email": "ü" * 300 + "@" + "x" * 300, "display_name": UNICODE, "password": "\x01" * 20},
        {"email": ["a@example.com", "b@example.com"], "display_name": "", "password": ""},
        {"email": "a@example.com", "display_name": LONG, "password": LONG},
        {},
    ],
)
def test_odd_registrations_are_field_errors(app, client, data):
    response = client.post("/register", data=data)
    assert response.status_code == 422
    assert 'class="error"' in page_text(response)
    assert _count(app, Member) == 0


def test_odd_thread_input_is_field_errors_and_unicode_works(
    app, client, make_space, make_member, login
):
    make_space("billing")
    login(make_member())
    for data in (
        {"kind": "poem", "title": "A fine title", "body": "x"},
        {"kind": "question", "title": "T" * 201, "body": "x"},
        {"kind": "question", "title": "Tags test", "body": "x", "tags": "!!!, " * 50},
        {"kind": "question", "title": "Many tags", "body": "x", "tags": "a,b,c,d,e,f"},
    ):
        response = client.post("/s/billing/new", data=data)
        assert response.status_code == 422, data
    assert _count(app, Thread) == 0

    title = f"Wie exportiere ich {UNICODE}?"
    response = client.post(
        "/s/billing/new", data={"kind": "question", "title": title, "body": "Ünïcødé body ✓"}
    )
    assert response.status_code == 302
    html = page_text(client.get(response.headers["Location"]))
    assert title in html
    assert "Ünïcødé body ✓" in html


def test_nul_characters_are_refused_before_they_reach_a_service(client, login, make_member):
    """PostgreSQL cannot store NUL; no route may answer 500 because of one."""
    login(make_member())
    assert client.get("/s/%00").status_code == 404
    assert client.get("/api/v1/spaces/%00").get_json()["error"]["code"] == "not_found"
    assert client.get("/search?q=a%00b").status_code == 200  # nothing found, kindly
    api = client.post("/api/v1/threads", json={"title": "Hello\u0000there", "body": "x"})
    assert api.status_code == 422 and "NUL" in api.get_json()["error"]["message"]
    form = client.post("/settings/profile", data={"display_name": "A\x00B", "bio": ""})
    assert form.status_code == 422
