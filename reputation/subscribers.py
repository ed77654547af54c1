"""Events -> ledger rows. Recording receivers run inside the transaction of the
change that caused them and only add rows (see reputation/services.py); the
after-commit receivers check badges, send reputation_changed and look for
serial voting. Nobody earns points for acting on their own content."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from community import events, member_figures

from . import services


def _space_of_post(post) -> int | None:
    return post.thread.space_id


def _space_of_idea(idea) -> int | None:
    return idea.area.space_id


# ---- in the causing transaction ------------------------------------------------


def kudos_given(kudos, post, by, **_):
    if post.author_id != by.id:
        services.award(
            post.author_id, "kudos_received", cause="kudos_given", obj=("post", post.id),
            space_id=_space_of_post(post), by_id=by.id,
        )  # fmt: skip


def kudos_withdrawn(post, by, **_):
    services.undo("kudos_withdrawn", obj=("post", post.id), rules_=["kudos_received"], by_id=by.id)


def answer_accepted(post, thread, by, **_):
    if post.author_id == thread.author_id:
        return  # answering your own question earns nothing
    space_id = thread.space_id
    if post.author_id != by.id:
        services.award(
            post.author_id, "answer_accepted", cause="answer_accepted", obj=("post", post.id),
            space_id=space_id, by_id=by.id,
        )  # fmt: skip
    if by.id == thread.author_id:
        services.award(
            thread.author_id, "accepted_an_answer", cause="answer_accepted",
            obj=("post", post.id), space_id=space_id, by_id=by.id,
        )  # fmt: skip


def answer_unaccepted(post, thread, by, **_):
    services.undo(
        "answer_unaccepted", obj=("post", post.id), rules_=["answer_accepted", "accepted_an_answer"]
    )


def post_created(post, thread, **_):
    """The first reply to someone else's question."""
    if thread.kind == "question" and post.number == 1 and post.author_id != thread.author_id:
        services.award(
            post.author_id, "first_reply", cause="post_created", obj=("post", post.id),
            space_id=thread.space_id, by_id=post.author_id,
        )  # fmt: skip


def post_hidden(post, **_):
    services.undo("post_hidden", obj=("post", post.id), member_id=post.author_id)


def post_deleted(post, **_):
    services.undo("post_deleted", obj=("post", post.id), member_id=post.author_id)


def post_restored(post, **_):
    services.restore("post_restored", obj=("post", post.id), member_id=post.author_id)


def idea_voted(vote, idea, by, changed=False, **_):
    if not changed and idea.author_id != by.id:
        services.award(
            idea.author_id, "idea_vote_received", cause="idea_voted", obj=("idea", idea.id),
            space_id=_space_of_idea(idea), by_id=by.id,
        )  # fmt: skip


def idea_unvoted(idea, by, **_):
    services.undo("idea_unvoted", obj=("idea", idea.id), rules_=["idea_vote_received"], by_id=by.id)


def idea_votes_voided(member, idea_ids=(), **_):
    if idea_ids:
        services.undo(
            "idea_votes_voided", obj=("idea", list(idea_ids)), rules_=["idea_vote_received"],
            by_id=member.id,
        )  # fmt: skip


def idea_status_changed(idea, change, by, **_):
    if change.to_status == "delivered" and change.from_status != "delivered":
        if idea.author_id != by.id:
            services.award(
                idea.author_id, "idea_delivered", cause="idea_status_changed",
                obj=("idea", idea.id), space_id=_space_of_idea(idea), by_id=by.id,
            )  # fmt: skip
    elif change.from_status == "delivered" and change.to_status != "delivered":
        services.undo("idea_status_changed", obj=("idea", idea.id), rules_=["idea_delivered"])


def idea_hidden(idea, **_):
    services.undo("idea_hidden", obj=("idea", idea.id), member_id=idea.author_id)


def idea_restored(idea, **_):
    services.restore("idea_restored", obj=("idea", idea.id), member_id=idea.author_id)


def thread_moved(thread, **_):
    """Rows about the thread's posts follow it to its new space (which may be private)."""
    services.move_post_entries(thread.id, thread.space_id)


def threads_merged(merged, into, **_):
    services.move_post_entries(into.id, into.space_id)


RECORDING = {
    events.thread_moved: thread_moved,
    events.threads_merged: threads_merged,
    events.kudos_given: kudos_given,
    events.kudos_withdrawn: kudos_withdrawn,
    events.answer_accepted: answer_accepted,
    events.answer_unaccepted: answer_unaccepted,
    events.post_created: post_created,
    events.post_hidden: post_hidden,
    events.post_deleted: post_deleted,
    events.post_restored: post_restored,
    events.idea_voted: idea_voted,
    events.idea_unvoted: idea_unvoted,
    events.idea_votes_voided: idea_votes_voided,
    events.idea_status_changed: idea_status_changed,
    events.idea_hidden: idea_hidden,
    events.idea_restored: idea_restored,
}


# ---- after commit ----------------------------------------------------------------


def settle(_sender, **_):
    services.settle_changes()


def after_kudos(kudos, post, by, **_):
    services.settle_changes()
    if post.author_id != by.id:
        services.check_serial_voting(post.author_id, by.id)


def after_vote(vote, idea, by, changed=False, **_):
    services.settle_changes()
    if not changed and idea.author_id != by.id:
        services.check_serial_voting(idea.author_id, by.id)


def after_post(post, thread, **_):
    services.settle_changes()
    services.check_post_badges(post, thread)


def after_thread(thread, post, **_):
    services.check_post_badges(post, thread)


def space_member_added(membership, space, member, **_):
    services.advisory_joined(member, space)


def space_member_removed(space, member, reason="", **_):
    services.advisory_left(member, space, reason)


AFTER_COMMIT = {
    events.kudos_given: after_kudos,
    events.idea_voted: after_vote,
    events.post_created: after_post,
    events.thread_created: after_thread,
    events.space_member_added: space_member_added,
    events.space_member_removed: space_member_removed,
}


def connect_subscribers() -> None:
    member_figures.register(services.member_figures)
    for signal, receiver in RECORDING.items():
        events.recording(signal).connect(receiver)
        if signal not in AFTER_COMMIT and signal not in (
            events.thread_moved,
            events.threads_merged,
        ):
            signal.connect(settle)
    for signal, receiver in AFTER_COMMIT.items():
        signal.connect(receiver)
    if not event.contains(Session, "after_rollback", services.forget_pending):
        event.listen(Session, "after_rollback", services.forget_pending)
