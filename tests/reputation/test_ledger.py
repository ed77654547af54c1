"""Every point rule, its reversal, the daily cap and self-action exclusion."""

from __future__ import annotations

from sqlalchemy import event, select, update

from community import events
from community import services as community
from community.extensions import db
from ideas import services as ideas
from reputation import services
from reputation.models import Entry, Score

from .conftest import attached, ledger_sum, moderate, rows, total


def test_kudos_received_and_withdrawn(ctx, make_thread, make_reply, make_member):
    thread = make_thread(kind="discussion", title="Share your setup")
    answerer, giver = make_member("Ann Answer"), make_member("Gil Giver")
    post = attached(make_reply(thread, answerer))
    community.give_kudos(post, giver)
    assert total(answerer) == 5
    award = rows(answerer)[-1]
    assert (award.rule, award.cause, award.object_type, award.object_id) == (
        "kudos_received", "kudos_given", "post", post.id,
    )  # fmt: skip
    assert award.actor_id == giver.id and award.space_id == thread.space_id
    community.withdraw_kudos(post, giver)
    assert total(answerer) == 0
    reversal = rows(answerer)[-1]
    assert reversal.reverses_id == award.id and reversal.points == -5
    assert reversal.cause == "kudos_withdrawn"
    # Giving again after withdrawing is a new award, withdrawn again a new reversal.
    community.give_kudos(post, giver)
    community.withdraw_kudos(post, giver)
    assert total(answerer) == 0 == ledger_sum(answerer)
    assert len(rows(answerer)) == 4


def test_accepted_answer_rewards_answerer_and_asker_and_unaccepting_reverses(
    ctx, make_thread, make_reply, make_member
):
    asker, first, second = make_member("Asa Asker"), make_member("Fay First"), make_member("Sol")
    thread = make_thread(author=asker)
    one = attached(make_reply(thread, first))
    two = attached(make_reply(thread, second))
    asker, first, second = attached(asker), attached(first), attached(second)
    assert total(first) == 2  # the first reply to an unanswered question
    community.accept_answer(one, asker)
    assert total(first) == 2 + 15 and total(asker) == 2
    # Accepting another answer moves the 15, and the asker keeps one +2.
    community.accept_answer(two, asker)
    assert total(first) == 2 and total(second) == 15 and total(asker) == 2
    community.unaccept_answer(two, asker)
    assert total(second) == 0 and total(asker) == 0
    assert all(ledger_sum(m) == total(m) for m in (asker, first, second))


def test_moderator_accepting_gives_the_asker_nothing(ctx, make_thread, make_reply, make_member):
    moderator = make_member("Mo Mod", roles=["moderator"])
    asker, answerer = make_member("Asa"), make_member("Ann")
    thread = make_thread(author=asker)
    post = attached(make_reply(thread, answerer))
    community.accept_answer(post, attached(moderator))
    assert total(answerer) == 2 + 15
    assert total(asker) == 0 and total(moderator) == 0


def test_no_points_for_own_content(ctx, make_thread, make_reply, make_member, make_idea):
    asker = make_member("Solo Sam")
    thread = make_thread(author=asker)
    own_reply = attached(make_reply(thread, asker))
    community.accept_answer(own_reply, attached(asker))
    assert total(asker) == 0  # no first-reply, accepted or accepting points
    idea = make_idea(author=asker)
    assert attached(idea).vote_count == 1  # the author's own vote counts, for nothing
    assert total(asker) == 0
    assert rows(asker) == []


def test_first_reply_only_on_questions_and_only_the_first(
    ctx, make_thread, make_reply, make_member
):
    talker, late = make_member("Tal"), make_member("Lat")
    discussion = make_thread(kind="discussion", title="Share your favourite tips")
    make_reply(discussion, talker)
    assert total(talker) == 0
    question = make_thread()
    make_reply(question, talker)
    make_reply(question, late)
    assert total(talker) == 2 and total(late) == 0


def test_idea_votes_unvotes_importance_and_voiding(ctx, make_idea, make_member):
    author, fan, moderator = (
        make_member("Ida"),
        make_member("Fan"),
        make_member(roles=["moderator"]),
    )
    idea = attached(make_idea(author=author))
    ideas.vote(idea, attached(fan))
    assert total(author) == 2
    ideas.vote(idea, attached(fan), "critical")  # only the importance changes
    assert total(author) == 2
    ideas.unvote(idea, attached(fan))
    assert total(author) == 0
    ideas.vote(idea, attached(fan))
    assert total(author) == 2
    ideas.void_votes(attached(fan), attached(moderator), "sock puppet")
    assert total(author) == 0
    assert rows(author)[-1].cause == "idea_votes_voided"


def test_idea_delivered_and_moved_away(ctx, make_idea, make_member):
    author, pm = make_member("Ida"), make_member("Pia", roles=["product_manager"])
    idea = attached(make_idea(author=author))
    ideas.change_status(idea, "delivered", "Shipped in 5.2.", attached(pm))
    assert total(author) == 50
    ideas.change_status(idea, "in_progress", "Rolled back.", attached(pm))
    assert total(author) == 0
    ideas.change_status(idea, "delivered", "Shipped again.", attached(pm))
    assert total(author) == 50


def test_delivering_your_own_idea_earns_nothing(ctx, make_idea, make_member):
    pm = make_member("Pia", roles=["product_manager"])
    idea = attached(make_idea(author=pm))
    ideas.change_status(idea, "delivered", "I shipped my own idea.", attached(pm))
    assert total(pm) == 0


def test_hidden_post_loses_everything_it_earned_and_restoring_gives_it_back(
    ctx, make_thread, make_reply, make_member
):
    asker, answerer = make_member("Asa"), make_member("Ann")
    moderator, giver = make_member("Mo", roles=["moderator"]), make_member("Gil")
    thread = make_thread(author=asker)
    post = attached(make_reply(thread, answerer))
    community.give_kudos(post, attached(giver))
    community.accept_answer(post, attached(asker))
    assert total(answerer) == 2 + 5 + 15
    post.is_hidden = True
    moderate(events.post_hidden, post, thread=post.thread, by=attached(moderator), reason="spam")
    assert total(answerer) == 0
    assert total(asker) == 2  # the asker did nothing wrong
    post.is_hidden = False
    moderate(events.post_restored, post, thread=post.thread, by=attached(moderator))
    assert total(answerer) == 22
    # Hidden again, then deleted: nothing is taken twice.
    moderate(events.post_hidden, post, thread=post.thread, by=attached(moderator), reason="x")
    moderate(events.post_deleted, post, thread=post.thread, by=attached(moderator), reason="x")
    assert total(answerer) == 0 == ledger_sum(answerer)


def test_kudos_withdrawn_while_hidden_is_not_given_back_on_restore(
    ctx, make_thread, make_reply, make_member
):
    answerer, giver, moderator = (
        make_member("Ann"),
        make_member("Gil"),
        make_member(roles=["moderator"]),
    )
    thread = make_thread(kind="discussion", title="Tips and tricks thread")
    post = attached(make_reply(thread, answerer))
    community.give_kudos(post, attached(giver))
    moderate(events.post_hidden, post, thread=post.thread, by=attached(moderator), reason="x")
    community.withdraw_kudos(post, attached(giver))
    moderate(events.post_restored, post, thread=post.thread, by=attached(moderator))
    assert total(answerer) == 0 == ledger_sum(answerer)


def test_hidden_idea_loses_its_votes_and_delivery_until_restored(ctx, make_idea, make_member):
    author, fan = make_member("Ida"), make_member("Fan")
    pm, moderator = make_member(roles=["product_manager"]), make_member(roles=["moderator"])
    idea = attached(make_idea(author=author))
    ideas.vote(idea, attached(fan))
    ideas.change_status(idea, "delivered", "Done.", attached(pm))
    assert total(author) == 52
    moderate(events.idea_hidden, idea, by=attached(moderator), reason="off topic")
    assert total(author) == 0
    moderate(events.idea_restored, idea, by=attached(moderator))
    assert total(author) == 52


def test_daily_cap_on_kudos_and_votes(app, ctx, make_thread, make_reply, make_member, make_idea):
    app.config["REPUTATION_DAILY_CAP"] = 12
    author = make_member("Popular Pat")
    thread = make_thread(kind="discussion", title="A much loved thread")
    post = attached(make_reply(thread, author))
    givers = [make_member(f"Giver {i}") for i in range(3)]
    for giver in givers:
        community.give_kudos(post, attached(giver))
    assert [e.points for e in rows(author)] == [5, 5, 2]
    idea = attached(make_idea(author=author))
    ideas.vote(idea, attached(givers[0]))
    assert rows(author)[-1].points == 0  # recorded, capped
    assert total(author) == 12
    # Accepted answers are not capped.
    question = make_thread(author=givers[1])
    answer = attached(make_reply(question, author))
    community.accept_answer(answer, attached(givers[1]))
    assert total(author) == 12 + 2 + 15
    # Tomorrow the cap starts again.
    db.session.execute(update(Score).values(day="2000-01-01"))
    db.session.commit()
    ideas.vote(idea, attached(givers[1]))
    assert rows(author)[-1].points == 2


def test_withdrawing_a_capped_kudos_takes_nothing(app, ctx, make_thread, make_reply, make_member):
    app.config["REPUTATION_DAILY_CAP"] = 5
    author, one, two = make_member("Pat"), make_member("One"), make_member("Two")
    post = attached(make_reply(make_thread(kind="discussion", title="Another thread"), author))
    community.give_kudos(post, attached(one))
    community.give_kudos(post, attached(two))
    community.withdraw_kudos(post, attached(two))
    assert total(author) == 5 == ledger_sum(author)


def test_point_values_come_from_the_config(app, ctx, make_thread, make_reply, make_member):
    app.config["REPUTATION_POINTS"] = {"kudos_received": 7}
    author, giver = make_member("Pat"), make_member("Gil")
    post = attached(make_reply(make_thread(kind="discussion", title="Configurable"), author))
    community.give_kudos(post, attached(giver))
    assert total(author) == 7


def test_an_award_costs_the_causing_transaction_two_statements(
    ctx, make_thread, make_reply, make_member
):
    author, giver = make_member("Pat"), make_member("Gil")
    post = attached(make_reply(make_thread(kind="discussion", title="Counting SQL"), author))
    from community.models import Kudos

    kudos = Kudos(post_id=post.id, member_id=giver.id)
    db.session.add(kudos)
    db.session.flush()
    assert post.thread is not None  # loaded, as give_kudos has it
    statements = []

    def count(*args, **kwargs):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        events.recording(events.kudos_given).send(kudos, post=post, by=attached(giver))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # Other domains record in the same transaction too (the CRM outbox): count ours.
    ours = [sql for sql in statements if "reputation_" in sql]
    assert len(ours) == 2, statements
    db.session.rollback()
    assert total(author) == 0
    assert db.session.info.get(services.PENDING) is None  # a rollback changed nobody


def test_reputation_changed_is_sent_after_commit(ctx, make_thread, make_reply, make_member):
    author, giver = make_member("Pat"), make_member("Gil")
    post = attached(make_reply(make_thread(kind="discussion", title="Events"), author))
    seen = []

    def listener(member, **kwargs):
        seen.append((member.id, kwargs, db.session.scalar(select(Entry.id).limit(1))))

    with events.reputation_changed.connected_to(listener):
        community.give_kudos(post, attached(giver))
    assert len(seen) == 1
    member_id, kwargs, committed_row = seen[0]
    assert member_id == author.id and committed_row is not None
    assert kwargs == {"points": 5, "rank": "Newcomer", "delta": 5}


def test_ranks_follow_points(app, ctx, make_thread, make_reply, make_member):
    app.config["REPUTATION_RANKS"] = [(0, "Seed"), (5, "Sprout"), (100, "Tree")]
    author, giver = make_member("Pat"), make_member("Gil")
    post = attached(make_reply(make_thread(kind="discussion", title="Ranks"), author))
    community.give_kudos(post, attached(giver))
    rep = services.member_reputation(attached(author), attached(author))
    assert rep["rank"] == "Sprout" and rep["next_rank"] == {"name": "Tree", "points": 100}
