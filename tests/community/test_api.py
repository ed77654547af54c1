"""The JSON API contract of DESIGN.md, through the test client.

Data is made with the factories (each in its own context); requests run in
their own contexts, as in production.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask_login import FlaskLoginClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select, update

from community import background, services
from community.app import create_app
from community.config import TestConfig
from community.extensions import db
from community.models import Member, Notification, Post, SpaceMembership, Thread, utcnow

PASSWORD = "correct horse battery"  # the conftest accounts' password
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@pytest.fixture
def c(app, admin, make_member, make_space, make_thread, make_reply):
    """A small community: a public space with a solved-able question, and a
    private advisory space only `insider` (and the admin) may see."""
    asker = make_member("Asker Anne")
    helper = make_member("Helper Hal")
    outsider = make_member("Otto Outsider")
    insider = make_member("Ines Insider")
    general = make_space("general")
    board = make_space("board", kind="advisory", visibility="private")
    question = make_thread(general, asker, title="How do I export my data?", tags=["export"])
    answer = make_reply(question, helper, "Settings, then Export.")
    with app.test_request_context():
        db.session.add(SpaceMembership(space_id=board.id, member_id=insider.id, role="member"))
        db.session.commit()
        opening = services.opening_post(db.session.get(Thread, question.id)).id
    secret = make_thread(board, insider, title="Next year's roadmap", kind="discussion")
    secret_reply = make_reply(secret, admin, "Confidential plans")
    return SimpleNamespace(
        admin=admin,
        asker=asker,
        helper=helper,
        outsider=outsider,
        insider=insider,
        general=general,
        board=board,
        question=question,
        opening_id=opening,
        answer=answer,
        secret=secret,
        secret_reply=secret_reply,
    )


@pytest.fixture
def as_(token_for):
    """Bearer headers per member, issued once per test."""
    cache: dict[int, dict] = {}

    def headers(member) -> dict:
        if member.id not in cache:
            cache[member.id] = token_for(member)
        return cache[member.id]

    return headers


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    return error


def assert_objects_well_formed(value, path="$"):
    """Every object with an id has a url; every *_at is ISO-8601 UTC with Z."""
    if isinstance(value, dict):
        if "id" in value:
            assert isinstance(value["id"], int), path
            assert isinstance(value.get("url"), str), f"{path} has an id but no url"
            assert value["url"].startswith("http"), path
        for key, item in value.items():
            if key.endswith("_at"):
                assert item is None or STAMP.match(item), f"{path}.{key} = {item!r}"
            assert_objects_well_formed(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            assert_objects_well_formed(item, f"{path}[{n}]")


def run_sql(app, statement):
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


# ---- tokens ----------------------------------------------------------------------------------


def test_token_for_email_and_password(client, c):
    response = client.post(
        "/api/v1/auth/token", json={"email": c.asker.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 201
    token = response.get_json()["token"]
    assert token.startswith("prl_")

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["id"] == c.asker.id
    # The scheme is case-insensitive, as HTTP says.
    assert client.get("/api/v1/me", headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_token_is_named_and_listed(app, client, c):
    response = client.post(
        "/api/v1/auth/token",
        json={"email": c.asker.email, "password": PASSWORD, "name": "Backup script"},
    )
    assert response.status_code == 201
    with app.test_request_context():
        member = services.get_member(c.asker.id)
        assert [t.name for t in services.api_tokens(member)] == ["Backup script"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "asker", "password": "wrong password"},
        {"email": "nobody@example.com", "password": PASSWORD},
        {"email": "asker", "password": ""},
        {"email": "asker"},
        {},
        {"email": 42, "password": ["x"]},
        {"email": None, "password": None},
    ],
)
def test_token_refused_for_wrong_credentials(client, c, credentials):
    if credentials.get("email") == "asker":
        credentials = credentials | {"email": c.asker.email}
    error = assert_error(client.post("/api/v1/auth/token", json=credentials), 401, "unauthorized")
    assert "password" in error["message"].lower()


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("", "application/json"),
        ("[1, 2]", "application/json"),
        ('"a string"', "application/json"),
        ("null", "application/json"),
        ("email=a@example.com&password=x", "application/x-www-form-urlencoded"),
        ("\xff\xfe", "application/json"),
    ],
)
def test_token_refuses_malformed_requests(client, c, data, content_type):
    response = client.post("/api/v1/auth/token", data=data, content_type=content_type)
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code, "invalid")


def test_revoked_and_bogus_tokens_get_401(app, client, c, token_for):
    headers = token_for(c.asker)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with app.test_request_context():
        member = services.get_member(c.asker.id)
        (token,) = services.api_tokens(member)
        services.revoke_api_token(member, token.id)

    for bad in (
        headers,
        {"Authorization": "Bearer prl_not-a-real-token"},
        {"Authorization": "Bearer " + "x" * 5000},
    ):
        for url in ("/api/v1/me", "/api/v1/spaces", f"/api/v1/threads/{c.question.id}"):
            error = assert_error(client.get(url, headers=bad), 401, "unauthorized")
            assert "token" in error["message"].lower()
        response = client.post(
            f"/api/v1/threads/{c.question.id}/posts", json={"body": "Sneaky"}, headers=bad
        )
        assert_error(response, 401, "unauthorized")


def test_signed_out_callers_get_401_on_member_routes(client, c):
    for method, url in [
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/notifications"),
        ("POST", "/api/v1/notifications/read"),
        ("POST", "/api/v1/threads"),
        ("POST", f"/api/v1/threads/{c.question.id}/posts"),
        ("POST", f"/api/v1/posts/{c.answer.id}/accept"),
        ("DELETE", f"/api/v1/posts/{c.answer.id}/accept"),
        ("POST", f"/api/v1/posts/{c.answer.id}/kudos"),
        ("DELETE", f"/api/v1/posts/{c.answer.id}/kudos"),
    ]:
        response = client.open(url, method=method, json={"body": "x"})
        assert_error(response, 401, "unauthorized")
    # An empty Authorization header is no token at all.
    assert_error(
        client.get("/api/v1/me", headers={"Authorization": "Bearer "}), 401, "unauthorized"
    )


# ---- every route, with a bearer token --------------------------------------------------------


def route_calls(c) -> dict:
    """(rule, method) -> (url, json body, expected status) for the asker's token."""
    return {
        ("/api/v1/auth/token", "POST"): (
            "/api/v1/auth/token",
            {"email": c.asker.email, "password": PASSWORD},
            201,
        ),
        ("/api/v1/me", "GET"): ("/api/v1/me", None, 200),
        ("/api/v1/members/<int:member_id>", "GET"): (f"/api/v1/members/{c.helper.id}", None, 200),
        ("/api/v1/spaces", "GET"): ("/api/v1/spaces", None, 200),
        ("/api/v1/spaces/<slug>", "GET"): ("/api/v1/spaces/general", None, 200),
        ("/api/v1/spaces/<slug>/threads", "GET"): ("/api/v1/spaces/general/threads", None, 200),
        ("/api/v1/threads", "GET"): ("/api/v1/threads", None, 200),
        ("/api/v1/threads", "POST"): (
            "/api/v1/threads",
            {"space": "general", "title": "Another question", "body": "Details"},
            201,
        ),
        ("/api/v1/threads/<int:thread_id>", "GET"): (f"/api/v1/threads/{c.question.id}", None, 200),
        ("/api/v1/threads/<int:thread_id>/posts", "POST"): (
            f"/api/v1/threads/{c.question.id}/posts",
            {"body": "Thanks!"},
            201,
        ),
        ("/api/v1/posts/<int:post_id>", "GET"): (f"/api/v1/posts/{c.answer.id}", None, 200),
        ("/api/v1/posts/<int:post_id>/accept", "POST"): (
            f"/api/v1/posts/{c.answer.id}/accept",
            None,
            200,
        ),
        ("/api/v1/posts/<int:post_id>/accept", "DELETE"): (
            f"/api/v1/posts/{c.answer.id}/accept",
            None,
            200,
        ),
        ("/api/v1/posts/<int:post_id>/kudos", "POST"): (
            f"/api/v1/posts/{c.answer.id}/kudos",
            None,
            200,
        ),
        ("/api/v1/posts/<int:post_id>/kudos", "DELETE"): (
            f"/api/v1/posts/{c.answer.id}/kudos",
            None,
            200,
        ),
        ("/api/v1/notifications", "GET"): ("/api/v1/notifications", None, 200),
        ("/api/v1/notifications/read", "POST"): ("/api/v1/notifications/read", None, 200),
        ("/api/v1/openapi.json", "GET"): ("/api/v1/openapi.json", None, 200),
        ("/api/v1/search", "GET"): ("/api/v1/search?q=export", None, 200),
        ("/api/v1/search/similar", "GET"): ("/api/v1/search/similar?q=export+my+data", None, 200),
        ("/api/v1/help/deflections", "POST"): (
            "/api/v1/help/deflections",
            {"query": "export my data", "thread_id": c.question.id},
            201,
        ),
        ("/api/v1/help/cases", "POST"): (
            "/api/v1/help/cases",
            {"subject": "Export keeps failing", "description": "It stops at 99%."},
            201,
        ),
        # Admins only: the asker is a customer (tests/advisory covers admins).
        ("/api/v1/spaces", "POST"): ("/api/v1/spaces", {"name": "New", "slug": "new-one"}, 403),
    }


def community_api_routes(app) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("community_api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_bearer_token_works_on_every_route(app, client, c, as_):
    calls = route_calls(c)
    assert community_api_routes(app) == set(calls), "a new route needs a line in route_calls"
    headers = as_(c.asker)
    for (rule, method), (url, body, status) in calls.items():
        response = client.open(url, method=method, json=body, headers=headers)
        assert response.status_code == status, (rule, method, response.get_json())
        assert response.is_json, (rule, method)
        if rule != "/api/v1/openapi.json":
            assert_objects_well_formed(response.get_json(), f"{method} {rule}")


def test_bogus_token_is_refused_on_every_route(app, client, c):
    bogus = {"Authorization": "Bearer prl_bogus"}
    for (_rule, method), (url, body, _status) in route_calls(c).items():
        response = client.open(url, method=method, json=body, headers=bogus)
        assert_error(response, 401, "unauthorized")
    assert client.get(f"/api/v1/threads/{c.question.id}").status_code == 200


# ---- members and spaces ----------------------------------------------------------------------


def test_me(client, c, as_):
    response = client.get("/api/v1/me", headers=as_(c.asker))
    data = response.get_json()
    assert data["id"] == c.asker.id
    assert data["email"] == c.asker.email
    assert data["name"] == "Asker Anne"
    assert data["handle"] == c.asker.handle
    assert data["roles"] == ["member"]
    assert data["unread_notifications"] == 1  # the helper's answer
    assert data["url"].endswith(f"/members/{c.asker.id}")
    assert_objects_well_formed(data)


def test_member_profile_hides_email_and_private_activity(client, c, as_):
    url = f"/api/v1/members/{c.insider.id}"
    public = client.get(url).get_json()
    assert "email" not in public and "roles" not in public
    assert (public["threads"], public["answers"], public["accepted_solutions"]) == (0, 0, 0)
    assert client.get(url, headers=as_(c.outsider)).get_json()["threads"] == 0
    assert client.get(url, headers=as_(c.insider)).get_json()["threads"] == 1

    helper = client.get(f"/api/v1/members/{c.helper.id}").get_json()
    assert helper["answers"] == 1
    assert_objects_well_formed(helper)


def test_spaces_list_only_what_the_caller_may_see(client, c, as_):
    for headers in ({}, as_(c.outsider)):
        data = client.get("/api/v1/spaces", headers=headers).get_json()
        assert [s["slug"] for s in data["items"]] == ["general"]
        assert data["total"] == 1
        (general,) = data["items"]
        assert (general["threads"], general["posts"]) == (1, 2)
        assert general["visibility"] == "public"
        assert_objects_well_formed(data)

    data = client.get("/api/v1/spaces", headers=as_(c.insider)).get_json()
    assert [s["slug"] for s in data["items"]] == ["general", "board"]
    assert set(data) == {"items", "page", "per_page", "total"}


def test_one_space(client, c, as_):
    data = client.get("/api/v1/spaces/general").get_json()
    assert (data["id"], data["slug"], data["kind"]) == (c.general.id, "general", "forum")
    assert data["url"].endswith("/s/general")
    assert_error(client.get("/api/v1/spaces/nope"), 404, "not_found")


def test_space_threads_sorted_and_paged(app, client, c, make_thread, make_reply):
    newer = make_thread(c.general, c.outsider, title="Newer question")
    chat = make_thread(c.general, c.outsider, title="Just chatting", kind="discussion")
    make_reply(c.question, c.outsider, "Bump")

    def ids(query=""):
        response = client.get(f"/api/v1/spaces/general/threads{query}")
        assert response.status_code == 200, response.get_json()
        return [t["id"] for t in response.get_json()["items"]]

    assert ids() == [c.question.id, chat.id, newer.id]
    assert ids("?sort=latest") == [c.question.id, chat.id, newer.id]
    assert ids("?sort=new") == [chat.id, newer.id, c.question.id]
    assert ids("?sort=unanswered") == [newer.id]
    assert ids("?sort=solved") == []
    assert ids("?sort=new&per_page=2&page=2") == [c.question.id]

    page = client.get("/api/v1/spaces/general/threads?per_page=2").get_json()
    assert (page["page"], page["per_page"], page["total"]) == (1, 2, 3)
    item = page["items"][0]
    assert item["space"] == "general"
    assert item["author"]["id"] == c.asker.id
    assert_objects_well_formed(page)

    error = assert_error(client.get("/api/v1/spaces/general/threads?sort=hot"), 422, "invalid")
    assert "sort" in error["fields"]
    assert_error(client.get("/api/v1/spaces/nope/threads"), 404, "not_found")


def test_all_threads_list(client, c, as_):
    visitor = client.get("/api/v1/threads").get_json()
    assert [t["id"] for t in visitor["items"]] == [c.question.id]
    insider = client.get("/api/v1/threads", headers=as_(c.insider)).get_json()
    assert {t["id"] for t in insider["items"]} == {c.question.id, c.secret.id}


# ---- threads and posts -----------------------------------------------------------------------


def test_create_thread(client, c, as_):
    response = client.post(
        "/api/v1/threads",
        json={
            "space": "general",
            "kind": "discussion",
            "title": "Show us your dashboards",
            "body": "Mine has **charts**.",
            "tags": ["Dashboards", "#charts"],
        },
        headers=as_(c.outsider),
    )

    assert response.status_code == 201
    data = response.get_json()
    assert response.headers["Location"] == data["url"]
    assert data["url"].endswith(f"/t/{data['id']}")
    assert (data["kind"], data["title"], data["tags"]) == (
        "discussion",
        "Show us your dashboards",
        ["charts", "dashboards"],
    )
    assert data["opening_post"]["number"] == 0
    assert "<strong>charts</strong>" in data["opening_post"]["body_html"]
    assert data["posts"] == {"items": [], "page": 1, "per_page": 20, "total": 0}
    assert_objects_well_formed(data)
    assert client.get(f"/api/v1/threads/{data['id']}").status_code == 200


def test_kind_defaults_to_question(client, c, as_):
    response = client.post(
        "/api/v1/threads",
        json={"space": "general", "title": "Plain question", "body": "Body"},
        headers=as_(c.outsider),
    )
    assert response.get_json()["kind"] == "question"


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"title": ""}, {"title"}),
        ({"title": "Hey"}, {"title"}),
        ({"title": "t" * 201}, {"title"}),
        ({"title": 12345}, {"title"}),
        ({"title": None}, {"title"}),
        ({"body": ""}, {"body"}),
        ({"body": ["x"]}, {"body"}),
        ({"body": "b" * 50_001}, {"body"}),
        ({"kind": "poll"}, {"kind"}),
        ({"kind": None}, {"kind"}),
        ({"kind": ["question"]}, {"kind"}),
        ({"tags": ["a", "b", "c", "d", "e", "f"]}, {"tags"}),
        ({"tags": {"a": 1}}, {"tags"}),
        ({"tags": [1]}, {"tags"}),
        ({"tags": ["no spaces allowed here/"]}, {"tags"}),
        ({"title": "", "body": "", "kind": "x"}, {"title", "body", "kind"}),
        ({"space": ""}, {"space"}),
        ({"space": None}, {"space"}),
        ({"space": {"slug": "general"}}, {"space"}),
        ({"space": 7}, {"space"}),
    ],
)
def test_create_thread_field_errors(app, client, c, as_, changes, fields):
    data = {"space": "general", "title": "A good title", "body": "Body"} | changes
    response = client.post("/api/v1/threads", json=data, headers=as_(c.outsider))
    error = assert_error(response, 422, "invalid")
    assert set(error["fields"]) == fields
    assert all(isinstance(m, str) and m for m in error["fields"].values())
    with app.app_context():
        assert db.session.scalar(select(func.count(Thread.id))) == 2


def test_create_thread_where_the_caller_may_not(app, client, c, as_):
    body = {"title": "Let me in please", "body": "Hello"}
    for space in ("board", "does-not-exist"):
        response = client.post(
            "/api/v1/threads", json=body | {"space": space}, headers=as_(c.outsider)
        )
        assert_error(response, 404, "not_found")
    response = client.post(
        "/api/v1/threads", json=body | {"space": "board"}, headers=as_(c.insider)
    )
    assert response.status_code == 201

    suspended = update(Member).where(Member.id == c.helper.id)
    run_sql(app, suspended.values(suspended_until=utcnow() + timedelta(days=1)))
    response = client.post(
        "/api/v1/threads", json=body | {"space": "general"}, headers=as_(c.helper)
    )
    assert_error(response, 403, "forbidden")


def test_thread_with_paged_posts(client, c, make_reply):
    for n in range(4):
        make_reply(c.question, c.outsider, f"Reply {n}")

    data = client.get(f"/api/v1/threads/{c.question.id}").get_json()
    assert data["id"] == c.question.id
    assert data["replies"] == 5
    assert data["opening_post"]["id"] == c.opening_id
    posts = data["posts"]
    assert (posts["page"], posts["per_page"], posts["total"]) == (1, 20, 5)
    assert [p["number"] for p in posts["items"]] == [1, 2, 3, 4, 5]
    assert_objects_well_formed(data)

    second = client.get(f"/api/v1/threads/{c.question.id}?page=2&per_page=2").get_json()["posts"]
    assert [p["number"] for p in second["items"]] == [3, 4]
    assert (second["page"], second["per_page"], second["total"]) == (2, 2, 5)

    capped = client.get(f"/api/v1/threads/{c.question.id}?per_page=1000").get_json()["posts"]
    assert capped["per_page"] == 100
    beyond = client.get(f"/api/v1/threads/{c.question.id}?page=50").get_json()["posts"]
    assert beyond["items"] == [] and beyond["total"] == 5


@pytest.mark.parametrize(
    "query", ["page=abc", "page=0", "page=-1", "per_page=x", "per_page=0", "page=1.5", "page=%00"]
)
def test_bad_paging_is_a_422_not_a_500(client, c, query):
    for url in (
        f"/api/v1/threads/{c.question.id}?{query}",
        f"/api/v1/threads?{query}",
        f"/api/v1/spaces/general/threads?{query}",
    ):
        error = assert_error(client.get(url), 422, "invalid")
        assert set(error["fields"]) & {"page", "per_page"}


def test_absurd_page_numbers_are_just_empty(client, c, as_):
    huge = "99999999999999999999999999"
    for url in (
        f"/api/v1/threads/{c.question.id}?page={huge}",
        f"/api/v1/threads?page={huge}",
        f"/api/v1/spaces/general/threads?page={huge}&per_page={huge}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        data = response.get_json()
        assert (data.get("posts") or data)["items"] == []
    response = client.get(f"/api/v1/notifications?page={huge}", headers=as_(c.asker))
    assert response.status_code == 200
    assert response.get_json()["items"] == []


def test_reply(client, c, as_):
    response = client.post(
        f"/api/v1/threads/{c.question.id}/posts",
        json={"body": "Worked, thanks!"},
        headers=as_(c.asker),
    )
    assert response.status_code == 201
    data = response.get_json()
    assert (data["number"], data["thread_id"], data["author"]["id"]) == (
        2,
        c.question.id,
        c.asker.id,
    )
    assert data["body"] == "Worked, thanks!"
    assert data["accepted"] is False
    assert data["kudos"] == 0
    assert data["edited_at"] is None
    assert_objects_well_formed(data)
    assert client.get(f"/api/v1/threads/{c.question.id}").get_json()["replies"] == 2


def test_reply_refusals(app, client, c, as_):
    url = f"/api/v1/threads/{c.question.id}/posts"
    for body in ({"body": ""}, {"body": None}, {"body": {"x": 1}}, {}):
        error = assert_error(client.post(url, json=body, headers=as_(c.helper)), 422, "invalid")
        assert set(error["fields"]) == {"body"}
    assert_error(
        client.post("/api/v1/threads/999999/posts", json={"body": "Hi"}, headers=as_(c.helper)),
        404,
        "not_found",
    )
    run_sql(app, update(Thread).where(Thread.id == c.question.id).values(is_locked=True))
    response = client.post(url, json={"body": "Me too"}, headers=as_(c.helper))
    error = assert_error(response, 403, "forbidden")
    assert "locked" in error["message"]
    assert client.get(f"/api/v1/threads/{c.question.id}").get_json()["locked"] is True


def test_one_post(client, c):
    data = client.get(f"/api/v1/posts/{c.answer.id}").get_json()
    assert (data["id"], data["number"], data["body"]) == (c.answer.id, 1, "Settings, then Export.")
    assert data["url"].endswith(f"/posts/{c.answer.id}")
    assert_error(client.get("/api/v1/posts/999999"), 404, "not_found")


# ---- accept and kudos ------------------------------------------------------------------------


def test_accept_and_unaccept(client, c, as_):
    url = f"/api/v1/posts/{c.answer.id}/accept"
    response = client.post(url, headers=as_(c.asker))
    assert response.status_code == 200
    data = response.get_json()
    assert (data["id"], data["solved"], data["accepted_post_id"]) == (
        c.question.id,
        True,
        c.answer.id,
    )
    assert client.get(f"/api/v1/posts/{c.answer.id}").get_json()["accepted"] is True
    solved = client.get("/api/v1/spaces/general/threads?sort=solved").get_json()
    assert [t["id"] for t in solved["items"]] == [c.question.id]

    for _ in range(2):  # DELETE is idempotent
        response = client.delete(url, headers=as_(c.asker))
        assert response.status_code == 200
        assert response.get_json()["solved"] is False
        assert response.get_json()["accepted_post_id"] is None


def test_accept_refusals(client, c, as_):
    url = f"/api/v1/posts/{c.answer.id}/accept"
    for member in (c.helper, c.outsider):
        assert_error(client.post(url, headers=as_(member)), 403, "forbidden")
    assert_error(
        client.post(f"/api/v1/posts/{c.opening_id}/accept", headers=as_(c.asker)), 422, "invalid"
    )
    assert_error(client.post("/api/v1/posts/999999/accept", headers=as_(c.asker)), 404, "not_found")
    assert client.get(f"/api/v1/threads/{c.question.id}").get_json()["solved"] is False


def test_kudos_are_idempotent(client, c, as_):
    url = f"/api/v1/posts/{c.answer.id}/kudos"
    for _ in range(2):
        response = client.post(url, headers=as_(c.asker))
        assert response.status_code == 200
        assert response.get_json() == {"post_id": c.answer.id, "kudos": 1, "given": True}
    client.post(url, headers=as_(c.outsider))
    assert client.get(f"/api/v1/posts/{c.answer.id}").get_json()["kudos"] == 2

    for _ in range(2):
        response = client.delete(url, headers=as_(c.asker))
        assert response.status_code == 200
        assert response.get_json() == {"post_id": c.answer.id, "kudos": 1, "given": False}


def test_no_kudos_for_your_own_post(client, c, as_):
    response = client.post(f"/api/v1/posts/{c.answer.id}/kudos", headers=as_(c.helper))
    assert_error(response, 422, "invalid")
    assert client.get(f"/api/v1/posts/{c.answer.id}").get_json()["kudos"] == 0


# ---- notifications ---------------------------------------------------------------------------


def test_notifications_list_and_read(app, client, c, as_, make_reply):
    make_reply(c.question, c.outsider, f"Also try the API, @{c.helper.handle}")
    asker = as_(c.asker)

    data = client.get("/api/v1/notifications", headers=asker).get_json()
    assert data["unread"] == 2
    assert data["total"] == 2
    assert [n["kind"] for n in data["items"]] == ["reply", "reply"]
    newest = data["items"][0]
    assert newest["actor"]["id"] == c.outsider.id
    assert newest["thread"] == {
        "id": c.question.id,
        "url": newest["thread"]["url"],
        "title": "How do I export my data?",
    }
    assert newest["read"] is False
    assert newest["url"].endswith(f"/posts/{newest['post_id']}")
    assert_objects_well_formed(data)
    helper = client.get("/api/v1/notifications", headers=as_(c.helper)).get_json()
    assert [n["kind"] for n in helper["items"]] == ["mention"]

    response = client.post(
        "/api/v1/notifications/read", json={"ids": [newest["id"]]}, headers=asker
    )
    assert response.get_json() == {"unread": 1}
    unread = client.get("/api/v1/notifications?unread=1", headers=asker).get_json()
    assert [n["id"] for n in unread["items"]] == [data["items"][1]["id"]]
    assert client.get("/api/v1/me", headers=asker).get_json()["unread_notifications"] == 1

    assert client.post("/api/v1/notifications/read", headers=asker).get_json() == {"unread": 0}
    everything = client.get("/api/v1/notifications", headers=asker).get_json()
    assert everything["total"] == 2 and all(n["read"] for n in everything["items"])
    assert client.get("/api/v1/notifications", headers=as_(c.helper)).get_json()["unread"] == 1


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ('{"ids": [1, 2', "application/json"),
        ('{"ids": "all"}', "application/json"),
        ('{"ids": [true]}', "application/json"),
        ("[1, 2]", "application/json"),
        ("ids=1", "application/x-www-form-urlencoded"),
    ],
)
def test_bad_mark_read_requests_mark_nothing(app, client, c, as_, data, content_type):
    response = client.post(
        "/api/v1/notifications/read", data=data, content_type=content_type, headers=as_(c.asker)
    )
    assert_error(response, 422, "invalid")
    with app.app_context():
        unread = select(func.count(Notification.id)).where(
            Notification.member_id == c.asker.id, Notification.read_at.is_(None)
        )
        assert db.session.scalar(unread) == 1


# ---- privacy: 404, never 403 -----------------------------------------------------------------


def test_private_content_answers_404(client, c, as_):
    opening = None
    with client.application.test_request_context():
        opening = services.opening_post(db.session.get(Thread, c.secret.id)).id
    for headers in ({}, as_(c.outsider)):
        for method, url in [
            ("GET", "/api/v1/spaces/board"),
            ("GET", "/api/v1/spaces/board/threads"),
            ("GET", f"/api/v1/threads/{c.secret.id}"),
            ("GET", f"/api/v1/posts/{c.secret_reply.id}"),
            ("GET", f"/api/v1/posts/{opening}"),
        ]:
            assert_error(client.open(url, method=method, headers=headers), 404, "not_found")
    outsider = as_(c.outsider)
    for method, url in [
        ("POST", f"/api/v1/threads/{c.secret.id}/posts"),
        ("POST", f"/api/v1/posts/{c.secret_reply.id}/accept"),
        ("DELETE", f"/api/v1/posts/{c.secret_reply.id}/accept"),
        ("POST", f"/api/v1/posts/{c.secret_reply.id}/kudos"),
        ("DELETE", f"/api/v1/posts/{c.secret_reply.id}/kudos"),
    ]:
        response = client.open(url, method=method, json={"body": "Hello?"}, headers=outsider)
        assert_error(response, 404, "not_found")
    # The same answers as for ids that do not exist at all.
    missing = client.get("/api/v1/threads/999999", headers=outsider).get_json()
    hidden = client.get(f"/api/v1/threads/{c.secret.id}", headers=outsider).get_json()
    assert missing == hidden

    insider = as_(c.insider)
    assert client.get(f"/api/v1/threads/{c.secret.id}", headers=insider).status_code == 200
    assert client.get("/api/v1/spaces/board", headers=insider).status_code == 200


def test_hidden_reply_answers_404_to_others(app, client, c, as_):
    run_sql(app, update(Post).where(Post.id == c.answer.id).values(is_hidden=True))
    assert_error(client.get(f"/api/v1/posts/{c.answer.id}"), 404, "not_found")
    assert_error(
        client.post(f"/api/v1/posts/{c.answer.id}/kudos", headers=as_(c.outsider)), 404, "not_found"
    )
    thread = client.get(f"/api/v1/threads/{c.question.id}").get_json()
    assert thread["posts"]["items"] == []
    own = client.get(f"/api/v1/posts/{c.answer.id}", headers=as_(c.helper))
    assert own.status_code == 200


# ---- junk never gives a 500 ------------------------------------------------------------------

JUNK_BODIES = [
    "not json at all",
    "{",
    "[]",
    '"string"',
    "null",
    "12",
    json.dumps({"title": 5, "body": ["x"], "tags": "a b", "space": {}, "kind": None, "ids": "x"}),
    json.dumps({"email": None, "password": 12, "body": None}),
    json.dumps({"title": "\x00\ud800", "body": "\u202e" * 10, "space": "../../etc"}),
]


def test_junk_bodies_get_4xx_with_the_error_shape(app, client, c, as_):
    headers = as_(c.asker)
    posts = [
        (rule, url) for (rule, method), (url, _b, _s) in route_calls(c).items() if method == "POST"
    ]
    for rule, url in posts:
        for junk in JUNK_BODIES:
            response = client.post(url, data=junk, content_type="application/json", headers=headers)
            assert response.status_code < 500, (rule, junk, response.get_json())
            if response.status_code >= 400:
                assert_error(response, response.status_code, response.get_json()["error"]["code"])
                assert response.status_code in (400, 401, 403, 404, 409, 422), (rule, junk)


def test_unknown_ids_are_404(client, c, as_):
    headers = as_(c.asker)
    for n in ("0", "999999", "9223372036854775807", "9223372036854775808", "1" * 40):
        for method, url in [
            ("GET", f"/api/v1/members/{n}"),
            ("GET", f"/api/v1/threads/{n}"),
            ("GET", f"/api/v1/posts/{n}"),
            ("POST", f"/api/v1/threads/{n}/posts"),
            ("POST", f"/api/v1/posts/{n}/accept"),
            ("DELETE", f"/api/v1/posts/{n}/accept"),
            ("POST", f"/api/v1/posts/{n}/kudos"),
            ("DELETE", f"/api/v1/posts/{n}/kudos"),
        ]:
            response = client.open(url, method=method, json={"body": "x"}, headers=headers)
            assert_error(response, 404, "not_found")
    for url in (
        "/api/v1/threads/abc",
        "/api/v1/threads/-1",
        "/api/v1/nowhere",
        "/api/v1/spaces/%00",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 404, url
        assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_405_json(client, c):
    response = client.put(f"/api/v1/threads/{c.question.id}", json={})
    assert_error(response, 405, "invalid")


def test_huge_bodies_are_refused_cleanly(client, c, as_):
    headers = as_(c.asker)
    huge = json.dumps({"space": "general", "title": "Huge", "body": "x" * (3 * 1024 * 1024)})
    for url in ("/api/v1/threads", f"/api/v1/threads/{c.question.id}/posts", "/api/v1/auth/token"):
        response = client.post(url, data=huge, content_type="application/json", headers=headers)
        assert_error(response, 413, "invalid")
    big = {"space": "general", "title": "Big body", "body": "x" * 60_000}
    error = assert_error(client.post("/api/v1/threads", json=big, headers=headers), 422, "invalid")
    assert set(error["fields"]) == {"body"}


def test_timestamps_are_iso_utc(client, c):
    data = client.get(f"/api/v1/threads/{c.question.id}").get_json()
    for stamp in (data["created_at"], data["last_post_at"], data["opening_post"]["created_at"]):
        assert STAMP.match(stamp), stamp
        assert stamp.endswith("Z") and "+" not in stamp


# ---- the OpenAPI document --------------------------------------------------------------------


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule)


def test_openapi_document_describes_every_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"][0]["url"].startswith("http")
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}

    api_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")]
    assert api_rules
    for rule in api_rules:
        path = openapi_path(rule.rule)
        assert path in doc["paths"], f"{rule.rule} is not in openapi.json"
        operations = doc["paths"][path]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = operations.get(method.lower())
            assert operation, f"{method} {path} is not in openapi.json"
            assert operation["responses"], (method, path)
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{([a-z_]+)}", path)), (method, path)


def test_openapi_success_codes_match_the_routes(client, c, as_):
    doc = client.get("/api/v1/openapi.json").get_json()
    for (rule, method), (_url, _body, status) in route_calls(c).items():
        responses = doc["paths"][openapi_path(rule)][method.lower()]["responses"]
        assert str(status) in responses, (method, rule)


def test_openapi_references_resolve(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(doc))
    assert refs
    for ref in refs:
        assert ref.startswith("#/")
        node = doc
        for part in ref[2:].split("/"):
            assert part in node, f"{ref} does not resolve"
            node = node[part]


# ---- CSRF for browser sessions ---------------------------------------------------------------


@pytest.fixture
def csrf_app(databases, tmp_path):
    """The app as in production: CSRF protection on."""
    database = databases.copy(tmp_path / "csrf.sqlite3")
    settings = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    app = create_app(
        settings
        | {
            "SEARCH_INDEX_DIR": str(tmp_path / "search-index"),
            "SQLALCHEMY_DATABASE_URI": database,
            "WTF_CSRF_ENABLED": True,
        }
    )
    app.test_client_class = FlaskLoginClient
    with app.test_request_context():
        admin = services.register_member("admin@example.com", "Ada Admin", PASSWORD)
        services.grant_roles(admin, ["admin"])
        services.create_space(admin, name="General", slug="general")
        member = services.register_member("sam@example.com", "Sam Rivera", PASSWORD)
        app.config["TEST_MEMBER_ID"] = member.id
    yield app
    background.stop_all(app)  # its threads end before its database goes
    with app.app_context():
        db.engine.dispose()
    databases.drop(database)


def session_client(app):
    with app.app_context():
        member = services.get_member(app.config["TEST_MEMBER_ID"])
        return app.test_client(user=member)


NEW_THREAD = {"space": "general", "title": "From the browser", "body": "Hello"}


def test_session_writes_need_the_csrf_token(csrf_app):
    browser = session_client(csrf_app)
    assert browser.get("/api/v1/me").status_code == 200  # reads need no token

    for headers in ({}, {"X-CSRFToken": "forged"}):
        response = browser.post("/api/v1/threads", json=NEW_THREAD, headers=headers)
        error = assert_error(response, 403, "forbidden")
        assert "CSRF" in error["message"]
    response = browser.post("/api/v1/posts/1/kudos")
    assert_error(response, 403, "forbidden")

    raw = "a-raw-csrf-token-kept-in-the-session"
    with browser.session_transaction() as session:
        session["csrf_token"] = raw
    signed = URLSafeTimedSerializer(csrf_app.secret_key, salt="wtf-csrf-token").dumps(raw)
    response = browser.post("/api/v1/threads", json=NEW_THREAD, headers={"X-CSRFToken": signed})
    assert response.status_code == 201, response.get_json()


def test_bearer_writes_need_no_csrf_token(csrf_app):
    api = csrf_app.test_client()
    response = api.post(
        "/api/v1/auth/token", json={"email": "sam@example.com", "password": PASSWORD}
    )
    assert response.status_code == 201, response.get_json()
    headers = {"Authorization": f"Bearer {response.get_json()['token']}"}

    response = api.post("/api/v1/threads", json=NEW_THREAD, headers=headers)
    assert response.status_code == 201, response.get_json()
    thread_id = response.get_json()["id"]
    response = api.post(
        f"/api/v1/threads/{thread_id}/posts", json={"body": "Bump"}, headers=headers
    )
    assert response.status_code == 201
    assert api.post("/api/v1/notifications/read", headers=headers).status_code == 200


def test_a_bearer_header_overrides_the_browser_session(client, login, make_member):
    member = make_member("Cookie Carla")
    login(member)
    assert client.get("/api/v1/me").status_code == 200
    bogus = client.get("/api/v1/me", headers={"Authorization": "Bearer prl_not-a-real-token"})
    assert bogus.status_code == 401
    assert bogus.get_json()["error"]["code"] == "unauthorized"
