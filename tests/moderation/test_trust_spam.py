"""Trust levels and their gates, spam rules sending content to the approval queue,
and rate limits per trust level, as members meet them through the API and pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from community import services
from community.extensions import db
from community.models import Member, Notification, Post, Thread
from ideas import services as ideas
from moderation import services as moderation
from moderation.models import ReviewItem

from .conftest import attached

pytestmark = pytest.mark.usefixtures("screening")


@pytest.fixture
def api(app, token_for):
    """POST as a member through the API with a bearer token."""

    def post(member, url, body):
        return app.test_client().post(url, json=body, headers=token_for(member))

    return post


def count(model, *where):
    return db.session.scalar(select(func.count(model.id)).where(*where))


# ---- trust levels ----------------------------------------------------------------


def test_trust_level_rises_with_visits_and_reading(ctx, make_member, make_thread, make_reply):
    member = attached(make_member())
    assert moderation.compute_trust_level(member) == 0
    assert services.record_visit(member) is True
    assert services.record_visit(member) is False  # once a day, one write
    thread = make_thread()
    for _ in range(4):
        make_reply(thread)
    services.record_view(db.session.get(Thread, thread.id), f"m:{member.id}")
    db.session.refresh(member)
    assert (member.days_visited, member.posts_read) == (1, 5)
    assert moderation.refresh_trust(member) == 1
    assert db.session.get(Member, member.id).trust_level == 1


def test_thresholds_are_configurable_and_locks_hold(app, ctx, make_member, moderator):
    member = attached(make_member())
    app.config["MODERATION_TRUST_THRESHOLDS"] = {1: {"account_days": 0}, 2: {"account_days": 0}}
    assert moderation.refresh_trust(member) == 2
    moderation.set_trust(member, 0, moderator, "Probation")
    assert moderation.refresh_trust(member) == 0  # locked by a moderator
    assert moderation.compute_trust_level(moderator) == 4


# ---- trust gates -----------------------------------------------------------------


def test_level_zero_may_post_one_link_and_few_mentions(api, make_thread, member_at):
    thread = make_thread()
    newcomer = member_at(0)
    two_links = "See https://a.example/x and https://b.example/y"
    response = api(newcomer, f"/api/v1/threads/{thread.id}/posts", {"body": two_links})
    assert response.status_code == 422
    assert "at most 1 link" in response.get_json()["error"]["message"]
    mentions = "@ann @bob @cid please look"
    response = api(newcomer, f"/api/v1/threads/{thread.id}/posts", {"body": mentions})
    assert response.status_code == 422 and "mention" in response.get_json()["error"]["message"]
    regular = member_at(1)
    response = api(regular, f"/api/v1/threads/{thread.id}/posts", {"body": two_links})
    assert response.status_code == 201


def test_new_threads_per_day_depend_on_trust(api, make_space, member_at):
    space = make_space("qa-space")
    newcomer = member_at(0)
    for n in range(3):
        body = {"space": "qa-space", "title": f"Question number {n}", "body": "Details"}
        assert api(newcomer, "/api/v1/threads", body).status_code == 201
    response = api(
        newcomer, "/api/v1/threads", {"space": "qa-space", "title": "One more", "body": "x"}
    )
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited" and "try again at" in error["message"]
    assert int(response.headers["Retry-After"]) > 0
    assert space is not None


def test_idea_submission_rate_depends_on_trust(app, api, make_idea, member_at):
    first = make_idea()
    with app.test_request_context():
        area = ideas.get_idea(first.id, None).area.slug
    newcomer = member_at(0)
    body = {"title": "Dark mode for reports", "body": "Please", "area": area}
    assert api(newcomer, "/api/v1/ideas", body).status_code == 201
    response = api(newcomer, "/api/v1/ideas", {**body, "title": "Another idea today"})
    assert response.status_code == 429 and "ideas a day" in response.get_json()["error"]["message"]


# ---- spam rules and the approval queue ---------------------------------------------


def test_blocked_word_holds_a_thread_for_approval_then_approval_publishes_it(
    app, api, make_space, member_at, make_member, moderator
):
    app.config["MODERATION_BLOCKED_WORDS"] = ["casino"]
    space = make_space("lounge")
    follower = make_member("Fay Follower")
    with app.test_request_context():
        services.follow_space(attached(space), attached(follower))
    author = member_at(2)
    body = {"space": "lounge", "title": "Best online casino bonus", "body": "Sign up"}
    response = api(author, "/api/v1/threads", body)
    assert response.status_code == 201
    thread_id = response.get_json()["id"]
    with app.test_request_context():
        assert services.list_threads(None).items == []
        assert services.get_thread(thread_id, attached(author)).is_hidden  # the author sees it
        assert count(Notification, Notification.member_id == follower.id) == 0
        item = db.session.scalar(select(ReviewItem))
        assert (item.kind, item.target_type, item.target_id) == ("approval", "thread", thread_id)
        assert "casino" in item.detail

        moderation.act(attached(moderator), "approve", "thread", thread_id)
        assert [t.id for t in services.list_threads(None).items] == [thread_id]
        assert count(Notification, Notification.member_id == follower.id) == 1
        assert moderation.spam_report(attached(moderator)).approved == 1


def test_held_reply_is_uncounted_until_approved(app, api, make_thread, member_at, moderator):
    thread = make_thread()
    newcomer = member_at(0)
    response = api(
        newcomer, f"/api/v1/threads/{thread.id}/posts", {"body": "My site: https://x.example"}
    )
    assert response.status_code == 201
    post_id = response.get_json()["id"]
    with app.test_request_context():
        assert db.session.get(Thread, thread.id).reply_count == 0
        assert services.thread_replies(db.session.get(Thread, thread.id), None).items == []
        assert "first posts with links" in db.session.scalar(select(ReviewItem.detail))
        moderation.act(attached(moderator), "approve", "post", post_id)
        assert db.session.get(Thread, thread.id).reply_count == 1
    # A member trusted a little more posts links straight away.
    response = api(
        member_at(1), f"/api/v1/threads/{thread.id}/posts", {"body": "https://y.example"}
    )
    with app.test_request_context():
        assert not db.session.get(Post, response.get_json()["id"]).is_hidden


def test_blocked_domain_and_rejection_count_in_the_spam_report(
    app, api, make_thread, member_at, moderator
):
    with app.test_request_context():
        moderation.add_spam_rule(attached(moderator), "domain", "pills.example")
    thread = make_thread()
    response = api(
        member_at(3),
        f"/api/v1/threads/{thread.id}/posts",
        {"body": "Cheap at https://shop.pills.example/buy"},
    )
    post_id = response.get_json()["id"]
    with app.test_request_context():
        moderation.act(attached(moderator), "reject", "post", post_id, "Spam")
        assert db.session.get(Post, post_id).deleted_at is not None
        report = moderation.spam_report(attached(moderator))
        assert (report.open, report.approved, report.rejected) == (0, 0, 1)


def test_repeating_the_same_text_in_another_thread_is_held(app, api, make_thread, member_at):
    author = member_at(2)
    first, second = make_thread(), make_thread()
    text = {"body": "Visit my profile for a great deal on everything"}
    assert api(author, f"/api/v1/threads/{first.id}/posts", text).status_code == 201
    response = api(author, f"/api/v1/threads/{second.id}/posts", text)
    with app.test_request_context():
        held = db.session.get(Post, response.get_json()["id"])
        assert held.pending_reason == "the same text was posted in another thread"


def test_moderators_are_not_screened(app, api, make_thread, moderator):
    app.config["MODERATION_BLOCKED_WORDS"] = ["casino"]
    thread = make_thread()
    response = api(moderator, f"/api/v1/threads/{thread.id}/posts", {"body": "No casino links"})
    with app.test_request_context():
        assert not db.session.get(Post, response.get_json()["id"]).is_hidden


def test_honeypot_field_refuses_robots(client):
    response = client.post(
        "/register",
        data={
            "email": "bot@spam.example",
            "display_name": "Bot",
            "password": "long enough pw",
            "website": "http://spam.example",
        },
    )
    assert response.status_code == 422
    with client.application.app_context():
        assert count(Member, Member.email_key == "bot@spam.example") == 0


# ---- rate limits per trust level -------------------------------------------------


@pytest.fixture
def limits(app):
    app.config["MODERATION_RATE_LIMITS_ENABLED"] = True
    app.config["MODERATION_RATE_LIMITS"] = {
        "posting": ["2 per minute", "3 per minute"],
        "voting": ["1 per minute", "5 per minute"],
        "flagging": ["1 per minute", "1 per minute"],
    }
    return app


def test_posting_rate_depends_on_trust_and_says_when(
    limits, api, make_thread, member_at, client, login
):
    thread = make_thread()
    newcomer, regular = member_at(0), member_at(1)
    url = f"/api/v1/threads/{thread.id}/posts"
    assert [api(newcomer, url, {"body": f"Reply {n}"}).status_code for n in range(3)] == [
        201,
        201,
        429,
    ]
    response = api(newcomer, url, {"body": "Again"})
    assert "try again in" in response.get_json()["error"]["message"]
    assert [api(regular, url, {"body": f"Answer {n}"}).status_code for n in range(3)] == [
        201,
        201,
        201,
    ]
    login(newcomer)
    page = client.post(f"/t/{thread.id}/reply", data={"body": "From the page"})
    assert page.status_code == 429 and "try again in" in page.get_data(as_text=True)


def test_voting_and_flagging_are_rate_limited(
    limits, app, token_for, make_thread, make_reply, member_at
):
    posts = [make_reply(make_thread()) for _ in range(2)]
    voter = member_at(0)
    headers = token_for(voter)
    http = app.test_client()
    assert http.post(f"/api/v1/posts/{posts[0].id}/kudos", headers=headers).status_code == 200
    limited = http.post(f"/api/v1/posts/{posts[1].id}/kudos", headers=headers)
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    flagger = member_at(1)
    headers = token_for(flagger)
    body = {"target_type": "post", "reason": "spam"}
    assert (
        http.post(
            "/api/v1/flags", json={**body, "target_id": posts[0].id}, headers=headers
        ).status_code
        == 201
    )
    assert (
        http.post(
            "/api/v1/flags", json={**body, "target_id": posts[1].id}, headers=headers
        ).status_code
        == 429
    )


def test_suspended_members_are_refused_through_the_api(
    app, token_for, make_thread, make_reply, make_idea, member_at, moderator
):
    thread = make_thread()
    post = make_reply(thread)
    idea = make_idea()
    member = member_at(2)
    headers = token_for(member)
    with app.test_request_context():
        moderation.act(
            attached(moderator),
            "suspend",
            "member",
            member.id,
            "Cool down",
            until="2999-01-01T00:00:00Z",
        )
    http = app.test_client()
    refused = [
        http.post(f"/api/v1/threads/{thread.id}/posts", json={"body": "Hi"}, headers=headers),
        http.post(f"/api/v1/posts/{post.id}/kudos", headers=headers),
        http.post(f"/api/v1/ideas/{idea.id}/vote", json={}, headers=headers),
        http.post(
            "/api/v1/flags",
            json={"target_type": "post", "target_id": post.id, "reason": "spam"},
            headers=headers,
        ),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert http.get(f"/api/v1/threads/{thread.id}", headers=headers).status_code == 200
    with app.test_request_context():
        db.session.execute(
            update(Member).where(Member.id == member.id).values(suspended_until=None)
        )
        db.session.commit()


def test_held_idea_waits_for_approval(app, api, make_idea, member_at, make_member, moderator):
    app.config["MODERATION_BLOCKED_WORDS"] = ["crypto"]
    first = make_idea()
    with app.test_request_context():
        area = ideas.get_idea(first.id, None).area.slug
    response = api(
        member_at(2),
        "/api/v1/ideas",
        {"title": "Pay invoices in crypto", "body": "Please", "area": area},
    )
    assert response.status_code == 201
    idea_id = response.get_json()["id"]
    with app.test_request_context():
        reader = attached(make_member())
        assert idea_id not in [i.id for i in ideas.list_ideas(reader).items]
        (entry,) = moderation.review_queue(attached(moderator), kind="approval")[1]
        assert (entry.target.type, entry.target.state) == ("idea", "pending")
        moderation.act(attached(moderator), "approve", "idea", idea_id)
        assert idea_id in [i.id for i in ideas.list_ideas(reader).items]
