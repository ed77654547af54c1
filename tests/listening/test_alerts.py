"""Watchlist alerts, who may see an alert, and working the support queue."""

import pytest
from sqlalchemy import select

from community import events
from community import services as community
from community.errors import Conflict, NotAllowed, NotFound
from community.extensions import db
from community.models import Member, SpaceMembership, SupportCase, Thread
from moderation.listening import services
from moderation.listening.models import Alert


def member(m):
    return db.session.get(Member, m.id)


def test_a_lead_watchlist_match_alerts_its_owner_and_sends_lead_detected(
    app, make_thread, make_reply, customer, seller, make_watchlist, alerts_in_db, captured
):
    leads = captured("lead_detected")
    churn = captured("churn_signal")
    watchlist = make_watchlist(seller, ["pricing", "quote", "switch to"], kind="lead")
    thread = make_thread(author=customer, title="Prices for 200 seats?",
                         body="Could you send us a Quote for the enterprise plan?")  # fmt: skip
    [alert] = alerts_in_db(kind="lead")
    assert alert["terms"] == ["pricing", "quote"]
    assert alert["watchlist_id"] == watchlist.id
    assert alert["thread_id"] == thread.id and alert["member_id"] == customer.id
    [(sender, kwargs)] = leads
    assert isinstance(sender, Alert) and sender.id == alert["id"]
    assert kwargs["member"].id == customer.id and kwargs["thread"].id == thread.id
    assert kwargs["idea"] is None and kwargs["terms"] == ["pricing", "quote"]
    assert churn == []
    # A reply that matches raises its own alert; one that does not, none.
    make_reply(thread, customer, "Also: we may switch to annual billing.")
    make_reply(thread, customer, "Thanks!")
    assert [a["terms"] for a in alerts_in_db(kind="lead")] == [["pricing", "quote"], ["switch to"]]


def test_a_churn_watchlist_sends_churn_signal_and_ideas_match_too(
    app, make_space, customer, agent, make_watchlist, alerts_in_db, captured
):
    from ideas import services as ideas

    signals = captured("churn_signal")
    make_watchlist(agent, ["cancel", "refund"], kind="churn")
    space = make_space("ideas-space")
    with app.test_request_context():
        admin = db.session.scalar(select(Member).where(Member.handle == "ada-admin"))
        area = ideas.create_area(admin, name="Billing", slug="billing-ideas", space=space)
        idea = ideas.submit_idea(member(customer), area, "Self-service cancellation",
                                 "Let admins cancel seats without calling support.")  # fmt: skip
        idea_id = idea.id
    [alert] = alerts_in_db(kind="churn")
    assert alert["idea_id"] == idea_id and alert["thread_id"] is None
    [(_sender, kwargs)] = signals
    assert kwargs["idea"].id == idea_id and kwargs["thread"] is None
    assert kwargs["terms"] == ["cancel"]


def test_edits_match_again_but_never_repeat_an_alert(
    app, make_thread, customer, seller, make_watchlist, alerts_in_db
):
    make_watchlist(seller, ["pricing"])
    make_watchlist(seller, ["upgrade"], name="Upgrades")
    thread = make_thread(author=customer, title="Plans", body="What is the pricing?")
    with app.test_request_context():
        post = community.opening_post(db.session.get(Thread, thread.id))
        community.edit_post(post, member(customer), "What is the pricing? And can we upgrade?")
        community.edit_post(post, member(customer), "Pricing and upgrade, please.")
    assert sorted(a["terms"][0] for a in alerts_in_db()) == ["pricing", "upgrade"]


def test_staff_posts_raise_no_keyword_alerts(
    app, make_thread, agent, seller, make_watchlist, alerts_in_db
):
    make_watchlist(seller, ["pricing"])
    make_thread(author=agent, title="Pricing FAQ", body="Our pricing explained.")
    assert alerts_in_db() == []


@pytest.fixture
def private(app, make_space, make_member, customer):
    """A private space the customer and one support agent belong to; another agent does not."""
    space = make_space("advisory", visibility="private", kind="advisory")
    insider = make_member("Ines Insider Agent", roles=["support_agent"])
    outsider = make_member("Otto Outsider Agent", roles=["support_agent"])
    with app.app_context():
        for who in (customer, insider):
            db.session.add(SpaceMembership(space_id=space.id, member_id=who.id, role="member"))
        db.session.commit()
    return space, insider, outsider


def test_alerts_about_private_content_reach_only_those_who_may_read_it(
    app, private, make_thread, customer, make_watchlist, alerts_in_db
):
    space, insider, outsider = private
    make_watchlist(outsider, ["roadmap"], kind="churn")
    make_watchlist(insider, ["roadmap"], kind="churn")
    make_thread(space, customer, title="Roadmap is awful",
                body="The roadmap is a horrible, terrible disappointment.")  # fmt: skip
    kinds = sorted(a["kind"] for a in alerts_in_db())
    assert kinds == ["at_risk", "churn", "churn"]
    with app.test_request_context():
        for alert_row in alerts_in_db():
            alert = db.session.get(Alert, alert_row["id"])
            recipients = {m.id for m in services.alert_recipients(alert)}
            assert outsider.id not in recipients
            with pytest.raises(NotFound):
                services.get_alert(alert.id, member(outsider))
        listed = services.list_alerts(member(outsider), state="all")
        assert listed.total == 0
        assert services.list_alerts(member(insider), state="all").total == 2  # at-risk + own list


def test_an_alert_disappears_for_those_who_lose_access(
    app, private, make_thread, customer, alerts_in_db
):
    space, insider, _outsider = private
    make_thread(space, customer, title="Awful", body="Horrible, terrible, useless.")
    with app.test_request_context():
        assert services.list_alerts(member(insider)).total == 1
        db.session.execute(
            db.delete(SpaceMembership).where(SpaceMembership.member_id == insider.id)
        )
        db.session.commit()
        assert services.list_alerts(member(insider)).total == 0


def test_sales_see_only_their_own_lists_alerts_and_customers_none(
    app, make_thread, customer, seller, make_member, make_watchlist, agent
):
    other_seller = make_member("Sid Sales", roles=["sales"])
    make_watchlist(seller, ["pricing"])
    make_thread(author=customer, title="Pricing is horrible", body="Awful, terrible pricing.")
    with app.test_request_context():
        assert [a.kind for a in services.list_alerts(member(seller)).items] == ["lead"]
        assert services.list_alerts(member(other_seller)).total == 0
        assert [a.kind for a in services.list_alerts(member(agent)).items] == ["at_risk"]
        with pytest.raises(NotAllowed):
            services.list_alerts(member(customer))


def test_escalating_an_alert_opens_a_case_for_the_customer_and_sends_case_escalated(
    app, make_thread, customer, agent, alerts_in_db, captured
):
    escalated = captured("case_escalated")
    thread = make_thread(author=customer, title="Sync destroyed our data",
                         body="Terrible, two weeks of notes gone. We are furious.")  # fmt: skip
    [row] = alerts_in_db()
    with app.test_request_context():
        alert = db.session.get(Alert, row["id"])
        case = services.escalate_alert(alert, member(agent))
        assert case.member_id == customer.id and case.email == customer.email
        assert case.thread_id == thread.id and case.status == "pending_sync"
        assert "Sync destroyed our data" in case.subject
        assert "two weeks of notes" in case.description
        [(sender, kwargs)] = escalated
        assert sender.id == case.id
        assert kwargs["member"].id == customer.id and kwargs["thread"].id == thread.id
        with pytest.raises(Conflict):
            services.escalate_alert(db.session.get(Alert, row["id"]), member(agent))
        assert db.session.scalar(select(db.func.count(SupportCase.id))) == 1
    [row] = alerts_in_db()
    assert row["handled_action"] == "escalated" and row["handled_by_id"] == agent.id
    assert row["case_id"] == case.id


def test_only_support_agents_escalate(
    app, make_thread, customer, seller, make_watchlist, alerts_in_db
):
    make_watchlist(seller, ["refund"], kind="churn")
    make_thread(author=customer, title="Refund please", body="We want a refund.")
    [row] = alerts_in_db()
    with app.test_request_context(), pytest.raises(NotAllowed):
        services.escalate_alert(db.session.get(Alert, row["id"]), member(seller))


def test_an_agents_reply_in_the_thread_marks_its_alert_handled(
    app, make_thread, make_reply, customer, agent, make_member, alerts_in_db
):
    thread = make_thread(author=customer, title="Useless", body="Useless, broken, awful support.")
    make_reply(thread, make_member("Another Customer"), "Same here.")
    assert alerts_in_db()[0]["handled_action"] is None
    make_reply(thread, agent, "Sorry about that, I'm on it.")
    [row] = alerts_in_db()
    assert row["handled_action"] == "replied" and row["handled_by_id"] == agent.id


def test_marking_handled_records_who_and_when_once(app, make_thread, customer, agent, alerts_in_db):
    make_thread(author=customer, title="Awful", body="Horrible, terrible, useless.")
    [row] = alerts_in_db()
    with app.test_request_context():
        alert = services.handle_alert(db.session.get(Alert, row["id"]), member(agent))
        first = alert.handled_at
        assert alert.handled_by_id == agent.id and first is not None
        again = services.handle_alert(db.session.get(Alert, row["id"]), member(agent))
        assert again.handled_at == first
        report = services.listening_report(member(agent))
        assert report.handled == 1 and report.open_at_risk == 0
        assert report.median_minutes_to_handle is not None


def test_subscribers_forward_sent_alert_events_to_the_live_audience(
    app, make_thread, customer, agent, alerts_in_db, monkeypatch
):
    """conversation_at_risk may also come from elsewhere; whoever sends it, the
    audience hears about it."""
    from moderation.listening import realtime

    make_thread(author=customer, title="Awful", body="Horrible, terrible, useless.")
    sent = []
    monkeypatch.setattr(realtime, "send_alert", lambda alert: sent.append(alert.id))
    [row] = alerts_in_db()
    with app.test_request_context():
        alert = db.session.get(Alert, row["id"])
        events.conversation_at_risk.send(alert, member=alert.member, thread=alert.thread,
                                         post=alert.post, sentiment=alert.sentiment)  # fmt: skip
    assert sent == [row["id"]]


def test_a_comment_on_an_idea_raises_an_alert_about_the_idea(
    app, make_space, customer, seller, make_watchlist, alerts_in_db
):
    from ideas import services as ideas

    make_watchlist(seller, ["enterprise plan"])
    space = make_space("ideas-space")
    with app.test_request_context():
        admin = db.session.scalar(select(Member).where(Member.handle == "ada-admin"))
        area = ideas.create_area(admin, name="Reports", slug="report-ideas", space=space)
        idea = ideas.submit_idea(admin, area, "Scheduled PDF reports", "Every Monday.")
        post = community.reply(idea.thread, member(customer), "Is this in the Enterprise Plan?")
        [row] = alerts_in_db()
        alert = db.session.get(Alert, row["id"])
        assert row["post_id"] == post.id and row["idea_id"] == idea.id
        assert services.about(alert) == {
            "type": "idea", "id": idea.id, "title": "Scheduled PDF reports",
            "url": f"/ideas/{idea.id}#post-{post.id}",
        }  # fmt: skip


def test_recipients_are_notified_and_nobody_outside_the_space_is(
    app, private, make_thread, customer, agent, client, login
):
    space, insider, outsider = private
    make_thread(author=customer, title="Public rant", body="Horrible, terrible, useless.")
    make_thread(space, customer, title="Private canary-3391 rant", body="Awful, broken, useless.")
    with app.test_request_context():
        from community.models import Notification

        notes = {
            (n.member_id, n.summary)
            for n in db.session.scalars(select(Notification).where(Notification.kind == "alert"))
        }
    public = "At-risk conversation: Carla Customer in “Public rant”"
    secret = "At-risk conversation: Carla Customer in “Private canary-3391 rant”"
    assert notes == {
        (agent.id, public), (insider.id, public), (outsider.id, public), (insider.id, secret),
    }  # fmt: skip
    login(insider)
    page = client.get("/notifications").get_data(as_text=True)
    assert "canary-3391" in page and "/listening/#alert-" in page


def test_alerts_follow_threads_that_are_moved_or_merged(
    app, make_space, make_thread, customer, admin, alerts_in_db
):
    """thread_moved and threads_merged are sent by moderation; here the test moves
    the rows itself and sends the events as moderation will."""
    from sqlalchemy import update

    from community.models import Post
    from moderation.listening.models import Sentiment

    first, second = make_space("first"), make_space("second")
    angry = make_thread(first, customer, title="Awful", body="Horrible, terrible, useless.")
    keeper = make_thread(second, customer, title="Keeper", body="How do I export?")
    with app.test_request_context():
        db.session.execute(
            update(Post).where(Post.thread_id == angry.id).values(thread_id=keeper.id, number=5)
        )
        db.session.commit()
        events.threads_merged.send(
            db.session.get(Thread, angry.id), into=db.session.get(Thread, keeper.id), by=admin
        )
    [row] = alerts_in_db()
    assert row["thread_id"] == keeper.id
    with app.test_request_context():
        alert = db.session.get(Alert, row["id"])
        assert alert.space_id == second.id
        assert services.about(alert)["title"] == "Keeper"
        score = db.session.scalar(select(Sentiment).where(Sentiment.target_id == alert.post_id))
        assert score.space_id == second.id
        db.session.execute(update(Thread).where(Thread.id == keeper.id).values(space_id=first.id))
        db.session.commit()
        events.thread_moved.send(db.session.get(Thread, keeper.id), from_space=second, by=admin)
        db.session.expire_all()
        assert db.session.get(Alert, row["id"]).space_id == first.id
