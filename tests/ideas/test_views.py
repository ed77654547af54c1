"""The ideas pages (/ideas...), through the test client, as a browser without
JavaScript uses them: forms, redirects, flashes, the review table and its CSV."""

from __future__ import annotations

import csv
import io
import random
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from community import services as community
from community.extensions import db
from community.models import Member, Notification, Post, Thread, utcnow
from ideas import services
from ideas.models import Idea, StatusChange, Vote, trending_weight


def run(app, fn, *ids_and_models):
    """Call ``fn`` with fresh rows in a request context of its own."""
    with app.test_request_context():
        return fn(*(db.session.get(model, obj_id) for model, obj_id in ids_and_models))


def stored(app, idea_id) -> SimpleNamespace:
    with app.app_context():
        idea = db.session.get(Idea, idea_id)
        return SimpleNamespace(
            status=idea.status,
            vote_count=idea.vote_count,
            merged_into_id=idea.merged_into_id,
            thread_id=idea.thread_id,
            votes=db.session.scalar(
                select(func.count(Vote.id)).where(Vote.idea_id == idea_id, Vote.voided_at.is_(None))
            ),
        )


def notes_for(app, member, kind=None) -> list[SimpleNamespace]:
    with app.app_context():
        query = select(Notification).where(Notification.member_id == member.id)
        if kind:
            query = query.where(Notification.kind == kind)
        return [
            SimpleNamespace(kind=n.kind, url=n.url, summary=n.summary, post_id=n.post_id)
            for n in db.session.scalars(query.order_by(Notification.id))
        ]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


@pytest.fixture
def w(app, make_area, make_idea, make_member, pm, board):
    author = make_member("Ann Author")
    voter = make_member("Val Voter")
    area = make_area("integrations", name="Integrations")
    teams = make_idea(area, author, title="Microsoft Teams notifications", tags=["teams"])
    webhooks = make_idea(area, title="Webhook retries visible in the UI")
    run(app, lambda i, m: services.vote(i, m), (Idea, teams.id), (Member, voter.id))
    return SimpleNamespace(
        area=area, author=author, voter=voter, pm=pm, teams=teams, webhooks=webhooks, board=board
    )


# ---- browsing and the idea page ------------------------------------------------------------


def test_list_and_idea_page_show_status_votes_and_tags(client, w):
    page = client.get("/ideas/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Microsoft Teams notifications" in html and "Webhook retries visible" in html
    assert f'<span class="vote-count" data-idea-id="{w.teams.id}">2</span>' in html
    assert html.index("Microsoft Teams") < html.index("Webhook retries")  # top first
    assert "Sign in" in client.get(f"/ideas/{w.teams.id}").get_data(as_text=True)
    idea = client.get(f"/ideas/{w.teams.id}").get_data(as_text=True)
    assert f'data-idea-status="{w.teams.id}">New</span>' in idea
    assert 'href="/ideas/?tag=teams"' in idea
    assert client.get("/ideas/?tag=teams").get_data(as_text=True).count("idea-row") == 1
    assert client.get("/ideas/999999").status_code == 404


def test_private_ideas_are_404_everywhere_for_non_members(app, client, w, login, make_member):
    secret = w.board.secret
    thread_id = stored(app, secret.id).thread_id
    for who in (None, w.board.outsider):
        the_client = app.test_client()
        if who is not None:
            login(who, the_client=the_client)
        assert the_client.get(f"/ideas/{secret.id}").status_code == 404
        assert the_client.get(f"/t/{thread_id}").status_code == 404
        for url in (
            "/ideas/",
            "/ideas/?sort=new",
            "/ideas/?area=advisory-ideas",
            "/ideas/?status=new",
        ):
            assert "canary-4417" not in the_client.get(url).get_data(as_text=True), url
        if who is not None:
            for action, data in (
                ("vote", {"importance": "critical"}),
                ("comments", {"body": "Let me in"}),
                ("follow", {}),
                ("status", {"status": "planned"}),
                ("merge", {"into": str(w.teams.id)}),
            ):
                response = the_client.post(f"/ideas/{secret.id}/{action}", data=data)
                assert response.status_code == 404, action
            new = the_client.get("/ideas/new").get_data(as_text=True)
            assert "advisory-ideas" not in new and "Integrations" in new
            posted = the_client.post(
                "/ideas/new",
                data={"area": "advisory-ideas", "title": "Sneak into the board", "body": "Hi"},
            )
            assert posted.status_code == 422
    assert stored(app, secret.id).vote_count == 1
    assert count(app, Idea) == 3
    # A product manager outside the committee reviews everything but its ideas.
    pm_client = login(w.pm, the_client=app.test_client())
    assert pm_client.get(f"/ideas/{secret.id}").status_code == 404
    assert "canary-4417" not in pm_client.get("/ideas/review").get_data(as_text=True)
    assert "canary-4417" not in pm_client.get("/ideas/review.csv").get_data(as_text=True)
    # The committee sees it.
    insider = login(w.board.insider, the_client=app.test_client())
    assert insider.get(f"/ideas/{secret.id}").status_code == 200
    assert "canary-4417" in insider.get("/ideas/").get_data(as_text=True)


def test_submit_through_the_form(app, client, w, login):
    assert client.get("/ideas/new").status_code == 302  # visitors are sent to sign in
    login(w.voter)
    form = client.get("/ideas/new?area=integrations&title=Export%20to%20CSV")
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert 'id="similar-ideas"' in html and 'value="Export to CSV"' in html
    response = client.post(
        "/ideas/new",
        data={
            "area": "integrations",
            "title": "Export dashboards to CSV",
            "body": "For **finance**",
            "tags": "export, csv",
        },
    )
    assert response.status_code == 302
    idea_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "Your idea is posted, with your vote" in page
    assert "<strong>finance</strong>" in page
    assert f'<span class="vote-count" data-idea-id="{idea_id}">1</span>' in page
    assert "You voted for this idea" in page
    assert stored(app, idea_id).votes == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "Tiny", "body": "Details"}, "At least 5 characters."),
        ({"title": "A perfectly fine idea", "body": "  "}, "Required."),
        ({"title": "A perfectly fine idea", "body": "Details", "tags": "bad!tag"}, "Tags are"),
        ({"title": "A perfectly fine idea", "body": "Details", "area": "nowhere"}, "Choose one"),
    ],
)
def test_submit_form_errors_rerender_with_messages_and_write_nothing(
    app, client, w, login, data, message
):
    login(w.voter)
    before = (count(app, Idea), count(app, Vote), count(app, Thread))
    response = client.post("/ideas/new", data={"area": "integrations", **data})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert (count(app, Idea), count(app, Vote), count(app, Thread)) == before


def test_vote_unvote_and_importance_through_the_page(app, client, w, login, make_member, moderator):
    login(w.voter)
    url = f"/ideas/{w.webhooks.id}/vote"
    assert client.post(url, data={"importance": "important"}).status_code == 302
    assert client.post(url, data={"importance": "important"}).status_code == 302
    page = client.get(f"/ideas/{w.webhooks.id}").get_data(as_text=True)
    assert "You voted for this idea</strong> (Important)" in page
    assert f'<span class="vote-count" data-idea-id="{w.webhooks.id}">2</span>' in page
    assert stored(app, w.webhooks.id).votes == 2
    client.post(url, data={"action": "unvote"})
    client.post(url, data={"action": "unvote"})
    assert stored(app, w.webhooks.id).vote_count == 1
    assert "Your vote is withdrawn." in client.get(f"/ideas/{w.webhooks.id}").get_data(as_text=True)
    client.post(url, data={"importance": "whenever"})
    assert "Importance is nice_to_have, important or critical." in client.get(
        f"/ideas/{w.webhooks.id}"
    ).get_data(as_text=True)
    assert stored(app, w.webhooks.id).vote_count == 1

    sue = make_member("Sue Suspended")
    run(
        app,
        lambda m, mod: community.suspend_member(
            m, utcnow() + timedelta(days=1), by=mod, reason="x"
        ),
        (Member, sue.id),
        (Member, moderator.id),
    )
    suspended = login(sue, the_client=app.test_client())
    suspended.post(url)
    assert stored(app, w.webhooks.id).vote_count == 1


# ---- status changes -------------------------------------------------------------------------


def test_status_change_with_a_note_is_shown_and_reported(app, client, w, login, make_member):
    url = f"/ideas/{w.teams.id}/status"
    assert client.post(url, data={"status": "planned"}).status_code == 302  # to sign in
    member = login(make_member("Just Member"), the_client=app.test_client())
    assert member.post(url, data={"status": "planned", "note": "Yes"}).status_code == 404
    assert stored(app, w.teams.id).status == "new"

    login(w.pm)
    client.post(url, data={"status": "declined", "note": ""})
    assert stored(app, w.teams.id).status == "new"
    assert any("a note is required" in m for _c, m in flashes(client))
    client.get("/ideas/")  # consume the flash

    response = client.post(url, data={"status": "planned", "note": "Beta in **June**."})
    assert response.status_code == 302
    assert stored(app, w.teams.id).status == "planned"
    page = client.get(f"/ideas/{w.teams.id}").get_data(as_text=True)
    assert "<strong>June</strong>" in page
    assert f'data-idea-status="{w.teams.id}">Planned</span>' in page
    assert "Status changed; the author, voters and followers are told." in page
    for member_ in (w.author, w.voter):
        [note] = notes_for(app, member_, "idea_status")
        assert note.url == f"/ideas/{w.teams.id}"
    reader = login(w.voter, the_client=app.test_client())
    listing = reader.get("/notifications").get_data(as_text=True)
    assert "“Microsoft Teams notifications” is now Planned" in listing
    assert f'href="/ideas/{w.teams.id}"' in listing


# ---- merge ----------------------------------------------------------------------------------


def test_merged_idea_redirects_and_its_comments_and_followers_are_kept(
    app, client, w, login, make_member
):
    fan = make_member("Fay Fan")
    fan_client = login(fan, the_client=app.test_client())
    fan_client.post(f"/ideas/{w.webhooks.id}/follow")
    fan_client.post(f"/ideas/{w.webhooks.id}/comments", data={"body": "Replay saved our weekend"})
    dup_thread = stored(app, w.webhooks.id).thread_id

    login(w.pm)
    bad = client.post(f"/ideas/{w.webhooks.id}/merge", data={"into": "#999999"})
    assert bad.headers["Location"].endswith(f"/ideas/{w.webhooks.id}")
    assert ("error", "There is no idea with that number.") in flashes(client)
    client.get("/ideas/")
    response = client.post(f"/ideas/{w.webhooks.id}/merge", data={"into": f"#{w.teams.id}"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/ideas/{w.teams.id}")
    client.get("/ideas/")
    assert stored(app, w.webhooks.id).merged_into_id == w.teams.id
    assert stored(app, w.teams.id).votes == 3

    for viewer in (app.test_client(), fan_client):
        moved = viewer.get(f"/ideas/{w.webhooks.id}")
        assert moved.status_code == 302
        assert moved.headers["Location"].endswith(f"/ideas/{w.teams.id}")
        page = viewer.get(moved.headers["Location"]).get_data(as_text=True)
        assert "“Webhook retries visible in the UI” was merged into this idea" in page
        assert "From the merged idea “Webhook retries visible in the UI”" in page
        assert "Replay saved our weekend" in page
    # The duplicate's discussion now lives on the kept idea's page.
    assert (
        app.test_client()
        .get(f"/t/{dup_thread}")
        .headers["Location"]
        .endswith(f"/ideas/{w.teams.id}")
    )
    # Its followers follow the kept idea: they hear about its comments.
    login(w.voter, the_client=app.test_client()).post(
        f"/ideas/{w.teams.id}/comments", data={"body": "Glad these are together now"}
    )
    assert [n.kind for n in notes_for(app, fan, "reply")] == ["reply"]
    assert "Following ✓" in fan_client.get(f"/ideas/{w.teams.id}").get_data(as_text=True)
    # Merging into itself, or into a merged idea, is refused.
    client.post(f"/ideas/{w.teams.id}/merge", data={"into": str(w.teams.id)})
    client.post(f"/ideas/{w.teams.id}/merge", data={"into": str(w.webhooks.id)})
    assert stored(app, w.teams.id).status == "new"


# ---- comments ------------------------------------------------------------------------------


def test_comments_go_to_the_attached_thread_and_reach_followers(app, client, w, login, make_member):
    thread_id = stored(app, w.teams.id).thread_id
    follower = make_member("Fran Follower")
    follower_client = login(follower, the_client=app.test_client())
    assert follower_client.post(f"/ideas/{w.teams.id}/follow").status_code == 302

    login(w.voter)
    empty = client.post(f"/ideas/{w.teams.id}/comments", data={"body": "  "})
    assert empty.status_code == 422
    assert count(app, Post) == 3  # three opening posts, no reply
    response = client.post(
        f"/ideas/{w.teams.id}/comments", data={"body": "We need this for **on-call** alerts."}
    )
    assert response.status_code == 302
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.thread_id == thread_id, Post.number == 1))
        post_id = post.id
        assert post.author_id == w.voter.id
    assert response.headers["Location"].endswith(f"/ideas/{w.teams.id}#post-{post_id}")
    page = client.get(f"/ideas/{w.teams.id}").get_data(as_text=True)
    assert "<strong>on-call</strong>" in page
    assert "1 comment" in page
    assert client.get(f"/api/v1/ideas/{w.teams.id}").get_json()["comments"] == 1
    assert client.get(f"/t/{thread_id}").headers["Location"].endswith(f"/ideas/{w.teams.id}")
    # The follower and the author (who follows their idea) are told.
    for member in (follower, w.author):
        [note] = notes_for(app, member, "reply")
        assert note.post_id == post_id
    assert notes_for(app, w.voter) == []


def test_idea_discussions_never_show_in_forum_lists(app, client, w, login):
    thread_id = stored(app, w.teams.id).thread_id
    with app.app_context():
        slug = db.session.get(Thread, thread_id).space.slug
    login(w.author)
    for url in ("/", "/threads", "/threads?sort=new", f"/s/{slug}", f"/members/{w.author.id}"):
        html = client.get(url).get_data(as_text=True)
        assert f"/t/{thread_id}" not in html, url
        assert "Microsoft Teams notifications" not in html, url
    threads = client.get(f"/api/v1/spaces/{slug}/threads").get_json()
    assert threads["total"] == 0


# ---- the product team's review ---------------------------------------------------------------


@pytest.fixture
def valued(app, w, admin, make_member):
    """Customer value and segment on the voters of the ideas."""

    def attributes(member, value, segment):
        run(
            app,
            lambda m, a: community.set_customer_attributes(m, value, segment, by=a),
            (Member, member.id),
            (Member, admin.id),
        )

    attributes(w.author, "120000.10", "enterprise")
    attributes(w.voter, "999.99", "smb")
    formula = make_member("Eve Formula")
    attributes(formula, "10.00", "=cmd|' /C calc'!A0")
    tricky_id = run(
        app,
        lambda area, m: services.submit_idea(m, area, '=HYPERLINK("http://x","win")', "Hi").id,
        (type(w.area), w.area.id),
        (Member, formula.id),
    )
    return SimpleNamespace(tricky_id=tricky_id, formula=formula)


def test_review_pages_are_for_product_managers_only(app, client, w, login, moderator, make_member):
    for who in (None, make_member("Cus Tomer"), moderator):
        the_client = app.test_client()
        if who is not None:
            login(who, the_client=the_client)
        for url in ("/ideas/review", "/ideas/review.csv"):
            assert the_client.get(url).status_code == 404, (who, url)
        response = the_client.post(
            "/ideas/review/status", data={"ideas": [str(w.teams.id)], "status": "planned"}
        )
        assert response.status_code == 404
    assert stored(app, w.teams.id).status == "new"
    assert "Review by value" not in client.get("/ideas/").get_data(as_text=True)
    login(w.pm)
    assert "Review by value" in client.get("/ideas/").get_data(as_text=True)
    assert client.get("/ideas/review").status_code == 200


def test_review_page_shows_value_weighted_demand_by_segment(app, client, w, valued, login):
    login(w.pm)
    html = client.get("/ideas/review").get_data(as_text=True)
    assert html.index("Microsoft Teams notifications") < html.index("Webhook retries")
    assert "<strong>121,000</strong>" in html
    assert "enterprise: 1 · 120,000" in html and "smb: 1 · 1,000" in html
    smb = client.get("/ideas/review?segment=smb").get_data(as_text=True)
    assert "Microsoft Teams notifications" in smb and "Webhook retries" not in smb
    by_votes = client.get("/ideas/review?sort=votes").get_data(as_text=True)
    assert by_votes.index("Microsoft Teams") < by_votes.index("Webhook retries")


def test_review_csv_round_trips_and_defuses_formulas(app, client, w, valued, login):
    login(w.pm)
    response = client.get("/ideas/review.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header, *body = rows
    assert header[:5] == ["id", "title", "area", "status", "votes"]
    assert header[-3:] == ["value_weighted_demand", "segments", "url"]
    by_id = {int(r[0]): dict(zip(header, r, strict=True)) for r in body}
    assert set(by_id) == {w.teams.id, w.webhooks.id, valued.tricky_id}
    teams = by_id[w.teams.id]
    assert teams["title"] == "Microsoft Teams notifications"
    assert teams["area"] == "Integrations" and teams["status"] == "new"
    assert teams["votes"] == "2"
    assert Decimal(teams["value_weighted_demand"]) == Decimal("121000.09")
    assert teams["segments"] == "enterprise: 1 / 120000.10; smb: 1 / 999.99"
    assert teams["url"].endswith(f"/ideas/{w.teams.id}")
    assert [int(teams[level]) for level in ("nice_to_have", "important", "critical")] == [0, 0, 0]
    assert (teams["votes_last_30_days"], teams["votes_previous_30_days"]) == ("2", "0")
    tricky = by_id[valued.tricky_id]
    assert tricky["title"] == '\'=HYPERLINK("http://x","win")'
    assert tricky["segments"] == "'=cmd|' /C calc'!A0: 1 / 10.00"
    # No cell a spreadsheet would run as a formula.
    for row in body:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@"), cell
    # The export follows the page's filters.
    smb = list(
        csv.reader(io.StringIO(client.get("/ideas/review.csv?segment=smb").get_data(as_text=True)))
    )
    assert [int(r[0]) for r in smb[1:]] == [w.teams.id]


def test_bulk_status_change_from_the_review_page(app, client, w, login):
    login(w.pm)
    response = client.post(
        "/ideas/review/status?sort=votes",
        data={
            "ideas": [str(w.teams.id), str(w.webhooks.id)],
            "status": "under_review",
            "note": "Looking",
        },
    )
    assert response.status_code == 302
    assert (
        "/ideas/review" in response.headers["Location"]
        and "sort=votes" in response.headers["Location"]
    )
    assert ("success", "2 idea(s) changed; their voters are told.") in flashes(client)
    assert stored(app, w.teams.id).status == stored(app, w.webhooks.id).status == "under_review"
    assert [n.kind for n in notes_for(app, w.voter)] == ["idea_status"]
    assert len(notes_for(app, w.author)) == 1
    client.get("/ideas/")
    client.post("/ideas/review/status", data={"ideas": [str(w.teams.id)], "status": "declined"})
    assert stored(app, w.teams.id).status == "under_review"
    assert any("note" in m for _c, m in flashes(client))
    client.get("/ideas/")
    client.post("/ideas/review/status", data={"status": "planned"})
    assert any("Choose at least one" in m for _c, m in flashes(client))


# ---- fraud and areas ---------------------------------------------------------------------------


def test_moderators_void_votes_from_the_members_votes_page(
    app, client, w, login, moderator, runner, make_member
):
    cheat = make_member("Chet Cheat")
    for idea in (w.teams, w.webhooks):
        run(app, lambda i, m: services.vote(i, m, "critical"), (Idea, idea.id), (Member, cheat.id))
    url = f"/ideas/votes/{cheat.id}"
    login(w.pm)
    assert client.get(url).status_code == 404
    assert client.post(url, data={"reason": "x"}).status_code == 404
    mod = login(moderator, the_client=app.test_client())
    page = mod.get(url).get_data(as_text=True)
    assert page.count("counted</td>") == 2
    mod.post(url, data={"reason": ""})
    assert stored(app, w.teams.id).vote_count == 3
    assert mod.post(url, data={"reason": "Sock puppet"}).status_code == 302
    assert stored(app, w.teams.id).vote_count == 2
    assert stored(app, w.webhooks.id).vote_count == 1
    assert mod.get(url).get_data(as_text=True).count('<span class="pill">voided') == 2
    result = runner.invoke(args=["ideas", "check"])
    assert result.exit_code == 0
    assert "All vote counts and trending scores match" in result.output


def test_admins_manage_idea_areas(app, client, w, login, admin, make_space):
    make_space("hardware")
    login(w.pm)
    assert client.get("/ideas/areas").status_code == 404
    login(admin)
    response = client.post(
        "/ideas/areas", data={"name": "Hardware", "slug": "hardware-ideas", "space": "hardware"}
    )
    assert response.status_code == 302
    assert "Hardware" in client.get("/ideas/areas").get_data(as_text=True)
    taken = client.post(
        "/ideas/areas", data={"name": "Again", "slug": "hardware-ideas", "space": "hardware"}
    )
    assert taken.status_code == 422
    assert "already exists" in taken.get_data(as_text=True)


# ---- SQL statements per page do not grow with ideas and votes ---------------------------------


@contextmanager
def counting_statements(app):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def populate(app, area, admin, pm, *, ideas: int, voters: int, start: int, seed: int) -> None:
    """Ideas with many votes, from members with customer values and segments, inserted
    in bulk (the counters are then recomputed by the check). The product manager
    looking at the pages votes for every idea, so each page shows their votes."""
    rng = random.Random(seed)
    with app.test_request_context():
        area_row = db.session.get(type(area), area.id)
        author = db.session.get(Member, admin.id)
        members = []
        for n in range(voters):
            member = Member(
                email=f"bulk{start}-{n}@customer.example",
                email_key=f"bulk{start}-{n}@customer.example",
                handle=f"bulk-{start}-{n}",
                display_name=f"Bulk {n}",
                password_hash="!",
                bio="",
                session_epoch=0,
                customer_value=Decimal(rng.randint(100, 90_000)),
                segment=["enterprise", "mid-market", "smb", None][n % 4],
            )
            db.session.add(member)
            members.append(member)
        db.session.commit()
        now = utcnow()
        for n in range(ideas):
            idea = services.submit_idea(
                author, area_row, f"Bulk idea {start + n} about reports", "Body", ["bulk"]
            )
            ballots = rng.sample(members, rng.randint(voters // 2, voters))
            for member in {*ballots, members[2], db.session.get(Member, pm.id)}:
                cast_at = now - timedelta(days=rng.uniform(0, 70))
                db.session.add(
                    Vote(
                        idea_id=idea.id,
                        member_id=member.id,
                        importance=rng.choice([None, "nice_to_have", "important", "critical"]),
                        created_at=cast_at,
                        weight=trending_weight(cast_at),
                    )
                )
            community.reply(idea.thread, members[n % voters], "A comment")
        db.session.commit()
        services.check_counts(fix=True)


def test_sql_statements_per_list_and_review_page_do_not_grow(
    app, client, make_area, admin, pm, login
):
    area = make_area("reporting")
    login(pm)
    urls = [
        "/ideas/",
        "/ideas/?sort=trending",
        "/ideas/?sort=new&area=reporting",
        "/api/v1/ideas",
        "/api/v1/ideas?sort=trending&per_page=100",
        "/ideas/review",
        "/ideas/review?sort=trend&segment=smb",
        "/api/v1/ideas/review",
        "/ideas/review.csv",
    ]

    def measure() -> dict[str, int]:
        result = {}
        for url in urls:
            assert client.get(url).status_code == 200, url  # warm up
            with counting_statements(app) as statements:
                response = client.get(url)
            assert response.status_code == 200, url
            result[url] = len(statements)
        return result

    populate(app, area, admin, pm, ideas=5, voters=8, start=0, seed=1)
    small = measure()
    populate(app, area, admin, pm, ideas=35, voters=30, start=100, seed=2)
    with app.app_context():
        assert db.session.scalar(select(func.count(Idea.id))) == 40
        assert db.session.scalar(select(func.count(Vote.id))) > 500
    large = measure()
    assert large == small
    assert max(small.values()) <= 15, small
    # Sanity: the big lists really show more ideas.
    assert len(client.get("/api/v1/ideas?per_page=100").get_json()["items"]) == 40


def test_status_change_records_history_rows(app, client, w, login):
    login(w.pm)
    client.post(f"/ideas/{w.teams.id}/status", data={"status": "under_review", "note": ""})
    client.post(f"/ideas/{w.teams.id}/status", data={"status": "in_progress", "note": "Started"})
    with app.app_context():
        changes = db.session.scalars(
            select(StatusChange).where(StatusChange.idea_id == w.teams.id).order_by(StatusChange.id)
        ).all()
        assert [(c.from_status, c.to_status) for c in changes] == [
            ("new", "under_review"),
            ("under_review", "in_progress"),
        ]
    page = client.get(f"/ideas/{w.teams.id}").get_data(as_text=True)
    timeline = page[page.index('<ol class="timeline">') :]
    timeline = timeline[: timeline.index("</ol>")]
    assert timeline.index("Under review") < timeline.index("In progress")
    assert "<p>Started</p>" in timeline
