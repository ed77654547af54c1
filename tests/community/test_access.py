"""The one access policy: private spaces and hidden content never leak.

A private advisory space "board" with one member (plus its admin host) sits
beside a public space; visitors, outsiders, members and admins ask for things
through every service that lists, counts or fetches them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from community import access, services
from community.errors import Invalid, NotAllowed, NotFound
from community.extensions import db
from community.models import Member, Post, Space, SpaceMembership, Thread


@pytest.fixture(autouse=True)
def _in_request(ctx):
    """Set up the request context before any factory runs (objects stay attached)."""


@dataclass
class World:
    admin: Member
    insider: Member
    outsider: Member
    moderator: Member
    public: Space
    board: Space
    public_thread: Thread
    secret: Thread
    secret_reply: Post


@pytest.fixture
def world(admin, make_member, make_space, make_thread, make_reply) -> World:
    insider = make_member("Ines Insider")
    outsider = make_member("Otto Outsider")
    moderator = make_member("Mo Moderator", roles=["moderator"])
    public = make_space("general")
    board = make_space("board", kind="advisory", visibility="private")
    db.session.add(SpaceMembership(space_id=board.id, member_id=insider.id, role="member"))
    db.session.commit()
    public_thread = make_thread(public, insider, title="Public question")
    secret = make_thread(board, insider, title="Roadmap for next year", kind="discussion")
    secret_reply = make_reply(secret, admin, "Confidential numbers")
    return World(
        admin=admin,
        insider=insider,
        outsider=outsider,
        moderator=moderator,
        public=public,
        board=board,
        public_thread=public_thread,
        secret=secret,
        secret_reply=secret_reply,
    )


VISITORS = ("none", "anonymous")
KEPT_OUT = ("none", "anonymous", "outsider", "moderator")
LET_IN = ("insider", "admin")


def who(world: World, name: str):
    """A viewer by name; both kinds of visitor the services may be given."""
    if name == "none":
        return None
    if name == "anonymous":
        return AnonymousUserMixin()
    return getattr(world, name)


def thread_ids(viewer, **kwargs) -> set[int]:
    return {t.id for t in services.list_threads(viewer, per_page=100, **kwargs).items}


# ---- private spaces --------------------------------------------------------------------------


@pytest.mark.parametrize("name", KEPT_OUT)
def test_private_space_is_not_found_for_those_kept_out(world, name):
    viewer = who(world, name)
    with pytest.raises(NotFound):
        services.get_space("board", viewer)
    with pytest.raises(NotFound):
        services.get_thread(world.secret.id, viewer)
    with pytest.raises(NotFound):
        services.get_post(world.secret_reply.id, viewer)
    with pytest.raises(NotFound):
        services.get_post(services.opening_post(world.secret).id, viewer)
    assert not access.can_view_space(viewer, world.board)
    assert not access.can_view_thread(viewer, world.secret)
    assert not access.can_post_in(viewer, world.board)
    # The public space is there for everyone.
    assert services.get_space("general", viewer) == world.public
    assert services.get_thread(world.public_thread.id, viewer) == world.public_thread


@pytest.mark.parametrize("name", LET_IN)
def test_private_space_is_open_to_its_members_and_admins(world, name):
    viewer = who(world, name)
    assert services.get_space("board", viewer) == world.board
    assert services.get_thread(world.secret.id, viewer) == world.secret
    assert services.get_post(world.secret_reply.id, viewer) == world.secret_reply
    assert access.can_post_in(viewer, world.board)


@pytest.mark.parametrize("name", KEPT_OUT)
def test_private_threads_never_appear_in_lists(world, name):
    viewer = who(world, name)
    for sort in ("latest", "new", "unanswered", "solved"):
        assert world.secret.id not in thread_ids(viewer, sort=sort)
    assert thread_ids(viewer) == {world.public_thread.id}
    assert thread_ids(viewer, space=world.board) == set()
    assert services.list_threads(viewer, space=world.board).total == 0


@pytest.mark.parametrize("name", LET_IN)
def test_private_threads_appear_for_those_let_in(world, name):
    viewer = who(world, name)
    assert thread_ids(viewer) == {world.public_thread.id, world.secret.id}
    assert thread_ids(viewer, space=world.board) == {world.secret.id}


@pytest.mark.parametrize("name", KEPT_OUT)
def test_space_lists_and_counts_leave_the_private_space_out(world, name):
    viewer = who(world, name)
    summaries = services.space_summaries(viewer)
    assert [s.space.slug for s in summaries] == ["general"]
    (general,) = summaries
    assert (general.thread_count, general.post_count) == (1, 1)
    assert [s.slug for s in services.list_spaces(viewer)] == ["general"]


@pytest.mark.parametrize("name", LET_IN)
def test_space_summaries_count_the_private_space_for_those_let_in(world, name):
    summaries = {s.space.slug: s for s in services.space_summaries(who(world, name))}
    assert set(summaries) == {"general", "board"}
    assert (summaries["board"].thread_count, summaries["board"].post_count) == (1, 2)
    assert summaries["board"].last_activity == world.secret_reply.created_at


@pytest.mark.parametrize("name", KEPT_OUT)
def test_profiles_show_no_private_activity(world, make_reply, name):
    make_reply(world.public_thread, world.admin, "Public answer")
    viewer = who(world, name)

    insider = services.member_activity(world.insider, viewer)
    assert (insider.thread_count, insider.answer_count) == (1, 0)
    assert [t.id for t in insider.threads] == [world.public_thread.id]

    admin = services.member_activity(world.admin, viewer)
    assert admin.answer_count == 1
    assert [p.thread_id for p in admin.answers] == [world.public_thread.id]


@pytest.mark.parametrize("name", LET_IN)
def test_profiles_show_private_activity_to_those_let_in(world, name):
    viewer = who(world, name)
    assert services.member_activity(world.insider, viewer).thread_count == 2
    assert services.member_activity(world.admin, viewer).answer_count == 1


@pytest.mark.parametrize("name", ("outsider", "moderator"))
def test_outsiders_cannot_act_in_a_private_space(world, name):
    member = who(world, name)
    attempts = [
        lambda: services.create_thread(world.board, member, "question", "Let me in", "Hi"),
        lambda: services.reply(world.secret, member, "Hello?"),
        lambda: services.give_kudos(world.secret_reply, member),
        lambda: services.withdraw_kudos(world.secret_reply, member),
        lambda: services.follow_thread(world.secret, member),
        lambda: services.follow_space(world.board, member),
        lambda: services.edit_post(world.secret_reply, member, "Defaced"),
        lambda: services.accept_answer(world.secret_reply, member),
    ]
    for attempt in attempts:
        # "Not found", never "forbidden": the space's existence does not leak.
        with pytest.raises(NotFound):
            attempt()
    db.session.rollback()
    assert world.secret.reply_count == 1
    assert world.secret_reply.kudos_count == 0


def test_members_of_the_space_take_part(world):
    post = services.reply(world.secret, world.insider, "Agreed")
    services.give_kudos(world.secret_reply, world.insider)
    assert post.number == 2
    assert world.secret_reply.kudos_count == 1


def test_notifications_about_a_private_space_reach_only_its_members(world):
    services.follow_thread(world.public_thread, world.outsider)
    services.reply(
        world.secret,
        world.insider,
        f"@{world.outsider.handle} @{world.moderator.handle} @{world.admin.handle} look",
    )

    for name in ("outsider", "moderator"):
        member = who(world, name)
        assert services.unread_count(member) == 0
        assert services.list_notifications(member).total == 0
    admin_notes = services.list_notifications(world.admin).items
    assert {n.kind for n in admin_notes} == {"mention"}


def test_leaving_a_private_space_hides_its_notifications(world):
    services.reply(world.secret, world.admin, f"Over to you, @{world.insider.handle}")
    # The insider follows their own thread: the admin's first reply, then a mention.
    assert services.unread_count(world.insider) == 2
    db.session.execute(
        SpaceMembership.__table__.delete().where(SpaceMembership.member_id == world.insider.id)
    )
    db.session.commit()
    assert services.unread_count(world.insider) == 0
    assert services.list_notifications(world.insider).items == []
    with pytest.raises(NotFound):
        services.get_thread(world.secret.id, world.insider)


# ---- hidden threads and posts ----------------------------------------------------------------


@pytest.fixture
def hidden(world, make_thread, make_reply, make_member):
    """A hidden thread and a hidden reply (in a visible thread), both in the public space."""
    author = make_member("Hidden Author")
    thread = make_thread(world.public, author, title="Buy cheap watches")
    reply = make_reply(world.public_thread, author, "Spam link")
    visible_reply = make_reply(world.public_thread, world.admin, "A real answer")
    thread.is_hidden = True
    reply.is_hidden = True
    db.session.commit()
    return {"author": author, "thread": thread, "reply": reply, "visible_reply": visible_reply}


@pytest.mark.parametrize("name", ("none", "anonymous", "outsider", "insider"))
def test_hidden_content_is_gone_for_everyone_else(world, hidden, name):
    viewer = who(world, name)
    with pytest.raises(NotFound):
        services.get_thread(hidden["thread"].id, viewer)
    with pytest.raises(NotFound):
        services.get_post(services.opening_post(hidden["thread"]).id, viewer)
    with pytest.raises(NotFound):
        services.get_post(hidden["reply"].id, viewer)
    assert hidden["thread"].id not in thread_ids(viewer)
    assert hidden["thread"].id not in thread_ids(viewer, space=world.public)
    replies = services.thread_replies(world.public_thread, viewer)
    assert [p.id for p in replies.items] == [hidden["visible_reply"].id]
    general = next(s for s in services.space_summaries(viewer) if s.space.slug == "general")
    assert general.thread_count == 1
    activity = services.member_activity(hidden["author"], viewer)
    assert (activity.thread_count, activity.answer_count) == (0, 0)
    assert activity.threads == activity.answers == []


@pytest.mark.parametrize("name", ("author", "moderator", "admin"))
def test_hidden_content_stays_visible_to_its_author_and_moderators(world, hidden, name):
    viewer = hidden["author"] if name == "author" else who(world, name)
    assert services.get_thread(hidden["thread"].id, viewer) == hidden["thread"]
    assert services.get_post(hidden["reply"].id, viewer) == hidden["reply"]
    assert hidden["thread"].id in thread_ids(viewer)
    replies = services.thread_replies(world.public_thread, viewer)
    assert [p.id for p in replies.items] == [hidden["reply"].id, hidden["visible_reply"].id]
    activity = services.member_activity(hidden["author"], viewer)
    assert (activity.thread_count, activity.answer_count) == (1, 1)


def test_hidden_replies_cannot_be_accepted_or_praised(world, hidden, make_member):
    with pytest.raises(NotFound):
        services.accept_answer(hidden["reply"], world.insider)
    with pytest.raises(NotFound):
        services.give_kudos(hidden["reply"], make_member())
    with pytest.raises(NotFound):
        services.reply(hidden["thread"], world.insider, "Me too")
    # Even the moderator, who sees it, cannot make a hidden reply the solution.
    with pytest.raises(Invalid):
        services.accept_answer(hidden["reply"], world.moderator)
    assert not world.public_thread.is_solved


def test_mentions_never_reveal_a_hidden_thread(world, hidden, make_member):
    reader = make_member("Curious Reader")
    services.reply(hidden["thread"], world.moderator, f"@{reader.handle} nothing to see")
    assert services.list_notifications(reader).total == 0
    assert services.unread_count(reader) == 0
    # Its author still hears about the moderator's reply.
    notes = services.list_notifications(hidden["author"]).items
    assert [n.kind for n in notes if n.thread_id == hidden["thread"].id] == ["reply"]


# ---- the predicates agree with the filters ---------------------------------------------------


@pytest.mark.parametrize("name", ("none", "outsider", "insider", "moderator", "admin"))
def test_predicates_and_query_filters_agree(world, hidden, name):
    viewer = who(world, name)
    all_threads = db.session.scalars(select(Thread)).all()
    by_filter = set(
        db.session.scalars(select(Thread.id).where(access.visible_thread_filter(viewer)))
    )
    by_predicate = {t.id for t in all_threads if access.can_view_thread(viewer, t)}
    assert by_filter == by_predicate

    spaces = db.session.scalars(select(Space)).all()
    space_filter = set(
        db.session.scalars(select(Space.id).where(access.visible_space_filter(viewer)))
    )
    assert space_filter == {s.id for s in spaces if access.can_view_space(viewer, s)}


def test_require_hides_or_forbids():
    access.require(True)
    with pytest.raises(NotAllowed):
        access.require(False)
    with pytest.raises(NotFound):
        access.require(False, hide=True)


@pytest.mark.parametrize(
    "name", ("none", "anonymous", "outsider", "insider", "author", "moderator", "admin")
)
@pytest.mark.parametrize("sort", services.THREAD_SORTS)
def test_list_totals_count_exactly_the_threads_listed(world, hidden, name, sort):
    """Page links are worked out from the total: it counts what the viewer is shown,
    private spaces and hidden threads included or left out alike."""
    viewer = hidden["author"] if name == "author" else who(world, name)
    for space in (None, world.public):
        listed = services.list_threads(viewer, space=space, sort=sort, per_page=100)
        assert listed.total == len(listed.items)
