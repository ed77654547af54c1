"""The outbox: rows written with their cause (one statement), delivered to the
built-in CRM in order, coalesced, retried, dead-lettered and replayed."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from community import events
from community import services as community
from community.extensions import db
from community.models import Member, Post, utcnow
from crm_bridge import outbox
from crm_bridge.connectors.base import ContactRef, Delivery
from crm_bridge.connectors.builtin import BuiltinConnector
from crm_bridge.models import Account, Activity, Contact, OutboxItem
from ideas import services as ideas

from .conftest import drain


def rows(**where):
    query = select(OutboxItem).order_by(OutboxItem.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxItem, name) == value)
    return list(db.session.scalars(query))


@contextmanager
def statements():
    """The statements of the causing transaction: those before its commit (the
    after-commit receivers, reputation's change among them, have their own)."""
    seen: list[str] = []
    committed: list[bool] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not committed:
            seen.append(statement)

    def commit(conn):
        committed.append(True)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "commit", commit)


def _kudos_statements(app, make_thread, make_reply, make_member, crm: str) -> list[str]:
    app.config["CRM"] = crm
    thread = make_thread()
    post = make_reply(thread)
    giver = make_member()
    with app.test_request_context():
        post = db.session.get(Post, post.id)
        giver = db.session.get(Member, giver.id)
        _ = post.thread, post.author  # what the view has loaded before calling the service
        with statements() as seen:
            community.give_kudos(post, giver)
        return seen


def test_writing_the_outbox_row_adds_at_most_one_statement(
    app, make_thread, make_reply, make_member
):
    without = _kudos_statements(app, make_thread, make_reply, make_member, "none")
    with_one = _kudos_statements(app, make_thread, make_reply, make_member, "builtin")
    with_two = _kudos_statements(app, make_thread, make_reply, make_member, "builtin,webhook")
    extra = [s for s in with_one if "crm_outbox" in s]
    assert len(extra) == 1 and extra[0].lstrip().upper().startswith("INSERT")
    assert len(with_one) - len(without) <= 1
    assert len(with_two) - len(without) <= 1  # one row per connector, still one INSERT
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.kind == "activity", OutboxItem.connector == "webhook")
            )
            >= 1
        )


def test_contributions_reach_the_outbox_with_their_cause(ctx, make_thread, make_reply, make_member):
    asker, helper = make_member("Asker One"), make_member("Helper Two")
    thread = make_thread(author=asker, title="How do I rotate API keys?")
    reply = make_reply(thread, author=helper)
    community.accept_answer(db.session.get(Post, reply.id), db.session.get(Member, asker.id))
    community.give_kudos(db.session.get(Post, reply.id), db.session.get(Member, asker.id))
    types = [(r.member_id, r.payload["data"]["type"]) for r in rows(kind="activity")]
    assert (asker.id, "question_asked") in types
    assert (helper.id, "answer_posted") in types
    assert (helper.id, "answer_accepted") in types
    assert (helper.id, "kudos_received") in types
    first = rows(kind="activity")[0]
    assert first.status == "pending" and first.connector == "builtin"
    assert first.payload["data"]["url"].endswith(f"/t/{thread.id}")


def test_a_rolled_back_cause_leaves_no_outbox_row(ctx, make_member):
    member = db.session.get(Member, make_member().id)
    before = len(rows())
    events.recording(events.lead_detected).send(
        object(), member=member, thread=None, idea=None, terms=["pricing"]
    )
    assert len(rows()) > before  # written in the open transaction...
    db.session.rollback()  # ...and gone with it
    assert len(rows()) == before


def test_signals_sent_by_other_domains_are_carried(ctx, make_member, make_space, make_thread):
    member = db.session.get(Member, make_member().id)
    thread = make_thread(author=member)
    events.record(
        events.lead_detected,
        object(),
        member=member,
        thread=thread,
        idea=None,
        terms=["pricing", "enterprise plan"],
    )
    events.record(
        events.churn_signal, object(), member=member, thread=thread, idea=None, terms=["cancel"]
    )
    advisory = make_space("advisors", kind="advisory", visibility="private")
    events.record(events.space_member_added, object(), space=advisory, member=member, by=None)
    db.session.commit()
    # reputation sends its change after its own commit: the bridge queues it then
    events.reputation_changed.send(member, points=120, rank="Expert", delta=20)
    kinds = {(r.kind, (r.payload["data"] or {}).get("type")) for r in rows(member_id=member.id)}
    assert ("contact", None) in kinds
    assert ("lead", "lead_detected") in kinds
    assert ("task", "churn_signal") in kinds
    assert ("activity", "advisory_joined") in kinds
    contact = rows(kind="contact", member_id=member.id)[0]
    assert contact.payload["data"] == {"reputation": 120, "rank": "Expert"}


def test_the_built_in_crm_receives_everything_and_links_by_email(app, make_thread, make_member):
    member = make_member("Casey Customer")
    make_thread(author=member, title="Where do I find invoices?")
    result = drain(app)
    assert result.delivered >= 1 and result.dead == 0
    with app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.email_key == member.email))
        assert contact is not None and contact.link.member_id == member.id
        titles = [
            a.title
            for a in db.session.scalars(select(Activity).where(Activity.contact_id == contact.id))
        ]
        assert "Where do I find invoices?" in titles
        assert all(r.status == "delivered" and r.delivered_at for r in rows())


def test_a_burst_of_contact_updates_becomes_one_delivery(app, make_member):
    member = make_member()
    with app.test_request_context():
        m = db.session.get(Member, member.id)
        for points in (10, 20, 30, 40, 55):
            sent = events.record(
                events.reputation_changed, m, points=points, rank="Rising", delta=10
            )
            db.session.commit()
            sent()
    drain(app)
    with app.app_context():
        deliveries = list(db.session.scalars(select(Activity).where(Activity.kind == "contact")))
        assert len(deliveries) == 1
        contact = db.session.get(Contact, deliveries[0].contact_id)
        assert contact.community["reputation"] == 55
        assert contact.community["engagement_level"] == "aware"  # reputation's levels
        assert contact.community["social_value"] == 0.0
        assert all(r.status == "delivered" for r in rows(kind="contact"))


def test_replaying_a_delivery_changes_nothing_in_the_built_in_crm(ctx):
    delivery = Delivery(
        id="11111111-2222-3333-4444-555555555555",
        kind="activity",
        contact=ContactRef(None, "pat@example.com"),
        data={"type": "question_asked", "title": "Hello"},
        occurred_at=utcnow(),
    )
    connector = BuiltinConnector()
    first = connector.deliver([delivery])
    again = connector.deliver([delivery, delivery])
    db.session.commit()
    assert first[0].status == "delivered" and {o.status for o in again} == {"delivered"}
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 1
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


def test_an_idea_status_change_reaches_every_account_whose_members_voted(
    app, admin, make_space, make_member
):
    acme = [make_member(f"Acme {n}", email=f"user{n}@acme.example") for n in range(2)]
    globex = make_member("Globex One", email="one@globex.example")
    loner = make_member("No Account")
    with app.test_request_context():
        boss = db.session.get(Member, admin.id)
        for member, account, value in [
            (acme[0], "Acme", 100),
            (acme[1], "Acme", 50),
            (globex, "Globex", 30),
        ]:
            community.set_customer_attributes(
                db.session.get(Member, member.id),
                value,
                "enterprise",
                by=boss,
                account_name=account,
            )
        space = make_space("product")
        area = ideas.create_area(boss, name="Product", slug="product-ideas", space=space)
        idea = ideas.submit_idea(
            db.session.get(Member, acme[0].id), area, "Dark mode please", "For night shifts.", []
        )
        for voter in (acme[1], globex, loner):
            ideas.vote(idea, db.session.get(Member, voter.id))
        ideas.change_status(idea, "planned", "Next quarter.", by=boss)
    drain(app)
    with app.app_context():
        notes = {
            db.session.get(Account, a.account_id).name: a.data
            for a in db.session.scalars(select(Activity).where(Activity.kind == "account_activity"))
        }
    assert set(notes) == {"Acme", "Globex"}
    assert notes["Acme"]["voters"] == 2 and notes["Acme"]["status"] == "planned"
    assert notes["Acme"]["value_at_vote"] == "150.00"
    assert "now planned" in notes["Globex"]["title"].lower()


def test_failures_back_off_then_go_to_dead_letters_and_replay(webhook_app, receiver, make_member):
    app = webhook_app
    app.config["CRM_MAX_ATTEMPTS"] = 3
    member = make_member()
    with app.test_request_context():
        outbox.enqueue(
            "activity",
            {"type": "question_asked", "title": "x"},
            member=db.session.get(Member, member.id),
        )
        db.session.commit()
    receiver.down = True
    result = drain(app)
    assert result.dead == 1 and result.retried == 2
    with app.app_context():
        dead = rows(status="dead")
        assert len(dead) == 1 and dead[0].attempts == 3 and "HTTP 503" in dead[0].last_error
        assert outbox.replay_dead() == 1
    receiver.down = False
    drain(app)
    with app.app_context():
        assert [r.status for r in rows()] == ["delivered"]
    assert len(receiver.events) == 1


def test_retries_wait_with_exponential_backoff_and_jitter(app):
    app.config.update(CRM_BACKOFF_SECONDS=10.0, CRM_BACKOFF_MAX_SECONDS=1000.0)
    with app.app_context():
        delays = [outbox.backoff(n) for n in (1, 2, 3, 4) for _ in range(20)]
        firsts, fourths = delays[:20], delays[60:]
        assert all(5 <= d <= 10 for d in firsts) and all(40 <= d <= 80 for d in fourths)
        assert len(set(firsts)) > 1  # jitter: not all at once
        assert outbox.backoff(30) <= 1000
        assert outbox.backoff(1, retry_after=120) == 120


def test_a_waiting_row_holds_back_the_contacts_later_rows(app, make_member):
    first, other = make_member(), make_member()
    with app.test_request_context():
        for member in (first, first, other):
            outbox.enqueue(
                "activity", {"type": "t", "title": "x"}, member=db.session.get(Member, member.id)
            )
        db.session.commit()
        head = rows()[0]
        head.next_attempt_at = utcnow() + timedelta(hours=1)  # backing off
        db.session.commit()
    drain(app, passes=3)
    with app.app_context():
        statuses = [(r.member_id, r.status) for r in rows()]
    assert statuses == [(first.id, "pending"), (first.id, "pending"), (other.id, "delivered")]


@pytest.mark.parametrize("crm", ["none", ""])
def test_an_empty_crm_setting_turns_the_bridge_off(app, make_thread, crm):
    app.config["CRM"] = crm
    make_thread()
    with app.app_context():
        assert rows() == []
