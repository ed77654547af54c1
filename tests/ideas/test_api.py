"""The ideas JSON API (/api/v1/ideas...) and its contract from DESIGN.md.

Data is made with the factories (each in its own context); requests run in
their own contexts, as in production.
"""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from community import services as community
from community.extensions import db
from community.models import Member, Notification, Thread, utcnow
from ideas import services
from ideas.models import Idea, StatusChange, Vote

STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


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
            if key.endswith("_at") or key == "at":
                assert item is None or STAMP.match(item), f"{path}.{key} = {item!r}"
            assert_objects_well_formed(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            assert_objects_well_formed(item, f"{path}[{n}]")


def counts(app) -> dict:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Idea, Vote, Thread, StatusChange, Notification)
        }


def stored_idea(app, idea_id) -> SimpleNamespace:
    with app.app_context():
        idea = db.session.get(Idea, idea_id)
        return SimpleNamespace(
            vote_count=idea.vote_count,
            status=idea.status,
            votes=db.session.scalar(
                select(func.count(Vote.id)).where(Vote.idea_id == idea_id, Vote.voided_at.is_(None))
            ),
        )


@pytest.fixture
def w(app, make_area, make_idea, make_member, pm, board):
    """A public integrations board with three ideas, and the private committee board."""
    author = make_member("Ann Author")
    voter = make_member("Val Voter")
    area = make_area("integrations", name="Integrations")
    teams = make_idea(
        area, author, title="Microsoft Teams notifications", tags=["teams", "notifications"]
    )
    webhooks = make_idea(area, title="Webhook retries visible in the UI", tags=["webhooks"])
    mobile = make_idea(make_area("mobile"), title="Offline mode for the Android app")
    with app.test_request_context():
        services.vote(db.session.get(Idea, teams.id), db.session.get(Member, voter.id))
        services.change_status(
            db.session.get(Idea, webhooks.id), "planned", "", by=db.session.get(Member, pm.id)
        )
    return SimpleNamespace(
        area=area, author=author, voter=voter, pm=pm, teams=teams, webhooks=webhooks,
        mobile=mobile, board=board,
    )  # fmt: skip


# ---- browsing -------------------------------------------------------------------------


def test_list_shape_with_ids_urls_and_paging(client, w, as_):
    body = client.get("/api/v1/ideas").get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert body["total"] == 3 and body["page"] == 1
    assert [i["id"] for i in body["items"]] == [w.teams.id, w.mobile.id, w.webhooks.id]
    assert_objects_well_formed(body)
    teams = body["items"][0]
    assert teams["url"].endswith(f"/ideas/{w.teams.id}")
    assert teams["author"]["id"] == w.author.id
    assert teams["votes"] == 2 and teams["status"] == "new" and teams["area"] == "integrations"
    assert teams["tags"] == ["notifications", "teams"]
    assert "voted" not in teams  # visitors have no vote to report
    mine = client.get("/api/v1/ideas", headers=as_(w.voter)).get_json()["items"]
    assert [(i["voted"], i["importance"]) for i in mine] == [
        (True, None),
        (False, None),
        (False, None),
    ]

    page = client.get("/api/v1/ideas?per_page=2&page=2").get_json()
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 3)
    assert [i["id"] for i in page["items"]] == [w.webhooks.id]


def test_list_sorts_and_filters(client, w, as_):
    def ids(query, **kw):
        response = client.get(f"/api/v1/ideas{query}", **kw)
        assert response.status_code == 200, response.get_json()
        return [i["id"] for i in response.get_json()["items"]]

    assert ids("?sort=new") == [w.mobile.id, w.webhooks.id, w.teams.id]
    assert ids("?sort=trending")[0] == w.teams.id
    assert ids("?status=planned") == [w.webhooks.id]
    assert ids("?area=integrations") == [w.teams.id, w.webhooks.id]
    assert ids("?tag=webhooks") == [w.webhooks.id]
    assert assert_error(client.get("/api/v1/ideas?sort=hot"), 422, "invalid")["fields"] == {
        "sort": "Unknown."
    }
    assert (
        "status"
        in assert_error(client.get("/api/v1/ideas?status=shipped"), 422, "invalid")["fields"]
    )
    assert "page" in assert_error(client.get("/api/v1/ideas?page=zero"), 422, "invalid")["fields"]
    assert_error(client.get("/api/v1/ideas?area=no-such-area"), 404, "not_found")
    # A private board answers exactly like a board that does not exist.
    assert_error(client.get("/api/v1/ideas?area=advisory-ideas"), 404, "not_found")
    assert_error(
        client.get("/api/v1/ideas?area=advisory-ideas", headers=as_(w.board.outsider)),
        404,
        "not_found",
    )
    assert ids("?area=advisory-ideas", headers=as_(w.board.insider)) == [w.board.secret.id]


def test_private_ideas_never_show_to_outsiders(client, w, as_):
    secret = w.board.secret.id
    for headers in ({}, as_(w.board.outsider), as_(w.pm)):
        listed = client.get("/api/v1/ideas?per_page=100", headers=headers).get_json()
        assert secret not in [i["id"] for i in listed["items"]]
        assert listed["total"] == 3
        assert client.get("/api/v1/ideas?status=new", headers=headers).get_json()["total"] == 2
        assert_error(client.get(f"/api/v1/ideas/{secret}", headers=headers), 404, "not_found")
        similar = client.get(
            "/api/v1/ideas/similar?q=confidential roadmap canary-4417", headers=headers
        )
        assert similar.get_json()["items"] == []
        areas = client.get("/api/v1/ideas/areas", headers=headers).get_json()["items"]
        assert "advisory-ideas" not in [a["slug"] for a in areas]
    assert "canary-4417" not in client.get("/api/v1/ideas?sort=new").get_data(as_text=True)
    # Writes on it answer 404 as well (not 403): nothing leaks.
    outsider = as_(w.board.outsider)
    assert_error(client.post(f"/api/v1/ideas/{secret}/vote", headers=outsider), 404, "not_found")
    assert_error(client.delete(f"/api/v1/ideas/{secret}/vote", headers=outsider), 404, "not_found")
    for url, body in (("status", {"status": "planned"}), ("merge", {"into": w.teams.id})):
        response = client.post(f"/api/v1/ideas/{secret}/{url}", json=body, headers=as_(w.pm))
        assert_error(response, 404, "not_found")
    # The committee sees it.
    insider = as_(w.board.insider)
    assert client.get(f"/api/v1/ideas/{secret}", headers=insider).status_code == 200
    similar = client.get(
        "/api/v1/ideas/similar?q=confidential roadmap canary-4417", headers=insider
    ).get_json()
    assert [i["id"] for i in similar["items"]] == [secret]


def test_similar_suggests_open_ideas_as_a_title_is_typed(app, client, w, as_):
    body = client.get("/api/v1/ideas/similar?q=Teams notifications for mentions").get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert [i["id"] for i in body["items"]] == [w.teams.id]
    assert body["total"] == 1
    assert_objects_well_formed(body)
    assert body["items"][0]["url"].endswith(f"/ideas/{w.teams.id}")
    assert client.get("/api/v1/ideas/similar?q=webhook").get_json()["items"][0]["id"] == (
        w.webhooks.id
    )
    for q in ("", "the and for", "zzzz-no-such-word"):
        assert client.get(f"/api/v1/ideas/similar?q={q}").get_json()["items"] == []
    # Merged ideas are not suggested: their votes live elsewhere.
    with app.test_request_context():
        services.merge_ideas(
            db.session.get(Idea, w.teams.id),
            db.session.get(Idea, w.webhooks.id),
            by=db.session.get(Member, w.pm.id),
        )
    assert client.get("/api/v1/ideas/similar?q=teams notifications").get_json()["items"] == []


# ---- one idea, votes -------------------------------------------------------------------


def test_idea_detail_with_status_history_and_notes(client, w, as_):
    response = client.post(
        f"/api/v1/ideas/{w.teams.id}/status",
        json={"status": "declined", "note": "We focus on **Slack** first."},
        headers=as_(w.pm),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "declined"
    data = client.get(f"/api/v1/ideas/{w.teams.id}").get_json()
    assert_objects_well_formed(data)
    assert data["status"] == "declined"
    assert data["votes"] == 2
    assert data["area"] == "integrations"
    assert data["merged_into"] is None
    assert data["comments"] == 0
    assert STAMP.match(data["status_changed_at"])
    [change] = data["status_history"]
    assert change["from"] == "new" and change["to"] == "declined"
    assert change["note"] == "We focus on **Slack** first."
    assert "<strong>Slack</strong>" in change["note_html"]
    assert change["by"]["id"] == w.pm.id
    assert change["url"].endswith(f"/ideas/{w.teams.id}#status-{change['id']}")
    page = client.get(f"/ideas/{w.teams.id}").get_data(as_text=True)
    assert f'id="status-{change["id"]}"' in page and "<strong>Slack</strong>" in page
    assert STAMP.match(change["at"])


def test_vote_and_unvote_are_idempotent(app, client, w, as_):
    headers = as_(w.voter)
    url = f"/api/v1/ideas/{w.webhooks.id}/vote"
    first = client.post(url, headers=headers)
    assert first.status_code == 200, first.get_json()
    assert (first.get_json()["votes"], first.get_json()["voted"]) == (2, True)
    assert first.get_json()["importance"] is None
    again = client.post(url, headers=headers).get_json()
    assert again["votes"] == 2
    assert stored_idea(app, w.webhooks.id).votes == 2
    critical = client.post(url, json={"importance": "critical"}, headers=headers).get_json()
    assert (critical["votes"], critical["importance"]) == (2, "critical")

    error = assert_error(
        client.post(url, json={"importance": "urgent"}, headers=headers), 422, "invalid"
    )
    assert "importance" in error["fields"]
    assert_error(
        client.post(url, data="[1, 2]", content_type="application/json", headers=headers),
        422,
        "invalid",
    )
    assert client.get(f"/api/v1/ideas/{w.webhooks.id}", headers=headers).get_json()[
        "importance"
    ] == ("critical")

    gone = client.delete(url, headers=headers)
    assert gone.status_code == 200
    assert (gone.get_json()["votes"], gone.get_json()["voted"]) == (1, False)
    assert client.delete(url, headers=headers).get_json()["votes"] == 1
    stored = stored_idea(app, w.webhooks.id)
    assert stored.vote_count == stored.votes == 1


def test_anonymous_writes_get_401_and_bogus_tokens_too(app, client, w):
    before = counts(app)
    writes = [
        (
            "POST",
            "/api/v1/ideas",
            {"title": "Anonymous idea here", "body": "x", "area": "integrations"},
        ),
        ("POST", f"/api/v1/ideas/{w.teams.id}/vote", None),
        ("DELETE", f"/api/v1/ideas/{w.teams.id}/vote", None),
        ("POST", f"/api/v1/ideas/{w.teams.id}/status", {"status": "planned"}),
        ("POST", f"/api/v1/ideas/{w.teams.id}/merge", {"into": w.webhooks.id}),
        ("GET", "/api/v1/ideas/review", None),
    ]
    for method, url, body in writes:
        assert_error(client.open(url, method=method, json=body), 401, "unauthorized")
        bogus = {"Authorization": "Bearer prl_bogus"}
        assert_error(client.open(url, method=method, json=body, headers=bogus), 401, "unauthorized")
    assert counts(app) == before


def test_bearer_token_wins_over_the_session_cookie(app, client, w, as_, login):
    login(w.board.outsider)
    response = client.post(f"/api/v1/ideas/{w.webhooks.id}/vote", headers=as_(w.voter))
    assert response.status_code == 200
    with app.app_context():
        voters = set(
            db.session.scalars(select(Vote.member_id).where(Vote.idea_id == w.webhooks.id))
        )
    assert w.voter.id in voters and w.board.outsider.id not in voters


def test_merged_ideas_answer_409_and_suspended_members_403(
    app, client, w, as_, make_member, moderator
):
    merged = client.post(
        f"/api/v1/ideas/{w.webhooks.id}/merge", json={"into": w.teams.id}, headers=as_(w.pm)
    )
    assert merged.status_code == 200, merged.get_json()
    error = assert_error(
        client.post(f"/api/v1/ideas/{w.webhooks.id}/vote", headers=as_(w.voter)), 409, "conflict"
    )
    assert str(w.teams.id) in error["message"]

    sue = make_member("Sue Suspended")
    headers = as_(sue)
    with app.test_request_context():
        community.suspend_member(
            db.session.get(Member, sue.id), utcnow() + timedelta(days=2),
            by=db.session.get(Member, moderator.id), reason="Spam",
        )  # fmt: skip
    before = counts(app)
    assert_error(client.post(f"/api/v1/ideas/{w.teams.id}/vote", headers=headers), 403, "forbidden")
    assert_error(
        client.post(
            "/api/v1/ideas",
            json={"title": "Buy cheap things now", "body": "spam", "area": "integrations"},
            headers=headers,
        ),
        403,
        "forbidden",
    )
    assert counts(app) == before


# ---- submit ---------------------------------------------------------------------------


def test_submit_an_idea(app, client, w, as_):
    response = client.post(
        "/api/v1/ideas",
        json={
            "title": "Export dashboards to CSV",
            "body": "One click to get the **numbers**.",
            "area": "integrations",
            "tags": ["export", "CSV"],
        },
        headers=as_(w.voter),
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert response.headers["Location"] == data["url"]
    assert_objects_well_formed(data)
    assert data["votes"] == 1 and data["voted"] is True
    assert data["status"] == "new" and data["status_history"] == []
    assert data["tags"] == ["csv", "export"] and data["area"] == "integrations"
    assert data["author"]["id"] == w.voter.id
    assert "<strong>numbers</strong>" in data["body_html"]
    with app.app_context():
        idea = db.session.get(Idea, data["id"])
        assert idea.thread is not None and idea.thread.embed_url == f"/ideas/{idea.id}"
    # The attached discussion does not show in the forum's thread lists.
    threads = client.get("/api/v1/threads?per_page=100").get_json()["items"]
    assert "Export dashboards to CSV" not in [t["title"] for t in threads]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"title": "Tiny", "body": "Details"}, {"title"}),
        ({"title": "x" * 201, "body": "Details"}, {"title"}),
        ({"title": "A perfectly fine idea", "body": ""}, {"body"}),
        ({"body": "Details"}, {"title"}),
        ({"title": "A perfectly fine idea", "body": "Details", "tags": ["bad tag!"]}, {"tags"}),
        ({"title": "A perfectly fine idea", "body": "Details", "tags": 7}, {"tags"}),
        ({"title": "Tiny", "body": "", "tags": [["nested"]]}, {"title", "body", "tags"}),
        ({"title": "A perfectly fine idea", "body": "Details", "area": "no-such-area"}, {"area"}),
        ({"title": "A perfectly fine idea", "body": "Details", "area": None}, {"area"}),
        ({"title": "A perfectly fine idea", "body": "Details", "area": "advisory-ideas"}, {"area"}),
    ],
)
def test_submit_errors_answer_422_with_fields_and_write_nothing(
    app, client, w, as_, payload, fields
):
    payload = {"area": "integrations", **payload}
    before = counts(app)
    error = assert_error(
        client.post("/api/v1/ideas", json=payload, headers=as_(w.board.outsider)), 422, "invalid"
    )
    assert set(error["fields"]) == fields
    assert counts(app) == before


def test_submit_needs_a_json_object(app, client, w, as_):
    before = counts(app)
    for raw in ("not json", "[1, 2]", '"text"'):
        response = client.post(
            "/api/v1/ideas", data=raw, content_type="application/json", headers=as_(w.voter)
        )
        assert_error(response, 422, "invalid")
    assert counts(app) == before


def test_a_committee_member_submits_to_the_private_board(client, w, as_):
    response = client.post(
        "/api/v1/ideas",
        json={
            "title": "Quarterly roadmap preview",
            "body": "For the committee",
            "area": "advisory-ideas",
        },
        headers=as_(w.board.insider),
    )
    assert response.status_code == 201
    idea_id = response.get_json()["id"]
    assert client.get(f"/api/v1/ideas/{idea_id}").status_code == 404
    assert client.get(f"/api/v1/ideas/{idea_id}", headers=as_(w.board.outsider)).status_code == 404


# ---- status and merge -----------------------------------------------------------------------


def test_status_changes_are_for_product_managers(app, client, w, as_, moderator, admin):
    url = f"/api/v1/ideas/{w.teams.id}/status"
    for member in (w.author, w.voter, moderator):
        assert_error(
            client.post(url, json={"status": "planned"}, headers=as_(member)), 403, "forbidden"
        )
    error = assert_error(
        client.post(url, json={"status": "delivered", "note": ""}, headers=as_(w.pm)),
        422,
        "invalid",
    )
    assert "note" in error["fields"]
    assert (
        "status"
        in assert_error(
            client.post(url, json={"status": "merged"}, headers=as_(w.pm)), 422, "invalid"
        )["fields"]
    )
    assert_error(client.post(url, data="planned", headers=as_(w.pm)), 422, "invalid")
    assert stored_idea(app, w.teams.id).status == "new"
    assert counts(app)["StatusChange"] == 1  # the fixture's webhooks change only

    done = client.post(
        url, json={"status": "delivered", "note": "Shipped in 5.2"}, headers=as_(admin)
    )
    assert done.status_code == 200
    assert [c["to"] for c in done.get_json()["status_history"]] == ["delivered"]
    # Author and voter hear about it; they see it among their notifications.
    for member in (w.author, w.voter):
        notes = client.get("/api/v1/notifications", headers=as_(member)).get_json()["items"]
        assert len(notes) == 1
        assert notes[0]["url"].endswith(f"/ideas/{w.teams.id}")


def test_merge_through_the_api(app, client, w, as_):
    url = f"/api/v1/ideas/{w.webhooks.id}/merge"
    assert_error(
        client.post(url, json={"into": w.teams.id}, headers=as_(w.voter)), 403, "forbidden"
    )
    for body in ({}, {"into": "abc"}, {"into": True}, {"into": 10**30}, {"into": 999999}):
        error = assert_error(client.post(url, json=body, headers=as_(w.pm)), 422, "invalid")
        assert "into" in error["fields"], body
    error = assert_error(
        client.post(url, json={"into": w.webhooks.id}, headers=as_(w.pm)), 422, "invalid"
    )
    assert "into" in error["fields"]
    # Merging into a private idea the product manager cannot see is like an unknown idea.
    assert (
        "into"
        in assert_error(
            client.post(url, json={"into": w.board.secret.id}, headers=as_(w.pm)), 422, "invalid"
        )["fields"]
    )

    kept = client.post(url, json={"into": w.teams.id}, headers=as_(w.pm))
    assert kept.status_code == 200, kept.get_json()
    assert kept.get_json()["id"] == w.teams.id
    assert kept.get_json()["votes"] == 3  # author, voter, and the webhooks idea's author
    duplicate = client.get(f"/api/v1/ideas/{w.webhooks.id}").get_json()
    assert duplicate["status"] == "merged"
    assert duplicate["merged_into"] == w.teams.id
    assert duplicate["votes"] == 0
    assert duplicate["status_history"][-1]["to"] == "merged"
    assert "merged" not in [i["status"] for i in client.get("/api/v1/ideas").get_json()["items"]]
    assert_error(
        client.post(
            f"/api/v1/ideas/{w.mobile.id}/merge", json={"into": w.webhooks.id}, headers=as_(w.pm)
        ),
        422,
        "invalid",
    )
    assert_error(client.post(url, json={"into": w.mobile.id}, headers=as_(w.pm)), 409, "conflict")


# ---- review ------------------------------------------------------------------------------


def test_review_api_is_for_product_managers_with_value_weighted_demand(
    app, client, w, as_, admin, moderator
):
    with app.test_request_context():
        for member, value, segment in (
            (w.author, "120000.10", "enterprise"),
            (w.voter, "999.99", "smb"),
        ):
            community.set_customer_attributes(
                db.session.get(Member, member.id),
                value,
                segment,
                by=db.session.get(Member, admin.id),
            )
    for member in (w.author, w.voter, moderator):
        assert_error(client.get("/api/v1/ideas/review", headers=as_(member)), 404, "not_found")

    body = client.get("/api/v1/ideas/review", headers=as_(w.pm)).get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert body["total"] == 3  # the committee's idea is not the product manager's to see
    assert_objects_well_formed(body)
    top = body["items"][0]
    assert top["id"] == w.teams.id
    assert top["votes"] == 2
    assert top["value_weighted_demand"] == 121000.09
    assert top["segments"] == {
        "enterprise": {"votes": 1, "value": 120000.10},
        "smb": {"votes": 1, "value": 999.99},
    }
    assert top["importance_mix"] == {"nice_to_have": 0, "important": 0, "critical": 0}
    assert (top["votes_last_30_days"], top["votes_previous_30_days"], top["trend"]) == (2, 0, 2)

    smb = client.get("/api/v1/ideas/review?segment=smb", headers=as_(w.pm)).get_json()["items"]
    assert [(i["id"], i["value_weighted_demand"]) for i in smb] == [(w.teams.id, 999.99)]
    by_votes = client.get("/api/v1/ideas/review?sort=votes", headers=as_(w.pm)).get_json()
    assert by_votes["items"][0]["id"] == w.teams.id
    assert (
        "sort"
        in assert_error(
            client.get("/api/v1/ideas/review?sort=hype", headers=as_(w.pm)), 422, "invalid"
        )["fields"]
    )
    everything = client.get("/api/v1/ideas/review", headers=as_(admin)).get_json()
    assert w.board.secret.id in [i["id"] for i in everything["items"]]


# ---- the OpenAPI document -------------------------------------------------------------------


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule)


def test_openapi_lists_every_ideas_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/ideas")]
    assert len(rules) >= 8
    for rule in rules:
        path = openapi_path(rule.rule)
        assert path in doc["paths"], f"{rule.rule} is not in openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = doc["paths"][path].get(method.lower())
            assert operation, f"{method} {path} is not in openapi.json"
            assert any(code.startswith("2") for code in operation["responses"])
    for name in ("Idea", "IdeaDetail", "IdeaReview", "Area"):
        assert name in doc["components"]["schemas"]
