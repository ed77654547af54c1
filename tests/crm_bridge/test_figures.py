"""The CRM shows reputation's figures: the contact's social value, engagement level,
reputation and rank are the ones staff see at /members/<id>/social-value and
/members/<id>/reputation, in the built-in CRM and in Salesforce's and HubSpot's
payloads, and they follow a change once the worker has run."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community import background, member_figures
from community import services as community
from community.extensions import db
from community.models import Deflection
from crm_bridge import services
from crm_bridge.models import Contact, MemberLink, OutboxItem
from ideas import services as ideas
from tests.crm_bridge.connectors.fake_hubspot import FakeHubSpot
from tests.crm_bridge.connectors.fake_salesforce import FakeSalesforce

from .conftest import drain


def attached(obj):
    return db.session.get(type(obj), obj.id)


@pytest.fixture
def salesforce():
    fake = FakeSalesforce().start()
    yield fake
    fake.stop()


@pytest.fixture
def hubspot():
    fake = FakeHubSpot().start()
    yield fake
    fake.stop()


@pytest.fixture
def every_crm(app, salesforce, hubspot):
    """The built-in CRM, Salesforce and HubSpot at once, retrying at once."""
    app.config.update(
        CRM="builtin,salesforce,hubspot",
        CRM_SALESFORCE_INSTANCE_URL=salesforce.url,
        CRM_SALESFORCE_CLIENT_ID=salesforce.client_id,
        CRM_SALESFORCE_CLIENT_SECRET=salesforce.client_secret,
        CRM_HUBSPOT_TOKEN=hubspot.token,
        CRM_HUBSPOT_BASE_URL=hubspot.url,
        CRM_BACKOFF_SECONDS=0.0,
        CRM_BACKOFF_MAX_SECONDS=0.0,
        CRM_PULL_SECONDS=0,
        DEFLECTION_COST_PER_CASE="12.50",
    )
    return app


@pytest.fixture
def staff(make_member, token_for):
    return token_for(make_member("Sue Support", roles=["support_agent"]))


def accept(app, thread, answer, asker):
    with app.test_request_context():
        community.accept_answer(attached(answer), attached(asker))


def helpful_member(app, admin, make_member, make_space, make_thread, make_reply):
    """Hero: two accepted answers (one of them deflected a case), kudos and a
    delivered idea."""
    asker, hero = make_member("Asa Asker"), make_member("Hero Helper", email="hero@acme.example")
    pm = make_member("Pia PM", roles=["product_manager"])
    first, second = make_thread(author=asker), make_thread(author=asker, title="Where is SSO?")
    answers = [make_reply(first, hero), make_reply(second, hero)]
    for thread, answer in zip((first, second), answers, strict=True):
        accept(app, thread, answer, asker)
    space = make_space("product-ideas")
    with app.test_request_context():
        area = ideas.create_area(
            attached(admin), name="Exports", slug="exports", description="", space=attached(space)
        )
        idea = ideas.submit_idea(attached(hero), area, "Export to Parquet", "Please.", [])
        community.give_kudos(attached(answers[0]), attached(asker))
        ideas.change_status(idea, "delivered", "Shipped.", attached(pm))
        db.session.add(
            Deflection(thread_id=first.id, visitor_key="s:a", day="2026-11-01", query="export")
        )
        db.session.commit()
    return hero, asker


def shown_to_staff(client, headers, member_id) -> dict:
    value = client.get(f"/api/v1/members/{member_id}/social-value", headers=headers).get_json()
    reputation = client.get(f"/api/v1/members/{member_id}/reputation").get_json()
    return {
        "social_value": value["social_value"],
        "engagement_level": value["engagement_level"],
        "savings": value["savings"],
        "reputation": reputation["points"],
        "rank": reputation["rank"],
    }


def builtin_contact(app, member_id) -> dict:
    with app.app_context():
        link = db.session.scalar(select(MemberLink).where(MemberLink.member_id == member_id))
        assert link is not None, "the built-in CRM linked the member by e-mail"
        return dict(db.session.get(Contact, link.contact_id).community)


def test_every_crm_shows_reputations_social_value_and_engagement_level(
    every_crm,
    client,
    staff,
    salesforce,
    hubspot,
    make_member,
    make_thread,
    make_reply,
    make_space,
    admin,
    login,
):
    app = every_crm
    hero, _asker = helpful_member(app, admin, make_member, make_space, make_thread, make_reply)
    result = drain(app)
    assert result.dead == 0, result.errors
    truth = shown_to_staff(client, staff, hero.id)
    # Reputation's figure, not the bridge's old savings-only number.
    assert truth["social_value"] > truth["savings"] == 12.5
    assert truth["engagement_level"] == "advocate"
    assert truth["reputation"] == 2 * (15 + 2) + 5 + 50  # accepted, first replies, kudos, idea

    builtin = builtin_contact(app, hero.id)
    assert builtin["social_value"] == truth["social_value"]
    assert builtin["engagement_level"] == truth["engagement_level"]
    assert (builtin["reputation"], builtin["rank"]) == (truth["reputation"], truth["rank"])
    assert builtin["deflected_cases"] == 1

    [sf] = salesforce.find("Contact", Email="hero@acme.example")
    assert sf["Parley_Social_Value__c"] == truth["social_value"]
    assert sf["Parley_Engagement_Level__c"] == truth["engagement_level"]
    assert sf["Parley_Reputation__c"] == truth["reputation"]
    assert sf["Parley_Rank__c"] == truth["rank"]

    [hs] = hubspot.find("contacts", email="hero@acme.example")
    assert float(hs["parley_social_value"]) == truth["social_value"]
    assert hs["parley_engagement_level"] == truth["engagement_level"]
    assert hs["parley_rank"] == truth["rank"]

    # The customer 360 page's JSON says the same.
    with app.app_context():
        contact_id = db.session.scalar(
            select(MemberLink.contact_id).where(MemberLink.member_id == hero.id)
        )
    view = client.get(f"/api/v1/customers/{contact_id}", headers=staff).get_json()
    assert view["social_value"] == truth["social_value"]
    assert view["engagement_level"] == truth["engagement_level"]
    assert view["reputation"] == truth["reputation"] and view["rank"] == truth["rank"]
    login(admin)
    page = client.get(f"/crm/contacts/{contact_id}").get_data(as_text=True)
    assert f'id="stat-social">{truth["social_value"]:,.2f}<' in page
    assert f'id="stat-engagement">{truth["engagement_level"]}<' in page


def test_an_accepted_answer_updates_the_contacts_social_value_after_the_worker_runs(
    every_crm, client, staff, salesforce, make_member, make_thread, make_reply
):
    app = every_crm
    asker, hero = make_member("Asa Asker"), make_member("Hero Helper", email="hero@acme.example")
    make_reply(make_thread(author=asker), hero)  # engaged: posted, nothing accepted yet
    drain(app)
    before = builtin_contact(app, hero.id)
    assert before["engagement_level"] == "engaged" and before["social_value"] == 0.0

    thread = make_thread(author=asker, title="Can I export to Parquet?")
    accept(app, thread, make_reply(thread, hero), asker)
    with app.app_context():  # reputation's change queued a contact update, not yet sent
        assert db.session.scalar(
            select(OutboxItem.id).where(
                OutboxItem.member_id == hero.id,
                OutboxItem.kind == "contact",
                OutboxItem.status == "pending",
            )
        )
    assert builtin_contact(app, hero.id)["social_value"] == 0.0
    drain(app)
    truth = shown_to_staff(client, staff, hero.id)
    after = builtin_contact(app, hero.id)
    assert after["social_value"] == truth["social_value"] >= 10.0
    assert after["engagement_level"] == truth["engagement_level"] == "advocate"
    assert after["reputation"] == truth["reputation"] == 2 + 2 + 15  # two first replies, accepted
    [sf] = salesforce.find("Contact", Email="hero@acme.example")
    assert sf["Parley_Social_Value__c"] == truth["social_value"]
    assert sf["Parley_Engagement_Level__c"] == "advocate"


@pytest.mark.parametrize("how", ["by hand", "daily job"])
def test_sync_full_pushes_the_same_figures(
    every_crm, client, staff, runner, admin, make_member, make_thread, make_reply, make_space, how
):
    app = every_crm
    app.config["CRM"] = "builtin"
    hero, _asker = helpful_member(app, admin, make_member, make_space, make_thread, make_reply)
    with app.test_request_context():
        services.save_contact({"email": "hero@acme.example"}, by=attached(admin))
        db.session.execute(OutboxItem.__table__.delete())  # only what the sync queues
        db.session.commit()
    if how == "by hand":
        result = runner.invoke(args=["crm", "sync", "--full"])
        assert result.exit_code == 0 and "Queued 1 profile(s)" in result.output
    else:  # what the background runners do every CRM_SYNC_SECONDS
        assert background.run_once(app, {"crm-sync"}) == {"crm-sync": 1}
    truth = shown_to_staff(client, staff, hero.id)
    with app.app_context():
        [row] = db.session.scalars(select(OutboxItem).where(OutboxItem.kind == "contact"))
        data = row.payload["data"]
    assert row.member_id == hero.id
    assert data["social_value"] == truth["social_value"]
    assert data["engagement_level"] == truth["engagement_level"]
    assert (data["reputation"], data["rank"]) == (truth["reputation"], truth["rank"])
    assert data["deflected_cases"] == 1


def test_figures_for_merges_every_registered_provider(ctx, make_member):
    member = make_member()

    def extra(member_ids):
        return {m: {"answers_this_week": 3} for m in member_ids}

    member_figures.register(extra)
    member_figures.register(extra)  # apps are made many times: registered once
    try:
        assert member_figures.PROVIDERS.count(extra) == 1
        figures = member_figures.figures_for([member.id, member.id])
        assert set(figures) == {member.id}
        assert figures[member.id]["answers_this_week"] == 3
        assert figures[member.id]["engagement_level"] == "aware"  # reputation's provider
        assert figures[member.id]["reputation"] == 0
    finally:
        member_figures.PROVIDERS.remove(extra)
    assert member_figures.figures_for([]) == {}
    assert "answers_this_week" not in services.community_figures([member.id])[member.id]
