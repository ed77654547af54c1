"""Ideas in community search: found by their words, under the same access policy."""

from __future__ import annotations

from community import search
from community.extensions import db
from community.models import Member
from ideas import services
from ideas.models import Idea


def find(app, q, member=None, **options) -> search.Page:
    with app.test_request_context():
        viewer = db.session.get(Member, member.id) if member is not None else None
        return search.query(viewer, q, **options)


def keys(page) -> set[tuple[str, int]]:
    return {(hit.type, hit.id) for hit in page.items}


def test_a_submitted_idea_is_found_by_its_title_body_and_tag(app, make_idea):
    idea = make_idea(
        title="Dark mode for the dashboard", body="Our night shift squints at the **glare**.",
        tags=["accessibility"],
    )  # fmt: skip
    for q in ("dark mode", "glare night shift", "accessibility"):
        assert ("idea", idea.id) in keys(find(app, q)), q
    page = find(app, "dark mode", kind="idea")
    hit = next(h for h in page.items if h.id == idea.id)
    assert hit.kind == "idea" and "glare" in hit.snippet
    with app.test_request_context():
        assert hit.url() == f"/ideas/{idea.id}"
    assert any(f.value == "idea" for f in page.facets["kind"])


def test_the_api_lists_ideas_with_their_url(app, client, make_idea):
    idea = make_idea(title="Bulk export of invoices to the ledger")
    body = client.get("/api/v1/search?q=ledger&kind=idea").get_json()
    assert [(item["type"], item["id"]) for item in body["items"]] == [("idea", idea.id)]
    assert body["items"][0]["url"].endswith(f"/ideas/{idea.id}")
    assert body["items"][0]["solved"] is False


def test_a_private_boards_idea_reaches_only_those_who_may_see_the_space(app, client, board):
    canary = "canary-4417"
    assert ("idea", board.secret.id) in keys(find(app, canary, board.insider))
    for viewer in (None, board.outsider):
        page = find(app, canary, viewer)
        assert page.total == 0 and not page.items
        assert canary not in str(page.suggestion or "")
    page = client.get("/search?q=confidential+roadmap").get_data(as_text=True)
    assert canary not in page and f"/ideas/{board.secret.id}" not in page
    assert client.get(f"/api/v1/search?q={canary}").get_json()["items"] == []


def test_a_delivered_idea_counts_as_solved(app, make_idea, pm):
    idea = make_idea(title="Single sign-on with Okta")
    assert find(app, "okta", solved=True).total == 0
    with app.test_request_context():
        services.change_status(
            db.session.get(Idea, idea.id),
            "delivered",
            "Shipped in 4.2.",
            db.session.get(Member, pm.id),
        )
    page = find(app, "okta", solved=True)
    assert keys(page) == {("idea", idea.id)} and page.items[0].solved is True


def test_a_merged_duplicate_leaves_the_index_and_the_kept_idea_stays(app, make_idea, make_area, pm):
    area = make_area()
    kept = make_idea(area, title="Webhooks for invoice events")
    duplicate = make_idea(
        area, title="Invoice webhooks please", body="Webhooks when invoices change."
    )
    with app.test_request_context():
        services.merge_ideas(
            db.session.get(Idea, duplicate.id), db.session.get(Idea, kept.id),
            db.session.get(Member, pm.id),
        )  # fmt: skip
    assert keys(find(app, "invoice webhooks")) == {("idea", kept.id)}


def test_a_rebuild_indexes_ideas_too(app, make_idea):
    idea = make_idea(title="Offline mode for the mobile app")
    with app.app_context():
        search.reindex()
    assert ("idea", idea.id) in keys(find(app, "offline mobile"))


def test_a_hidden_idea_is_found_only_by_moderators_and_its_author(app, make_idea, moderator):
    idea = make_idea(title="Quantum billing integration")
    with app.test_request_context():
        services.hide_idea(
            db.session.get(Idea, idea.id), db.session.get(Member, moderator.id), "Off topic."
        )
    assert find(app, "quantum billing").total == 0
    assert ("idea", idea.id) in keys(find(app, "quantum billing", moderator))
    assert ("idea", idea.id) in keys(find(app, "quantum billing", idea.author))
