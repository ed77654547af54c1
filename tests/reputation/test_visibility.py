"""Private-space activity counts toward totals but is never described to
people who cannot see the space."""

from __future__ import annotations

import pytest

from community import services as community
from community.extensions import db
from community.models import SpaceMembership

from .conftest import attached


@pytest.fixture
def secret(app, make_space, make_member, make_thread, make_reply):
    """Kudos and an accepted answer in a private space, and one public kudos."""
    space = make_space("inner-circle", visibility="private")
    insider, helper = make_member("Ines Insider"), make_member("Hugo Helper")
    outsider = make_member("Otto Outsider")
    with app.test_request_context():
        for member in (insider, helper):
            db.session.add(SpaceMembership(space_id=space.id, member_id=member.id))
        db.session.commit()
    thread = make_thread(space, insider, title="Confidential canary-9931 question")
    reply = make_reply(thread, helper, "Secret answer")
    public = make_reply(make_thread(kind="discussion", title="Open chat"), helper)
    with app.test_request_context():
        post = attached(reply)
        community.accept_answer(post, attached(insider))
        community.give_kudos(post, attached(insider))
        community.give_kudos(attached(public), attached(outsider))
    return {
        "space": space, "insider": insider, "helper": helper, "outsider": outsider,
        "post": reply.id, "public": public.id,
    }  # fmt: skip


def _recent(client, member_id, headers=None):
    body = client.get(f"/api/v1/members/{member_id}/reputation", headers=headers or {}).get_json()
    return body, {(e["object"]["type"], e["object"]["id"]) for e in body["recent"]}


def test_outsiders_see_the_total_but_not_the_private_rows(client, secret, token_for):
    helper = secret["helper"].id
    body, objects = _recent(client, helper)
    assert body["points"] == 2 + 15 + 5 + 5
    assert objects == {("post", secret["public"])}
    body, objects = _recent(client, helper, token_for(secret["outsider"]))
    assert objects == {("post", secret["public"])}
    body, objects = _recent(client, helper, token_for(secret["insider"]))
    assert ("post", secret["post"]) in objects


def test_profile_page_hides_private_rows_from_outsiders(client, secret, login):
    page = client.get(f"/members/{secret['helper'].id}").get_data(as_text=True)
    assert "27" in page
    assert page.count("Your reply is accepted") == 0
    login(secret["insider"])
    page = client.get(f"/members/{secret['helper'].id}").get_data(as_text=True)
    assert "Your reply is accepted" in page


def test_private_space_board_is_not_found_for_outsiders(client, secret, token_for, login):
    assert client.get("/leaderboard?space=inner-circle").status_code == 404
    answer = client.get(
        "/api/v1/leaderboard?space=inner-circle", headers=token_for(secret["outsider"])
    )
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
    board = client.get(
        "/api/v1/leaderboard?space=inner-circle", headers=token_for(secret["insider"])
    ).get_json()
    assert [(i["member"]["id"], i["points"]) for i in board["items"]] == [
        (secret["helper"].id, 2 + 15 + 5),
        (secret["insider"].id, 2),  # for accepting the answer
    ]
    login(secret["insider"])
    assert "Hugo Helper" in client.get("/leaderboard?space=inner-circle").get_data(as_text=True)


def test_overall_boards_count_private_points(client, secret):
    board = client.get("/api/v1/leaderboard?period=week").get_json()
    top = board["items"][0]
    assert top["member"]["id"] == secret["helper"].id and top["points"] == 27


def test_rows_follow_a_thread_moved_into_a_private_space(
    app, client, make_space, make_member, make_thread, make_reply
):
    from community import events
    from community.models import Thread

    from .conftest import moderate

    helper, giver = make_member("Hugo"), make_member("Gil")
    thread = make_thread(kind="discussion", title="Soon to be private")
    reply = make_reply(thread, helper)
    vault = make_space("vault", visibility="private")
    with app.test_request_context():
        community.give_kudos(attached(reply), attached(giver))
        moved = db.session.get(Thread, thread.id)
        origin = moved.space
        moved.space_id = vault.id
        moderate(events.thread_moved, moved, from_space=origin, by=attached(giver))
    body = client.get(f"/api/v1/members/{helper.id}/reputation").get_json()
    assert body["points"] == 5 and body["recent"] == []
