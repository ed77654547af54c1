"""Serial voting and voting rings: detected, reversed by ledger rows, flagged to
moderators; normal patterns are left alone."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from community import events
from community import services as community
from community.extensions import db
from community.models import Member, utcnow
from ideas import services as ideas
from reputation import services
from reputation.models import Entry

from .conftest import attached, ledger_sum, total


def _posts(make_thread, make_reply, author, n):
    thread = make_thread(kind="discussion", title="A long discussion thread")
    return [attached(make_reply(thread, author, f"Reply number {i}")) for i in range(n)]


def test_serial_kudos_are_reversed_and_flagged(ctx, make_thread, make_reply, make_member):
    author, fan = make_member("Target Tess"), make_member("Serial Sid")
    posts = _posts(make_thread, make_reply, author, 6)
    flagged = []
    with events.voting_fraud_detected.connected_to(lambda m, **kw: flagged.append((m.id, kw))):
        for post in posts:
            community.give_kudos(post, attached(fan))
    assert total(author) == 0 == ledger_sum(author)
    assert len(flagged) == 1
    member_id, detail = flagged[0]
    assert member_id == author.id
    assert detail["voter_ids"] == [fan.id] and detail["kind"] == "serial"
    reversals = [e for e in db.session.query(Entry).filter_by(member_id=author.id) if e.reverses_id]
    assert len(reversals) == 6 and {e.cause for e in reversals} == {"voting_fraud_detected"}


def test_serial_votes_across_ideas_count_too(ctx, make_idea, make_area, make_member):
    author, fan = make_member("Ida"), make_member("Vic")
    area = make_area()
    flagged = []
    with events.voting_fraud_detected.connected_to(lambda m, **kw: flagged.append(kw["kind"])):
        for _ in range(6):
            ideas.vote(attached(make_idea(area, author)), attached(fan))
    assert flagged == ["serial"]
    assert total(author) == 0


def test_normal_generosity_is_not_flagged(ctx, make_thread, make_reply, make_member):
    """A grateful member thanks one helper for five replies today, and others too."""
    helper, other, fan = make_member("Helpful Hal"), make_member("Olga"), make_member("Fan")
    flagged = []
    with events.voting_fraud_detected.connected_to(lambda m, **kw: flagged.append(m)):
        for post in _posts(make_thread, make_reply, helper, 5):
            community.give_kudos(post, attached(fan))
        for post in _posts(make_thread, make_reply, other, 3):
            community.give_kudos(post, attached(fan))
    assert flagged == []
    assert total(helper) == 25 and total(other) == 15


def test_kudos_spread_over_days_are_not_serial(ctx, make_thread, make_reply, make_member):
    helper, fan = make_member("Hal"), make_member("Fan")
    posts = _posts(make_thread, make_reply, helper, 8)
    for post in posts[:5]:
        community.give_kudos(post, attached(fan))
    db.session.execute(update(Entry).values(created_at=utcnow() - timedelta(days=3)))
    db.session.commit()
    for post in posts[5:]:
        community.give_kudos(post, attached(fan))
    assert total(helper) == 40


def _ring(make_member, make_thread, make_reply, names):
    """New accounts that each post once and give kudos only to one another."""
    members = [make_member(name) for name in names]
    thread = make_thread(kind="discussion", title="Our little club")
    posts = {
        m.id: [attached(make_reply(thread, m, f"Post {i}")) for i in range(2)] for m in members
    }
    for giver in members:
        for receiver in members:
            if giver.id != receiver.id:
                for post in posts[receiver.id]:
                    community.give_kudos(post, attached(giver))
    return members


def test_ring_of_new_accounts_is_reversed_and_flagged(ctx, make_member, make_thread, make_reply):
    ring = _ring(make_member, make_thread, make_reply, ["Ring A", "Ring B", "Ring C"])
    assert all(total(m) == 20 for m in ring)
    flagged = []
    with events.voting_fraud_detected.connected_to(lambda m, **kw: flagged.append((m.id, kw))):
        found = services.detect_rings()
    assert [r.member_ids for r in found] == [sorted(m.id for m in ring)]
    assert all(total(m) == 0 == ledger_sum(m) for m in ring)
    assert {member_id for member_id, _ in flagged} == {m.id for m in ring}
    assert {kw["kind"] for _, kw in flagged} == {"ring"}
    assert services.detect_rings() == []  # nothing left to reverse


def test_new_members_who_also_thank_others_are_no_ring(ctx, make_member, make_thread, make_reply):
    ring = _ring(make_member, make_thread, make_reply, ["New A", "New B", "New C"])
    veteran = make_member("Vera Veteran")
    db.session.execute(
        update(Member)
        .where(Member.id == veteran.id)
        .values(created_at=utcnow() - timedelta(days=400))
    )
    db.session.commit()
    post = _posts(make_thread, make_reply, veteran, 1)[0]
    for member in ring:
        community.give_kudos(post, attached(member))
    assert services.detect_rings() == []
    assert all(total(m) == 20 for m in ring)


def test_known_customers_are_no_ring(ctx, make_member, make_thread, make_reply, admin):
    ring = _ring(make_member, make_thread, make_reply, ["Cust A", "Cust B", "Cust C"])
    for member in ring:
        community.set_customer_attributes(
            attached(member), 50_000, "enterprise", by=attached(admin)
        )
    assert services.detect_rings() == []


def test_check_fraud_command(runner, app, make_member, make_thread, make_reply):
    with app.test_request_context():
        _ring(make_member, make_thread, make_reply, ["Cli A", "Cli B", "Cli C"])
    result = runner.invoke(args=["reputation", "check-fraud"])
    assert result.exit_code == 0, result.output
    assert "1 voting ring(s) found." in result.output
