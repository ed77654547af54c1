"""The ideas list is a page members share (community/shared_pages.py): each member
sees their own votes on it, and a hidden idea only its author sees is never shared."""

from __future__ import annotations

import re

import pytest

from community.extensions import db
from ideas import services
from ideas.models import Idea
from tests.community.test_cache import sign_in

pytestmark = pytest.mark.page_cache


def vote_box(html: str, idea_id: int) -> str:
    return html.split(f'id="idea-{idea_id}"', 1)[1].split("</li>", 1)[0]


def test_each_member_sees_their_own_votes_on_the_shared_list(app, make_idea, make_member, vote_as):
    idea = make_idea(title="Dark mode for the dashboard")
    voter, browser = make_member("Val Voter"), make_member("Bea Browser")
    vote_as(idea, voter)

    mine = sign_in(app, voter).get("/ideas/")
    theirs = sign_in(app, browser).get("/ideas/")
    assert theirs.headers["X-Parley-Cache"] == "shared"
    assert "✓ Voted" in vote_box(mine.get_data(as_text=True), idea.id)
    assert "✓ Voted" not in vote_box(theirs.get_data(as_text=True), idea.id)
    assert "▲ Vote" in vote_box(theirs.get_data(as_text=True), idea.id)


def test_an_author_with_a_hidden_idea_never_shares_the_list(app, make_idea, make_member):
    author, reader = make_member("Hid Den"), make_member("Re Ader")
    hidden = make_idea(author=author, title="An idea held for review")
    with app.test_request_context():
        services.hide_idea(db.session.get(Idea, hidden.id), None, "spam")

    assert "An idea held for review" in sign_in(app, author).get("/ideas/").get_data(as_text=True)
    page = sign_in(app, reader).get("/ideas/")
    assert "X-Parley-Cache" not in page.headers
    assert "An idea held for review" not in page.get_data(as_text=True)


def test_product_managers_share_the_review_page_each_with_their_own_token(
    app, make_idea, make_member
):
    make_idea(title="Audit log export")
    pam, pat = (make_member(name, roles=["product_manager"]) for name in ("Pam One", "Pat Two"))
    customer = make_member("Cus Tomer")
    first, second = (sign_in(app, pm).get("/ideas/review") for pm in (pam, pat))
    assert second.headers["X-Parley-Cache"] == "shared"
    assert "Audit log export" in second.get_data(as_text=True)
    tokens = [re.findall(r'name="csrf_token" value="([^"]+)"', p.get_data(as_text=True))
              for p in (first, second)]  # fmt: skip
    assert tokens[0] and tokens[1] and set(tokens[0]).isdisjoint(tokens[1])
    assert sign_in(app, customer).get("/ideas/review").status_code == 404
