"""The support queue and watchlist pages."""

from sqlalchemy import select

from community import help
from community import services as community
from community.extensions import db
from community.models import Member, SpaceMembership, SupportCase
from moderation.listening.models import Alert, Watchlist


def test_the_queue_shows_the_post_its_sentiment_the_customers_value_and_open_cases(
    app, client, login, make_thread, customer, agent
):
    with app.test_request_context():
        who = db.session.get(Member, customer.id)
        community.set_customer_attributes(who, 48000, "mid-market", by=None)
        case = help.open_case("Cannot log in at all", "Since Monday.", by=who, visitor_key="x")
        reference = case.reference
    body = "Charged twice this month. Nobody answers. Absolutely unacceptable."
    make_thread(author=customer, title="Charged twice again", body=body)
    login(agent)
    page = client.get("/listening/").get_data(as_text=True)
    assert "Charged twice again" in page
    assert "Nobody answers. Absolutely unacceptable." in page
    assert 'sentiment <strong class="sentiment">-0.' in page
    assert "48,000" in page and "mid-market" in page
    assert '90-day sentiment <strong class="trend">-0.' in page and "over 1 post" in page
    assert reference in page
    assert "Escalate to a support case" in page
    assert 'id="listening-chart"' in page


def test_the_queue_is_not_there_for_customers_or_other_staff(client, login, make_member, customer):
    login(customer)
    assert client.get("/listening/").status_code == 404
    assert client.get("/listening/watchlists").status_code == 404
    client.post("/logout")
    login(make_member("Pia Product", roles=["product_manager"]))
    assert client.get("/listening/").status_code == 404
    client.post("/logout")
    assert client.get("/listening/").status_code == 302  # to the sign-in page


def test_escalating_from_the_queue_opens_a_case(app, client, login, make_thread, customer, agent):
    thread = make_thread(author=customer, title="Data gone",
                         body="Horrible, the sync destroyed our data. Furious.")  # fmt: skip
    login(agent)
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
    response = client.post(
        f"/listening/alerts/{alert_id}/escalate",
        data={"subject": "Restore Carla's notes", "description": ""},
    )
    assert response.status_code == 302
    with app.app_context():
        case = db.session.scalar(select(SupportCase))
        assert case.subject == "Restore Carla's notes"
        assert case.member_id == customer.id and case.thread_id == thread.id
        alert = db.session.get(Alert, alert_id)
        assert alert.case_id == case.id and alert.handled_action == "escalated"
        reference = case.reference
    page = client.get("/listening/?state=handled").get_data(as_text=True)
    assert reference in page and "Handled" in page


def test_private_alerts_are_not_on_the_queue_of_agents_outside_the_space(
    app, client, login, make_space, make_thread, make_member, agent
):
    insider = make_member("Ines Insider")
    space = make_space("advisory", visibility="private", kind="advisory")
    with app.app_context():
        db.session.add(SpaceMembership(space_id=space.id, member_id=insider.id))
        db.session.commit()
    make_thread(
        space, insider, title="Canary-8812 awful roadmap", body="Horrible, terrible, useless."
    )
    login(agent)
    assert "Canary-8812" not in client.get("/listening/?state=all").get_data(as_text=True)
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
    assert client.post(f"/listening/alerts/{alert_id}/handled").status_code == 404
    assert client.post(f"/listening/alerts/{alert_id}/escalate").status_code == 404


def test_watchlists_are_created_edited_and_deleted_by_their_owner(
    app, client, login, seller, agent
):
    login(seller)
    response = client.post(
        "/listening/watchlists",
        data={"name": "Buying intent", "kind": "lead", "terms": "pricing\nquote, upgrade"},
    )
    assert response.status_code == 302
    with app.app_context():
        watchlist = db.session.scalar(select(Watchlist))
        assert watchlist.owner_id == seller.id
        assert watchlist.term_texts == ["pricing", "quote", "upgrade"]
        watchlist_id = watchlist.id
    page = client.get(f"/listening/watchlists/{watchlist_id}").get_data(as_text=True)
    assert "pricing\nquote\nupgrade" in page
    response = client.post(
        f"/listening/watchlists/{watchlist_id}",
        data={"name": "Buying signals", "kind": "lead", "terms": "pricing\nrenew"},
    )
    assert response.status_code == 302
    with app.app_context():
        watchlist = db.session.get(Watchlist, watchlist_id)
        assert watchlist.name == "Buying signals"
        assert watchlist.term_texts == ["pricing", "renew"]
    bad = client.post(
        f"/listening/watchlists/{watchlist_id}", data={"name": "x", "kind": "lead", "terms": ""}
    )
    assert bad.status_code == 422
    assert "At least 2 characters." in bad.get_data(as_text=True)
    # Another listener sees the list but may not change or delete it.
    client.post("/logout")
    login(agent)
    assert "Buying signals" in client.get("/listening/watchlists").get_data(as_text=True)
    client.post(f"/listening/watchlists/{watchlist_id}/delete")
    with app.app_context():
        assert db.session.get(Watchlist, watchlist_id) is not None
    client.post("/logout")
    login(seller)
    assert client.post(f"/listening/watchlists/{watchlist_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(Watchlist, watchlist_id) is None
