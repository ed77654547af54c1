"""The catalogue of domain events.

Services send these *after* their transaction has committed, with a real model
object as the sender. Other domains (reputation, moderation, crm_bridge, search,
real time) subscribe in their own ``subscribers.py``, connected by the app factory.
A subscriber that writes opens its own short transaction and must be idempotent.

Some reactions must share the causing transaction, so that a crash can never keep
the cause without them: a reputation ledger row, a CRM outbox row. Their writers
connect to ``recording(signal)`` instead; services call ``record(...)`` just before
they commit, and send the returned callable's after-commit event once committed::

    sent = events.record(events.kudos_given, kudos, post=post, by=by)
    db.session.commit()
    sent()

Recording receivers only add rows to the open session (no commit, no I/O, no
reads they can avoid): they cost the causing transaction a statement or two.
"""

from collections.abc import Callable

from blinker import Namespace, Signal

_events = Namespace()
_recording = Namespace()


def recording(signal: Signal) -> Signal:
    """The in-transaction twin of ``signal``, for writers that must commit with the cause."""
    return _recording.signal(signal.name)


def record(signal: Signal, sender, **kwargs) -> Callable[[], None]:
    """Let the recording writers add their rows now; returns the after-commit send."""
    recording(signal).send(sender, **kwargs)

    def send_after_commit() -> None:
        signal.send(sender, **kwargs)

    return send_after_commit


member_joined = _events.signal(
    "member_joined",
    doc="A member registered. sender: Member.",
)
member_updated = _events.signal(
    "member_updated",
    doc="A member's profile or roles changed. sender: Member; changed: set of field names; "
    "by: the Member who changed it (an admin for roles), or None.",
)
sessions_ended = _events.signal(
    "sessions_ended",
    doc="Some or all of a member's sessions were ended (sign-out, password change, "
    "suspension). sender: Member; session_key: the one session ended, or None for all.",
)
member_suspended = _events.signal(
    "member_suspended",
    doc="A member was suspended. sender: Member; until: datetime; by: Member; reason: str.",
)
space_created = _events.signal(
    "space_created",
    doc="A space was created. sender: Space; by: Member.",
)
space_updated = _events.signal(
    "space_updated",
    doc="An admin changed a space's name, description or position. sender: Space; by: Member.",
)
thread_created = _events.signal(
    "thread_created",
    doc="A thread was started, with its opening post. sender: Thread; post: the opening Post.",
)
post_created = _events.signal(
    "post_created",
    doc="A reply was added to a thread (not sent for the opening post, which "
    "thread_created covers). sender: Post; thread: Thread.",
)
post_edited = _events.signal(
    "post_edited",
    doc="A post (or a thread's opening post with its title and tags) was edited. "
    "sender: Post; by: Member; before: dict of the previous title/body/tags; reason: why "
    "a moderator edited it, or None for the author's own edit.",
)
answer_accepted = _events.signal(
    "answer_accepted",
    doc="A reply was accepted as the solution. sender: Post; thread: Thread; by: Member; "
    "replaced: the previously accepted Post or None.",
)
answer_unaccepted = _events.signal(
    "answer_unaccepted",
    doc="The accepted solution was withdrawn. sender: Post; thread: Thread; by: Member.",
)
kudos_given = _events.signal(
    "kudos_given",
    doc="A member gave kudos to a post. sender: Kudos; post: Post; by: Member.",
)
kudos_withdrawn = _events.signal(
    "kudos_withdrawn",
    doc="A member withdrew kudos. sender: Post; by: Member.",
)
notification_created = _events.signal(
    "notification_created",
    doc="A notification was stored for a member. sender: Notification.",
)
idea_submitted = _events.signal(
    "idea_submitted",
    doc="A member submitted an idea (their own vote is counted with it). sender: Idea; by: Member.",
)
idea_voted = _events.signal(
    "idea_voted",
    doc="A member voted for an idea, or changed the importance of their vote. sender: Vote; "
    "idea: Idea; by: Member; changed: True when only the importance changed.",
)
idea_unvoted = _events.signal(
    "idea_unvoted",
    doc="A member withdrew their vote. sender: Idea; by: Member.",
)
idea_status_changed = _events.signal(
    "idea_status_changed",
    doc="A product manager changed an idea's status (author, voters and followers are "
    "notified). sender: Idea; change: StatusChange (from_status, to_status, note); by: Member.",
)
idea_merged = _events.signal(
    "idea_merged",
    doc="A duplicate idea was merged into another; its votes moved over. sender: the "
    "duplicate Idea; into: the Idea kept; by: Member; moved_votes: int.",
)
idea_votes_voided = _events.signal(
    "idea_votes_voided",
    doc="A moderator voided a member's votes as fraudulent. sender: the Member whose votes "
    "were voided; by: Member; idea_ids: list of the ideas whose counts changed; reason: str.",
)
notifications_read = _events.signal(
    "notifications_read",
    doc="A member marked notifications read. sender: Member; unread: the new unread count.",
)
demo_data_seeded = _events.signal(
    "demo_data_seeded",
    doc="`flask demo-data` has created the community's demo members, spaces and threads; "
    "other domains add theirs. sender: the Flask app; members: dict name -> Member; "
    "spaces: dict slug -> Space.",
)
case_deflected = _events.signal(
    "case_deflected",
    doc="A customer confirmed in the help flow that a thread solved their problem (counted "
    "once per customer, thread and day; robots never). sender: Deflection; thread: the "
    "solution Thread; member: the Member, or None for a visitor; query: what they typed.",
)
case_escalated = _events.signal(
    "case_escalated",
    doc="A customer still needed help and opened a support case, pending CRM sync. "
    "sender: SupportCase; member: the Member, or None for a visitor; thread: the Thread "
    "they were reading, or None.",
)

# ---- moderation (sent by community.services / ideas.services on a moderator's behalf,
# or by moderation.services for its own facts) -------------------------------------
post_hidden = _events.signal(
    "post_hidden",
    doc="A post (or a thread's opening post, hiding the thread) was hidden by a moderator "
    "or automatically pending review. sender: Post; thread: Thread; by: Member, or None "
    "when automatic; reason: str.",
)
post_restored = _events.signal(
    "post_restored",
    doc="A hidden or deleted post was restored (or approved content published). "
    "sender: Post; thread: Thread; by: Member; reason: str.",
)
post_deleted = _events.signal(
    "post_deleted",
    doc="A post was soft-deleted by a moderator (kept for the audit trail). sender: Post; "
    "thread: Thread; by: Member; reason: str.",
)
thread_moved = _events.signal(
    "thread_moved",
    doc="A thread was moved to another space. sender: Thread; from_space: Space; by: Member; "
    "reason: str.",
)
threads_merged = _events.signal(
    "threads_merged",
    doc="A thread was merged into another; its replies moved over. sender: the merged-away "
    "Thread; into: the Thread kept; by: Member; reason: str.",
)
idea_hidden = _events.signal(
    "idea_hidden",
    doc="An idea was hidden by a moderator. sender: Idea; by: Member, or None when "
    "automatic; reason: str.",
)
idea_restored = _events.signal(
    "idea_restored",
    doc="A hidden idea was restored. sender: Idea; by: Member; reason: str.",
)
thread_locked = _events.signal(
    "thread_locked",
    doc="A moderator locked or unlocked a thread (locked threads refuse replies from "
    "members). sender: Thread; by: Member; locked: bool; reason: str.",
)
member_warned = _events.signal(
    "member_warned",
    doc="A moderator warned a member with a private message. sender: Member; by: Member; "
    "reason: str.",
)
content_submitted = _events.signal(
    "content_submitted",
    doc="Asked BEFORE a thread, reply or idea is written, so moderation can screen it. "
    "Receivers may raise a DomainError to refuse it, or return a reason to hold it for "
    "approval (None to let it through). sender: the author Member; kind: 'thread', "
    "'reply' or 'idea'; title: str; text: str; space: Space.",
)
content_held = _events.signal(
    "content_held",
    doc="A thread, reply or idea was stored pending approval (hidden, uncounted, "
    "unannounced). sender: Post (the opening post for a thread) or Idea; author: Member; "
    "reason: str.",
)
vote_attempted = _events.signal(
    "vote_attempted",
    doc="Asked BEFORE a vote or kudos is written; receivers may raise a DomainError (a "
    "rate limit, say) to refuse it. sender: the voting Member; kind: 'vote' or 'kudos'; "
    "target: the Idea or Post.",
)
member_banned = _events.signal(
    "member_banned",
    doc="A member was banned (cannot sign in). sender: Member; by: Member; reason: str.",
)
voting_fraud_detected = _events.signal(
    "voting_fraud_detected",
    doc="Serial voting or a voting ring was detected and its points reversed; moderators "
    "should review. sender: the Member who benefited; voter_ids: list of member ids; "
    "kind: 'serial' or 'ring'; detail: str.",
)
conversation_at_risk = _events.signal(
    "conversation_at_risk",
    doc="A strongly negative post by a customer raised an at-risk alert for support. "
    "sender: the alert; member: the author Member; thread: Thread; post: Post; "
    "sentiment: float from -1 to 1.",
)
lead_detected = _events.signal(
    "lead_detected",
    doc="A sales watchlist matched a post or idea. sender: the alert; member: the author "
    "Member; thread: Thread or None; idea: Idea or None; terms: list of matched terms.",
)
churn_signal = _events.signal(
    "churn_signal",
    doc="A churn watchlist matched a post or idea. sender: the alert; member: the author "
    "Member; thread: Thread or None; idea: Idea or None; terms: list of matched terms.",
)

# ---- reputation -----------------------------------------------------------------
reputation_changed = _events.signal(
    "reputation_changed",
    doc="A member's reputation total changed (ledger rows added). sender: Member; "
    "points: the new total; rank: the rank name; delta: the change.",
)
badge_awarded = _events.signal(
    "badge_awarded",
    doc="A member earned a badge. sender: Member; badge: the badge's key; name: its title.",
)

# ---- spaces and the advisory committee ------------------------------------------
space_member_added = _events.signal(
    "space_member_added",
    doc="A member joined a private space (for an advisory space: accepted the charter). "
    "sender: SpaceMembership; space: Space; member: Member; by: Member or None.",
)
space_member_removed = _events.signal(
    "space_member_removed",
    doc="A member left or was removed from a private space, or became alumni at the end "
    "of a term; access ends at once, open sockets included. sender: Space; member: "
    "Member; by: Member or None; reason: str.",
)

# ---- CRM bridge ----------------------------------------------------------------
crm_link_changed = _events.signal(
    "crm_link_changed",
    doc="A member was linked to a CRM contact, unlinked or relinked (the audit trail). "
    "sender: Member; contact_id: int; action: 'linked', 'unlinked' or 'relinked'; "
    "method: 'email', 'sso', 'manual' or 'import'; by: Member or None when automatic; "
    "reason: str.",
)
private_space_viewed = _events.signal(
    "private_space_viewed",
    doc="An admin who does not belong to a private space was served its content (for the "
    "audit trail). sender: Space; by: the admin Member; path: str, the request path.",
)


def catalogue():
    """Every event of the catalogue, by name (used by the docs and the architecture test)."""
    return dict(_events)
