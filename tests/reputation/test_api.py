"""The reputation API's shapes and errors."""

from __future__ import annotations

from community import services as community
from community.extensions import db
from community.models import Deflection

from .conftest import attached


def test_member_reputation_shape(client, app, make_thread, make_reply, make_member):
    author, giver = make_member("Pat"), make_member("Gil")
    with app.test_request_context():
        post = attached(make_reply(make_thread(kind="discussion", title="Shapes"), author))
        community.give_kudos(post, attached(giver))
        community.withdraw_kudos(post, attached(giver))
    body = client.get(f"/api/v1/members/{author.id}/reputation").get_json()
    assert set(body) == {"member", "points", "rank", "next_rank", "badges", "recent"}
    assert body["points"] == 0 and body["rank"] == "Newcomer"
    assert body["next_rank"] == {"name": "Contributor", "points": 50}
    newest, oldest = body["recent"]
    assert oldest["points"] == 5 and oldest["rule"] == "kudos_received"
    assert (
        oldest["object"]["url"].endswith(f"/posts/{post.id}") or "post" in oldest["object"]["url"]
    )
    assert newest["points"] == -5 and newest["reverses"] == oldest["id"]
    assert newest["description"].startswith("Reversed (kudos withdrawn)")
    assert client.get("/api/v1/members/999999/reputation").status_code == 404


def test_leaderboard_periods_and_errors(client, app, make_thread, make_reply, make_member):
    authors = [make_member(f"Author {n}") for n in range(3)]
    giver = make_member("Gil")
    with app.test_request_context():
        thread = make_thread(kind="discussion", title="Leaderboard")
        for n, author in enumerate(authors):
            for _ in range(n + 1):
                post = attached(make_reply(thread, author))
                community.give_kudos(post, attached(giver))
    for period in ("week", "month", "all"):
        body = client.get(f"/api/v1/leaderboard?period={period}").get_json()
        assert [i["member"]["id"] for i in body["items"]] == [a.id for a in reversed(authors)]
        assert [i["position"] for i in body["items"]] == [1, 2, 3]
        assert body["total"] == 3 and body["period"] == period
    page2 = client.get("/api/v1/leaderboard?per_page=2&page=2").get_json()
    assert [i["member"]["id"] for i in page2["items"]] == [authors[0].id]
    bad = client.get("/api/v1/leaderboard?period=decade")
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"] == {
        "period": "Unknown period."
    }
    assert client.get("/api/v1/leaderboard?space=nowhere").status_code == 404


def test_social_value_is_for_staff(client, app, make_member, make_thread, make_reply, token_for):
    app.config["DEFLECTION_COST_PER_CASE"] = "20.00"
    asker, answerer = make_member("Asa"), make_member("Ann")
    staff = make_member("Sue Support", roles=["support_agent"])
    with app.test_request_context():
        thread = make_thread(author=asker)
        post = attached(make_reply(thread, answerer))
        community.accept_answer(post, attached(asker))
        community.give_kudos(post, attached(asker))
        for day in ("2026-01-01", "2026-01-02"):
            db.session.add(
                Deflection(thread_id=thread.id, visitor_key=f"s:{day}", day=day, query="x")
            )
        db.session.commit()
    url = f"/api/v1/members/{answerer.id}/social-value"
    assert client.get(url).status_code == 401
    denied = client.get(url, headers=token_for(asker))
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "forbidden"
    body = client.get(url, headers=token_for(staff)).get_json()
    assert body["accepted_answers"] == 1 and body["deflections"] == 2
    assert body["savings"] == 40.0 and body["kudos_received"] == 1
    assert body["engagement_level"] == "advocate"
    # 40 savings + 10 per accepted answer + 0.10 per view + 1 per kudos
    assert body["social_value"] == round(40 + 10 + 0.1 * body["solution_views"] + 1, 2)


def test_participation_is_for_staff(client, make_member, token_for):
    member = make_member("Lurker Lou")
    staff = make_member("Sue", roles=["moderator"])
    assert client.get("/api/v1/analytics/participation").status_code == 401
    assert (
        client.get("/api/v1/analytics/participation", headers=token_for(member)).status_code == 403
    )
    body = client.get(
        "/api/v1/analytics/participation?from=2026-01-01&to=2026-12-31", headers=token_for(staff)
    ).get_json()
    assert body["from"] == "2026-01-01" and body["to"] == "2026-12-31"
    assert set(body["profile"]) == {"readers", "contributors", "creators"}
    assert set(body["engagement"]) == {"aware", "engaged", "committed", "advocate"}
    bad = client.get(
        "/api/v1/analytics/participation?from=2026-12-31&to=2026-01-01", headers=token_for(staff)
    )
    assert bad.status_code == 422
    junk = client.get("/api/v1/analytics/participation?from=yesterday", headers=token_for(staff))
    assert junk.status_code == 422


def test_openapi_lists_the_reputation_paths(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/members/{member_id}/reputation",
        "/api/v1/leaderboard",
        "/api/v1/members/{member_id}/social-value",
        "/api/v1/analytics/participation",
    ):
        assert path in paths


def test_space_boards_are_kept_for_a_minute(client, app, make_thread, make_reply, make_member):
    author, giver = make_member("Pat"), make_member("Gil")
    thread = make_thread(kind="discussion", title="Caching")
    reply = make_reply(thread, author)
    with app.test_request_context():
        slug = attached(thread).space.slug
    board = f"/api/v1/leaderboard?space={slug}"
    assert client.get(board).get_json()["items"] == []
    with app.test_request_context():
        community.give_kudos(attached(reply), attached(giver))
    assert client.get(board).get_json()["items"] == []  # the minute-old board
    # Overall boards read the maintained totals: live.
    for period in ("all", "week", "month"):
        assert client.get(f"/api/v1/leaderboard?period={period}").get_json()["total"] == 1
    app.config["REPUTATION_BOARD_CACHE_SECONDS"] = 0
    assert client.get(board).get_json()["items"][0]["points"] == 5
