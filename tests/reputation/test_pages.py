"""Pages render, ranks show next to names from one query per page, staff pages
are staff-only and carry their chart."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from community import services as community
from community.extensions import db

from .conftest import attached


def _score_queries(app, client, url) -> tuple[int, str]:
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if "reputation_score" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert page.status_code == 200
    return len(seen), page.get_data(as_text=True)


@pytest.mark.parametrize("authors", [2, 7])
def test_ranks_next_to_names_cost_one_query(
    app, client, make_thread, make_reply, make_member, authors
):
    app.config["REPUTATION_RANKS"] = [(0, "Seedling"), (5, "Sprout")]
    asker = make_member("Asa Asker")
    thread = make_thread(author=asker, title="Which ranks show up here?")
    giver = make_member("Gil Giver")
    for n in range(authors):
        reply = make_reply(thread, make_member(f"Helper {n}"))
        with app.test_request_context():
            community.give_kudos(attached(reply), attached(giver))
    queries, html = _score_queries(app, client, f"/t/{thread.id}")
    assert queries == 1
    assert html.count(">Sprout<") == authors
    assert ">Seedling<" in html  # the asker


def test_public_pages_render(client, make_thread, make_reply, make_member):
    helper = make_member("Hugo Helper")
    make_reply(make_thread(), helper)
    how = client.get("/reputation").get_data(as_text=True)
    assert "Your reply is accepted as the solution" in how and "+15" in how
    assert "Legend" in how and "First answer" in how and "200" in how
    assert "serial_votes" not in how and "ring_min" not in how  # fraud thresholds stay private
    for url in ("/leaderboard", "/leaderboard?period=week", "/leaderboard?period=month",
                "/leaderboard?period=bogus", "/badges", "/badges/helpful"):  # fmt: skip
        assert client.get(url).status_code == 200, url
    assert "Hugo Helper" in client.get("/leaderboard").get_data(as_text=True)
    assert client.get("/leaderboard?space=nope").status_code == 404


def test_staff_pages(app, client, login, make_member, make_thread, make_reply):
    member, asker = make_member("Casey Customer"), make_member("Asa Asker")
    staff = make_member("Sue Staff", roles=["support_agent"])
    reply = make_reply(make_thread(author=asker), member)
    with app.test_request_context():
        community.accept_answer(attached(reply), attached(asker))
    urls = ["/analytics/social-value", "/analytics/participation",
            f"/members/{member.id}/social-value"]  # fmt: skip
    for url in urls:
        assert client.get(url).status_code == 404
    login(member)
    for url in urls:
        assert client.get(url).status_code == 404
    client.post("/logout")
    login(staff)
    for url in urls:
        assert client.get(url).status_code == 200, url
    page = client.get("/analytics/participation?from=2026-13-01").get_data(as_text=True)
    assert 'id="engagement-chart"' in page and "js/reputation.js" in page
    assert "vendor/chart.umd.js" in page
    assert "Casey Customer" in client.get("/analytics/social-value").get_data(as_text=True)
