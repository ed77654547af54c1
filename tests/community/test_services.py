"""Community use cases, called the way views and the API call them.

Every test runs inside one request context (``ctx``), so the objects the
factories return stay attached to the session the services use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from community import auth, events, services
from community.errors import Invalid, NotAllowed, NotFound
from community.extensions import db
from community.models import (
    ApiToken,
    Kudos,
    Member,
    Notification,
    Post,
    Space,
    SpaceMembership,
    Tag,
    Thread,
    ThreadFollow,
    utcnow,
)

PASSWORD = "correct horse battery"  # the conftest accounts' password


@pytest.fixture(autouse=True)
def _in_request(ctx):
    """Set up the request context before any factory runs (objects stay attached)."""


@pytest.fixture
def moderator(make_member):
    return make_member("Mo Moderator", roles=["moderator"])


@pytest.fixture
def space(make_space):
    return make_space("help")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def notes_for(member, kind=None) -> list[Notification]:
    query = select(Notification).where(Notification.member_id == member.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query.order_by(Notification.id)))


def suspend(member, moderator):
    services.suspend_member(member, utcnow() + timedelta(days=3), moderator, "Cooling off.")


# ---- events ----------------------------------------------------------------------------------


@dataclass
class Received:
    name: str
    sender: object
    kwargs: dict
    # For every model object sent: its row as committed, read on another connection
    # (None when it is not in the database yet, i.e. the event came before commit).
    committed: dict


def committed_row(obj):
    table = type(obj).__table__
    with db.engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == obj.id)).mappings().first()
    return dict(row) if row is not None else None


@pytest.fixture
def received():
    """Everything every catalogue signal sends during the test."""
    log: list[Received] = []
    connected = []
    for name, signal in events.catalogue().items():

        def receiver(sender, _name=name, **kwargs):
            objects = [sender, *kwargs.values()]
            committed = {
                (type(o).__tablename__, o.id): committed_row(o)
                for o in objects
                if isinstance(o, db.Model)
            }
            log.append(Received(_name, sender, kwargs, committed))

        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))
    yield log
    for signal, receiver in connected:
        signal.disconnect(receiver)


def documented_kwargs(name: str) -> set[str]:
    """The keyword arguments an event's docstring promises ("sender: X; key: ...")."""
    doc = events.catalogue()[name].__doc__
    parts = doc.split("sender:", 1)[1].split(";")[1:]
    return {part.split(":", 1)[0].strip() for part in parts}


def only(log: list[Received], name: str) -> Received:
    matching = [r for r in log if r.name == name]
    assert len(matching) == 1, [r.name for r in log]
    event = matching[0]
    assert set(event.kwargs) == documented_kwargs(name), f"{name} kwargs differ from its doc"
    return event


def assert_committed(event: Received, obj, **values):
    row = event.committed[(type(obj).__tablename__, obj.id)]
    assert row is not None, f"{event.name} was sent before {obj!r} was committed"
    for key, value in values.items():
        assert row[key] == value, (event.name, key)


# ---- registration and sign-in ----------------------------------------------------------------


def test_register_stores_the_member_with_an_argon2id_hash(received):
    member = services.register_member(" Sam.Rivera@Example.COM ", "  Sam Rivera ", PASSWORD)

    assert member.id is not None
    assert member.display_name == "Sam Rivera"
    assert member.email_key == member.email.lower()
    assert member.email_key == "sam.rivera@example.com"
    assert member.roles == {"member"}
    assert member.password_hash.startswith("$argon2id$")
    assert PASSWORD not in member.password_hash
    assert PasswordHasher().verify(member.password_hash, PASSWORD)
    event = only(received, "member_joined")
    assert event.sender is member
    assert_committed(event, member, email_key="sam.rivera@example.com")


@pytest.mark.parametrize(
    ("email", "name", "password", "field"),
    [
        ("not-an-email", "Sam Rivera", PASSWORD, "email"),
        ("sam@", "Sam Rivera", PASSWORD, "email"),
        ("", "Sam Rivera", PASSWORD, "email"),
        (None, "Sam Rivera", PASSWORD, "email"),
        (["sam@example.com"], "Sam Rivera", PASSWORD, "email"),
        ("sam@example.com", "S", PASSWORD, "display_name"),
        ("sam@example.com", "   ", PASSWORD, "display_name"),
        ("sam@example.com", "x" * 81, PASSWORD, "display_name"),
        ("sam@example.com", 42, PASSWORD, "display_name"),
        ("sam@example.com", "Sam Rivera", "short", "password"),
        ("sam@example.com", "Sam Rivera", "123456789", "password"),
        ("sam@example.com", "Sam Rivera", "", "password"),
        ("sam@example.com", "Sam Rivera", None, "password"),
        ("sam@example.com", "Sam Rivera", "x" * 257, "password"),
    ],
)
def test_register_names_the_bad_field_and_stores_nothing(email, name, password, field, received):
    with pytest.raises(Invalid) as excinfo:
        services.register_member(email, name, password)

    assert set(excinfo.value.fields) == {field}
    assert count(Member) == 0
    assert not received


def test_register_reports_every_bad_field_at_once():
    with pytest.raises(Invalid) as excinfo:
        services.register_member("nope", "", "short")
    assert set(excinfo.value.fields) == {"email", "display_name", "password"}


def test_password_of_exactly_ten_characters_is_enough():
    member = services.register_member("ten@example.com", "Ten Chars", "0123456789")
    assert services.authenticate("ten@example.com", "0123456789") == member


def test_register_refuses_a_duplicate_email_whatever_its_case(make_member):
    make_member("Sam Rivera", email="sam@example.com")

    for variant in ("sam@example.com", "SAM@EXAMPLE.COM", "Sam@Example.Com", "  sam@example.com "):
        with pytest.raises(Invalid) as excinfo:
            services.register_member(variant, "Someone Else", PASSWORD)
        assert "already exists" in excinfo.value.fields["email"]
    assert count(Member) == 1


def test_handles_are_unique_and_derived_from_the_name():
    first = services.register_member("a@example.com", "Jo Smith", PASSWORD)
    second = services.register_member("b@example.com", "Jo Smith", PASSWORD)
    third = services.register_member("c@example.com", "jo  SMITH!", PASSWORD)
    symbols = services.register_member("d@example.com", "!!!", PASSWORD)

    assert first.handle == "jo-smith"
    assert second.handle == "jo-smith-2"
    assert third.handle == "jo-smith-3"
    assert symbols.handle == "member"
    assert len({m.handle for m in db.session.scalars(select(Member))}) == 4


def test_authenticate_accepts_the_right_password_in_any_email_case(make_member):
    sam = make_member("Sam Rivera", email="sam@example.com")
    assert sam.last_seen_at is None

    member = services.authenticate("  SAM@example.com ", PASSWORD)

    assert member.id == sam.id
    assert member.last_seen_at is not None


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("sam@example.com", "wrong password!"),
        ("sam@example.com", PASSWORD.upper()),
        ("nobody@example.com", PASSWORD),
        ("sam@example.com", ""),
        ("", PASSWORD),
        (None, None),
        (["sam@example.com"], PASSWORD),
        ("sam@example.com", {"password": PASSWORD}),
    ],
)
def test_authenticate_refuses_with_one_message_that_leaks_nothing(make_member, email, password):
    make_member("Sam Rivera", email="sam@example.com")
    with pytest.raises(Invalid) as excinfo:
        services.authenticate(email, password)
    assert excinfo.value.message == "Wrong e-mail address or password."


def test_change_password_ends_every_session(make_member, received):
    sam = make_member("Sam Rivera", email="sam@example.com")
    old_session_id = sam.get_id()
    assert auth.load_session_member(old_session_id) == sam

    services.change_password(sam, PASSWORD, "a brand new secret")

    assert sam.session_epoch == 1
    assert sam.get_id() != old_session_id
    assert auth.load_session_member(old_session_id) is None
    assert auth.load_session_member(sam.get_id()) == sam
    assert services.authenticate("sam@example.com", "a brand new secret") == sam
    with pytest.raises(Invalid):
        services.authenticate("sam@example.com", PASSWORD)
    event = only(received, "sessions_ended")
    assert event.sender is sam
    assert event.kwargs["session_key"] is None
    assert_committed(event, sam, session_epoch=1)


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        ("not my password", "a brand new secret", "current_password"),
        (None, "a brand new secret", "current_password"),
        (PASSWORD, "short", "new_password"),
        (PASSWORD, None, "new_password"),
    ],
)
def test_change_password_refuses_bad_input_and_keeps_sessions(
    make_member, current, new, field, received
):
    sam = make_member("Sam Rivera", email="sam@example.com")
    with pytest.raises(Invalid) as excinfo:
        services.change_password(sam, current, new)
    assert field in excinfo.value.fields
    db.session.expire_all()
    assert sam.session_epoch == 0
    assert services.authenticate("sam@example.com", PASSWORD) == sam
    assert not [r for r in received if r.name == "sessions_ended"]


def test_update_profile_changes_name_and_bio(make_member, received):
    sam = make_member("Sam Rivera")

    services.update_profile(sam, "  Samantha Rivera ", "I fix printers.")

    db.session.expire_all()
    assert sam.display_name == "Samantha Rivera"
    assert sam.bio == "I fix printers."
    event = only(received, "member_updated")
    assert event.kwargs["changed"] == {"display_name", "bio"}
    assert_committed(event, sam, bio="I fix printers.")


def test_update_profile_without_changes_sends_no_event(make_member, received):
    sam = make_member("Sam Rivera")
    services.update_profile(sam, "Sam Rivera", "")
    assert not [r for r in received if r.name == "member_updated"]


@pytest.mark.parametrize(
    ("name", "bio", "field"),
    [("S", "", "display_name"), ("x" * 81, "", "display_name"), ("Sam", "b" * 2001, "bio")],
)
def test_update_profile_refuses_bad_fields(make_member, name, bio, field):
    sam = make_member("Sam Rivera")
    with pytest.raises(Invalid) as excinfo:
        services.update_profile(sam, name, bio)
    assert set(excinfo.value.fields) == {field}
    db.session.rollback()
    db.session.expire_all()
    assert sam.display_name == "Sam Rivera"
    assert sam.bio == ""


# ---- roles -----------------------------------------------------------------------------------


def test_admin_sets_roles(admin, make_member, received):
    sam = make_member("Sam Rivera")

    services.set_roles(sam, ["moderator", "member"], by=admin)

    db.session.expire_all()
    assert sam.roles == {"member", "moderator"}
    event = [r for r in received if r.name == "member_updated"][-1]
    assert event.sender is sam
    assert event.kwargs == {"changed": {"roles"}, "by": admin}

    services.set_roles(sam, [], by=admin)
    db.session.expire_all()
    assert sam.roles == {"member"}


def test_only_admins_set_roles(moderator, make_member):
    sam = make_member("Sam Rivera")
    with pytest.raises(NotAllowed):
        services.set_roles(sam, ["admin"], by=moderator)
    with pytest.raises(NotAllowed):
        services.set_roles(sam, ["admin"], by=sam)
    db.session.expire_all()
    assert sam.roles == {"member"}


def test_admin_cannot_drop_their_own_admin_role(admin, make_member):
    with pytest.raises(Invalid) as excinfo:
        services.set_roles(admin, ["moderator"], by=admin)
    assert "roles" in excinfo.value.fields
    db.session.expire_all()
    assert admin.is_admin

    # ... but another admin can, and an admin may add roles to themselves.
    other = make_member("Otto Admin", roles=["admin"])
    services.set_roles(admin, ["admin", "moderator"], by=admin)
    assert admin.roles == {"member", "admin", "moderator"}
    services.set_roles(admin, [], by=other)
    db.session.expire_all()
    assert not admin.is_admin


@pytest.mark.parametrize("roles", [["wizard"], "moderator", [1]])
def test_set_roles_refuses_unknown_roles(admin, make_member, roles):
    sam = make_member("Sam Rivera")
    with pytest.raises(Invalid):
        services.set_roles(sam, roles, by=admin)
    db.session.rollback()
    db.session.expire_all()
    assert sam.roles == {"member"}


# ---- API tokens ------------------------------------------------------------------------------


def test_api_token_is_shown_once_and_stored_as_a_digest(make_member):
    sam = make_member("Sam Rivera")

    token, plaintext = services.issue_api_token(sam, "My script")

    assert plaintext.startswith("prl_")
    assert len(plaintext) > 30
    assert token.name == "My script"
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.prefix == plaintext[:10]
    row = db.session.execute(select(ApiToken.__table__)).mappings().one()
    assert plaintext not in [str(v) for v in row.values()]
    assert services.member_for_token(plaintext) == sam
    assert services.api_tokens(sam) == [token]


def test_each_token_is_different_and_named_by_default(make_member):
    sam = make_member("Sam Rivera")
    first, one = services.issue_api_token(sam, None)
    second, two = services.issue_api_token(sam, "")
    assert one != two
    assert first.name == second.name == "API token"


def test_token_lookup_records_use(make_member):
    sam = make_member("Sam Rivera")
    token, plaintext = services.issue_api_token(sam, "CLI")
    assert token.last_used_at is None
    services.member_for_token(plaintext)
    db.session.expire_all()
    assert token.last_used_at is not None


def test_unknown_tokens_find_nobody(make_member):
    sam = make_member("Sam Rivera")
    _token, plaintext = services.issue_api_token(sam, "CLI")
    assert services.member_for_token(plaintext + "x") is None
    assert services.member_for_token("prl_" + "a" * 43) is None
    assert services.member_for_token("") is None


def test_revoked_tokens_stop_working(make_member):
    sam = make_member("Sam Rivera")
    token, plaintext = services.issue_api_token(sam, "CLI")
    _other, still_good = services.issue_api_token(sam, "Other")

    services.revoke_api_token(sam, token.id)
    services.revoke_api_token(sam, token.id)  # twice is harmless

    assert services.member_for_token(plaintext) is None
    assert services.member_for_token(still_good) == sam
    assert [t.name for t in services.api_tokens(sam)] == ["Other"]


def test_members_cannot_revoke_each_others_tokens(make_member):
    sam, eve = make_member("Sam Rivera"), make_member("Eve Lynn")
    token, plaintext = services.issue_api_token(sam, "CLI")
    with pytest.raises(NotFound):
        services.revoke_api_token(eve, token.id)
    for bad in (10_000, "1", None, 2**70):
        with pytest.raises(NotFound):
            services.revoke_api_token(sam, bad)
    assert services.member_for_token(plaintext) == sam


# ---- spaces ----------------------------------------------------------------------------------


def test_admin_creates_a_space(admin, received):
    space = services.create_space(
        admin, name="Printers", slug="printers", description="Paper jams", kind="forum"
    )

    assert space.slug == "printers"
    assert space.visibility == "public"
    assert services.get_space("printers", None) == space
    event = only(received, "space_created")
    assert event.sender is space
    assert event.kwargs["by"] is admin
    assert_committed(event, space, slug="printers")


def test_spaces_are_placed_after_existing_ones(admin):
    first = services.create_space(admin, name="First", slug="first")
    second = services.create_space(admin, name="Second", slug="second")
    assert second.position > first.position
    assert [s.slug for s in services.list_spaces(admin)] == ["first", "second"]


def test_private_space_makes_its_creator_a_host(admin):
    space = services.create_space(admin, name="Board", slug="board", visibility="private")
    membership = db.session.scalar(select(SpaceMembership))
    assert (membership.space_id, membership.member_id, membership.role) == (
        space.id,
        admin.id,
        "host",
    )


def test_only_admins_create_spaces(moderator, make_member):
    for who in (moderator, make_member("Sam Rivera")):
        with pytest.raises(NotAllowed):
            services.create_space(who, name="Mine", slug="mine")
    assert count(Space) == 0


@pytest.mark.parametrize(
    "slug",
    ["", "a", "Printers", "-printers", "with space", "under_score", "ünicode", "x" * 61, None, 7],
)
def test_space_slug_rules(admin, slug):
    with pytest.raises(Invalid) as excinfo:
        services.create_space(admin, name="Some space", slug=slug)
    assert "slug" in excinfo.value.fields
    assert count(Space) == 0


@pytest.mark.parametrize("slug", ["ab", "a-1", "2fa", "x" * 60, "  padded  "])
def test_valid_slugs(admin, slug):
    space = services.create_space(admin, name="Some space", slug=slug)
    assert space.slug == slug.strip()


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"name": "x"}, "name"),
        ({"kind": "blog"}, "kind"),
        ({"visibility": "secret"}, "visibility"),
        ({"description": "d" * 2001}, "description"),
    ],
)
def test_space_fields_are_checked(admin, fields, bad):
    data = {"name": "Some space", "slug": "some-space"} | fields
    with pytest.raises(Invalid) as excinfo:
        services.create_space(admin, **data)
    assert set(excinfo.value.fields) == {bad}
    assert count(Space) == 0


def test_duplicate_slug_is_refused(admin, make_space):
    make_space("printers")
    with pytest.raises(Invalid) as excinfo:
        services.create_space(admin, name="Printers again", slug="printers")
    assert "already exists" in excinfo.value.fields["slug"]
    assert count(Space) == 1


# ---- threads ---------------------------------------------------------------------------------


def test_create_thread_writes_the_opening_post(space, make_member, received):
    sam = make_member("Sam Rivera")

    thread = services.create_thread(
        space, sam, "question", "  How do I export data?  ", "Use **the** menu?", ["Export"]
    )

    assert thread.title == "How do I export data?"
    assert thread.space == space
    assert thread.author == sam
    assert thread.tag_names == ["export"]
    assert (thread.reply_count, thread.last_number, thread.view_count) == (0, 0, 0)
    assert thread.last_poster_id == sam.id
    assert not thread.is_solved
    post = services.opening_post(thread)
    assert post.number == 0
    assert post.is_opening
    assert post.body == "Use **the** menu?"
    assert "<strong>the</strong>" in post.body_html
    assert services.is_following_thread(thread, sam)
    event = only(received, "thread_created")
    assert event.sender is thread
    assert event.kwargs["post"] is post
    assert_committed(event, thread, title="How do I export data?")
    assert_committed(event, post, number=0)


def test_title_and_body_limits_are_inclusive(space, make_member):
    sam = make_member()
    thread = services.create_thread(space, sam, "discussion", "x" * 5, "b" * 50_000)
    other = services.create_thread(space, sam, "question", "y" * 200, "b")
    assert thread.kind == "discussion"
    assert len(other.title) == 200


@pytest.mark.parametrize(
    ("kind", "title", "body", "tags", "field"),
    [
        ("question", "", "Body", [], "title"),
        ("question", "    ", "Body", [], "title"),
        ("question", "Hi?", "Body", [], "title"),
        ("question", "abcd", "Body", [], "title"),
        ("question", "x" * 201, "Body", [], "title"),
        ("question", None, "Body", [], "title"),
        ("question", 12345, "Body", [], "title"),
        ("question", "A fine title", "", [], "body"),
        ("question", "A fine title", " \n\t ", [], "body"),
        ("question", "A fine title", None, [], "body"),
        ("question", "A fine title", "b" * 50_001, [], "body"),
        ("question", "A fine title", {"text": "hi"}, [], "body"),
        ("poll", "A fine title", "Body", [], "kind"),
        (None, "A fine title", "Body", [], "kind"),
        (["question"], "A fine title", "Body", [], "kind"),
        ("question", "A fine title", "Body", ["a", "b", "c", "d", "e", "f"], "tags"),
        ("question", "A fine title", "Body", ["fine", "not/ok"], "tags"),
        ("question", "A fine title", "Body", ["x" * 31], "tags"),
        ("question", "A fine title", "Body", [""], "tags"),
        ("question", "A fine title", "Body", [1, 2], "tags"),
        ("question", "A fine title", "Body", {"tag": "x"}, "tags"),
    ],
)
def test_create_thread_refuses_bad_input_and_writes_nothing(
    space, make_member, received, kind, title, body, tags, field
):
    sam = make_member()
    received.clear()

    with pytest.raises(Invalid) as excinfo:
        services.create_thread(space, sam, kind, title, body, tags)

    assert set(excinfo.value.fields) == {field}
    assert not db.session.new and not db.session.dirty
    db.session.commit()  # whatever was left in the session would be written now
    for model in (Thread, Post, Tag, ThreadFollow, Notification):
        assert count(model) == 0, model
    assert not received


def test_a_refused_thread_leaves_no_new_tags_behind(space, make_member):
    sam = make_member()
    with pytest.raises(Invalid):
        services.create_thread(space, sam, "question", "ok?", "Body", ["brand-new", "tags"])
    db.session.commit()
    assert count(Tag) == 0
    # ...and the next attempt works normally.
    thread = services.create_thread(space, sam, "question", "Now fine", "Body", ["brand-new"])
    assert thread.tag_names == ["brand-new"]


def test_tags_are_normalised(space, make_member):
    sam = make_member()
    thread = services.create_thread(
        space, sam, "question", "Tag soup here", "Body", ["Python", "#python", " SQL ", "c++"]
    )
    assert thread.tag_names == ["c++", "python", "sql"]

    from_text = services.create_thread(space, sam, "question", "Tags as text", "Body", "a1, b2 #C3")
    assert from_text.tag_names == ["a1", "b2", "c3"]

    # Duplicates do not count towards the limit of five.
    five = services.create_thread(
        space, sam, "question", "Five distinct", "Body", ["a", "b", "c", "d", "e", "A", "#b"]
    )
    assert five.tag_names == ["a", "b", "c", "d", "e"]
    no_tags = services.create_thread(space, sam, "question", "No tags at all", "Body", None)
    assert no_tags.tag_names == []


def test_threads_share_tag_rows(space, make_member):
    sam = make_member()
    services.create_thread(space, sam, "question", "First thread", "Body", ["python"])
    services.create_thread(space, sam, "question", "Second thread", "Body", ["Python", "sql"])
    assert sorted(db.session.scalars(select(Tag.name))) == ["python", "sql"]


def test_suspended_members_cannot_start_threads(space, make_member, moderator):
    sam = make_member()
    suspend(sam, moderator)
    with pytest.raises(NotAllowed):
        services.create_thread(space, sam, "question", "Let me in", "Please")
    assert count(Thread) == 0


def test_suspension_in_the_past_no_longer_counts(space, make_member):
    sam = make_member()
    sam.suspended_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert services.create_thread(space, sam, "question", "I am back", "Hello again")


# ---- replies ---------------------------------------------------------------------------------


def test_replies_are_numbered_and_counted(make_thread, make_member, received):
    asker, bob, carol = make_member("Asker"), make_member("Bob"), make_member("Carol")
    thread = make_thread(author=asker)
    received.clear()

    first = services.reply(thread, bob, "First!")
    second = services.reply(thread, carol, "Second.")
    third = services.reply(thread, bob, "Third.")

    assert [p.number for p in (first, second, third)] == [1, 2, 3]
    assert thread.reply_count == 3
    assert thread.last_number == 3
    assert thread.last_poster_id == bob.id
    assert thread.last_post_at == third.created_at
    assert services.is_following_thread(thread, carol)
    page = services.thread_replies(thread, None)
    assert [p.id for p in page.items] == [first.id, second.id, third.id]
    assert page.total == 3
    created = [r for r in received if r.name == "post_created"]
    assert [r.sender for r in created] == [first, second, third]
    event = created[0]
    assert set(event.kwargs) == documented_kwargs("post_created")
    assert event.kwargs["thread"] is thread
    assert_committed(event, first, number=1, body="First!")
    assert_committed(created[-1], thread, reply_count=3)


def test_reply_refuses_empty_or_oversized_bodies(make_thread, make_member):
    thread = make_thread()
    bob = make_member()
    for body in ("", "   ", None, "b" * 50_001, ["text"]):
        with pytest.raises(Invalid) as excinfo:
            services.reply(thread, bob, body)
        assert set(excinfo.value.fields) == {"body"}
    db.session.expire_all()
    assert (thread.reply_count, thread.last_number) == (0, 0)
    assert count(Post) == 1


def test_locked_threads_take_replies_from_moderators_only(make_thread, make_member, moderator):
    thread = make_thread()
    thread.is_locked = True
    db.session.commit()

    with pytest.raises(NotAllowed, match="locked"):
        services.reply(thread, make_member(), "Me too")
    with pytest.raises(NotAllowed):
        services.reply(thread, thread.author, "Me too")
    assert services.reply(thread, moderator, "Locked because it is solved.").number == 1
    assert thread.reply_count == 1


def test_suspended_members_cannot_reply(make_thread, make_member, moderator):
    thread = make_thread()
    bob = make_member()
    suspend(bob, moderator)
    with pytest.raises(NotAllowed):
        services.reply(thread, bob, "Let me speak")
    db.session.expire_all()
    assert thread.reply_count == 0


# ---- editing ---------------------------------------------------------------------------------


def test_author_edits_a_reply(make_thread, make_reply, make_member, received):
    thread = make_thread(title="Original title")
    bob = make_member()
    post = make_reply(thread, bob, "Frist")
    assert post.edited_at is None
    received.clear()

    services.edit_post(post, bob, "First, *fixed*", title="Ignored on a reply", tags=["x"])

    assert post.body == "First, *fixed*"
    assert "<em>fixed</em>" in post.body_html
    assert post.edited_at is not None
    assert thread.title == "Original title"
    assert thread.tag_names == []
    event = only(received, "post_edited")
    assert event.sender is post
    assert event.kwargs["by"] is bob
    assert event.kwargs["before"]["body"] == "Frist"
    assert_committed(event, post, body="First, *fixed*")


def test_opening_post_edit_changes_title_and_tags(make_thread, received):
    thread = make_thread(title="Printer on fire", tags=["printers"])
    post = services.opening_post(thread)
    received.clear()

    services.edit_post(
        post, thread.author, "Now it is smoking", title="Printer smoking", tags=["Hot"]
    )

    assert thread.title == "Printer smoking"
    assert thread.tag_names == ["hot"]
    event = only(received, "post_edited")
    assert event.kwargs["before"] == {
        "body": "Details here.",
        "title": "Printer on fire",
        "tags": ["printers"],
    }
    assert_committed(event, post, body="Now it is smoking")


def test_bad_edit_changes_nothing(make_thread):
    thread = make_thread(title="Printer on fire", tags=["printers"])
    post = services.opening_post(thread)
    for body, title, tags in (
        ("", None, None),
        ("Fine", "x", None),
        ("Fine", None, ["a", "b", "c", "d", "e", "f"]),
    ):
        with pytest.raises(Invalid):
            services.edit_post(post, thread.author, body, title=title, tags=tags)
    db.session.commit()
    db.session.expire_all()
    assert post.body == "Details here."
    assert post.edited_at is None
    assert thread.title == "Printer on fire"
    assert thread.tag_names == ["printers"]


def test_only_the_author_or_a_moderator_edits(make_thread, make_reply, make_member, moderator):
    thread = make_thread()
    post = make_reply(thread, make_member(), "Mine")
    with pytest.raises(NotAllowed):
        services.edit_post(post, make_member(), "Vandalised")
    with pytest.raises(NotAllowed):
        services.edit_post(services.opening_post(thread), post.author, "Hijacked")
    db.session.expire_all()
    assert post.body == "Mine"

    services.edit_post(post, moderator, "Edited by a moderator")
    assert post.body == "Edited by a moderator"
    assert post.author_id != moderator.id


def test_suspended_authors_cannot_edit(make_thread, moderator):
    thread = make_thread()
    suspend(thread.author, moderator)
    with pytest.raises(NotAllowed):
        services.edit_post(services.opening_post(thread), thread.author, "Sneaky")


# ---- accepted answers ------------------------------------------------------------------------


def test_asker_accepts_a_reply(make_thread, make_reply, make_member, received):
    asker, helper = make_member("Asker"), make_member("Helper")
    thread = make_thread(author=asker)
    answer = make_reply(thread, helper, "Hold the reset button.")
    received.clear()

    result = services.accept_answer(answer, asker)

    assert result is thread
    assert thread.is_solved
    assert thread.accepted_post_id == answer.id
    assert [n.kind for n in notes_for(helper)] == ["accepted"]
    event = only(received, "answer_accepted")
    assert event.sender is answer
    assert event.kwargs["thread"] is thread
    assert event.kwargs["by"] is asker
    assert event.kwargs["replaced"] is None
    assert_committed(event, thread, accepted_post_id=answer.id)


def test_accepting_another_answer_replaces_the_first(make_thread, make_reply, received):
    thread = make_thread()
    first, better = make_reply(thread, body="Try this"), make_reply(thread, body="Better")
    services.accept_answer(first, thread.author)
    received.clear()

    services.accept_answer(better, thread.author)

    assert thread.accepted_post_id == better.id
    assert [r.name for r in received if r.name.startswith("answer_")] == [
        "answer_unaccepted",
        "answer_accepted",
    ]
    withdrawn = only(received, "answer_unaccepted")
    assert withdrawn.sender is first
    accepted = only(received, "answer_accepted")
    assert accepted.kwargs["replaced"] is first
    assert_committed(accepted, thread, accepted_post_id=better.id)


def test_accepting_the_accepted_answer_again_changes_nothing(make_thread, make_reply, received):
    thread = make_thread()
    answer = make_reply(thread)
    services.accept_answer(answer, thread.author)
    received.clear()
    services.accept_answer(answer, thread.author)
    assert thread.accepted_post_id == answer.id
    assert not [r for r in received if r.name.startswith("answer_")]
    assert len(notes_for(answer.author, "accepted")) == 1


def test_unaccept(make_thread, make_reply, received):
    thread = make_thread()
    answer, other = make_reply(thread), make_reply(thread)
    services.accept_answer(answer, thread.author)
    received.clear()

    services.unaccept_answer(other, thread.author)  # not the accepted one: nothing to undo
    assert thread.accepted_post_id == answer.id
    assert not received

    services.unaccept_answer(answer, thread.author)
    assert not thread.is_solved
    event = only(received, "answer_unaccepted")
    assert event.sender is answer
    assert event.kwargs == {"thread": thread, "by": thread.author}
    assert_committed(event, thread, accepted_post_id=None)


def test_only_the_asker_or_a_moderator_accepts(make_thread, make_reply, make_member, moderator):
    thread = make_thread()
    answer = make_reply(thread)
    for who in (answer.author, make_member()):
        with pytest.raises(NotAllowed):
            services.accept_answer(answer, who)
    assert not thread.is_solved

    services.accept_answer(answer, moderator)
    assert thread.accepted_post_id == answer.id
    for who in (answer.author, make_member()):
        with pytest.raises(NotAllowed):
            services.unaccept_answer(answer, who)
    db.session.expire_all()
    assert thread.accepted_post_id == answer.id
    services.unaccept_answer(answer, moderator)
    assert not thread.is_solved


def test_the_question_is_never_its_own_answer(make_thread):
    thread = make_thread()
    with pytest.raises(Invalid):
        services.accept_answer(services.opening_post(thread), thread.author)
    db.session.expire_all()
    assert not thread.is_solved


def test_discussions_have_no_accepted_answer(make_thread, make_reply):
    thread = make_thread(kind="discussion")
    answer = make_reply(thread)
    with pytest.raises(NotAllowed):
        services.accept_answer(answer, thread.author)
    assert not thread.is_solved


def test_asker_accepting_their_own_reply_is_not_notified(make_thread, make_reply):
    thread = make_thread()
    own = make_reply(thread, thread.author, "Solved it myself: update the driver.")
    services.accept_answer(own, thread.author)
    assert thread.accepted_post_id == own.id
    assert notes_for(thread.author, "accepted") == []


# ---- kudos -----------------------------------------------------------------------------------


def test_kudos_once_per_member(make_thread, make_reply, make_member, received):
    thread = make_thread()
    answer = make_reply(thread)
    fan, other = make_member("Fan"), make_member("Other")
    received.clear()

    services.give_kudos(answer, fan)
    services.give_kudos(answer, fan)

    assert answer.kudos_count == 1
    assert count(Kudos) == 1
    assert services.has_given_kudos(answer, fan)
    assert not services.has_given_kudos(answer, other)
    assert services.kudos_given_among([answer.id, thread.id + 999], fan) == {answer.id}
    event = only(received, "kudos_given")
    assert isinstance(event.sender, Kudos)
    assert event.kwargs == {"post": answer, "by": fan}
    assert_committed(event, event.sender, member_id=fan.id)
    assert_committed(event, answer, kudos_count=1)

    services.give_kudos(answer, other)
    assert answer.kudos_count == 2
    assert len(notes_for(answer.author, "kudos")) == 2


def test_no_kudos_for_your_own_post(make_thread, make_reply):
    thread = make_thread()
    answer = make_reply(thread)
    with pytest.raises(Invalid):
        services.give_kudos(answer, answer.author)
    with pytest.raises(Invalid):
        services.give_kudos(services.opening_post(thread), thread.author)
    assert answer.kudos_count == 0
    assert count(Kudos) == 0


def test_withdrawing_kudos(make_thread, make_reply, make_member, received):
    answer = make_reply(make_thread())
    fan = make_member("Fan")
    services.give_kudos(answer, fan)
    received.clear()

    services.withdraw_kudos(answer, fan)
    services.withdraw_kudos(answer, fan)  # nothing left to withdraw

    assert answer.kudos_count == 0
    assert count(Kudos) == 0
    assert not services.has_given_kudos(answer, fan)
    event = only(received, "kudos_withdrawn")
    assert event.sender is answer
    assert event.kwargs == {"by": fan}
    assert_committed(event, answer, kudos_count=0)

    services.give_kudos(answer, fan)  # and it can be given again
    assert answer.kudos_count == 1


def test_suspended_members_give_no_kudos(make_thread, make_reply, make_member, moderator):
    answer = make_reply(make_thread())
    fan = make_member()
    suspend(fan, moderator)
    with pytest.raises(NotAllowed):
        services.give_kudos(answer, fan)
    assert answer.kudos_count == 0


# ---- follows and notifications ---------------------------------------------------------------


def test_following_a_thread(make_thread, make_member):
    thread = make_thread()
    fan = make_member()
    assert not services.is_following_thread(thread, fan)
    services.follow_thread(thread, fan)
    services.follow_thread(thread, fan)
    assert services.is_following_thread(thread, fan)
    assert count(ThreadFollow) == 2  # the author and the fan
    services.unfollow_thread(thread, fan)
    services.unfollow_thread(thread, fan)
    assert not services.is_following_thread(thread, fan)
    assert services.is_following_thread(thread, thread.author)
    assert not services.is_following_thread(thread, None)


def test_following_a_space(space, make_member):
    fan = make_member()
    services.follow_space(space, fan)
    services.follow_space(space, fan)
    assert services.is_following_space(space, fan)
    services.unfollow_space(space, fan)
    assert not services.is_following_space(space, fan)


def test_followers_hear_about_replies(make_thread, make_member, received):
    asker, fan, bystander, replier = (make_member(n) for n in ("Asker", "Fan", "By", "Replier"))
    thread = make_thread(author=asker)
    services.follow_thread(thread, fan)
    received.clear()

    post = services.reply(thread, replier, "Here is how.")

    for member in (asker, fan):
        (note,) = notes_for(member)
        assert (note.kind, note.actor_id, note.thread_id, note.post_id) == (
            "reply",
            replier.id,
            thread.id,
            post.id,
        )
    assert notes_for(bystander) == []
    assert notes_for(replier) == []
    announced = [r for r in received if r.name == "notification_created"]
    assert {r.sender.member_id for r in announced} == {asker.id, fan.id}
    for event in announced:
        assert_committed(event, event.sender, kind="reply")

    # The replier now follows too, and hears about the next reply; unfollowers do not.
    services.unfollow_thread(thread, fan)
    services.reply(thread, asker, "Thanks!")
    assert [n.kind for n in notes_for(replier)] == ["reply"]
    assert len(notes_for(fan)) == 1


def test_mentions_notify_the_member_once(make_thread, make_member):
    asker, helper, fan = make_member("Asker"), make_member("Helper"), make_member("Fan")
    thread = make_thread(author=asker)
    services.follow_thread(thread, fan)

    post = services.reply(
        thread, helper, f"@{fan.handle} and @{asker.handle}, see `@{helper.handle}` and @nobody."
    )

    assert [n.kind for n in notes_for(fan)] == ["mention"]
    assert [n.kind for n in notes_for(asker)] == ["mention"]
    assert notes_for(helper) == []
    assert f'href="/members/{fan.id}"' in post.body_html
    assert "/members/" not in post.body_html.split("@nobody")[0].split(asker.handle)[-1]


def test_mentions_in_a_new_thread_and_in_an_edit(space, make_member):
    asker, expert, late = make_member("Asker"), make_member("Expert"), make_member("Late")
    thread = services.create_thread(
        space, asker, "question", "Calling experts", f"@{expert.handle}?"
    )
    assert [n.kind for n in notes_for(expert)] == ["mention"]

    post = services.opening_post(thread)
    services.edit_post(post, asker, f"@{expert.handle} and @{late.handle}?")
    assert len(notes_for(expert)) == 1  # already mentioned: not again
    assert [n.kind for n in notes_for(late)] == ["mention"]


def test_space_followers_hear_about_new_threads(space, make_member):
    fan, asker = make_member("Fan"), make_member("Asker")
    services.follow_space(space, fan)
    thread = services.create_thread(space, asker, "question", "Fresh question", "Body")
    (note,) = notes_for(fan)
    assert (note.kind, note.thread_id) == ("thread", thread.id)
    assert notes_for(asker) == []


def test_unread_counts_and_marking_read(make_thread, make_member, received):
    asker = make_member("Asker")
    thread = make_thread(author=asker)
    for n in range(3):
        services.reply(thread, make_member(f"Replier {n}"), f"Reply {n}")
    assert services.unread_count(asker) == 3
    newest_first = services.list_notifications(asker).items
    assert [n.post.number for n in newest_first] == [3, 2, 1]
    received.clear()

    remaining = services.mark_notifications_read(asker, [newest_first[0].id])

    assert remaining == 2
    assert services.unread_count(asker) == 2
    assert [n.id for n in services.list_notifications(asker, unread_only=True).items] == [
        n.id for n in newest_first[1:]
    ]
    event = only(received, "notifications_read")
    assert event.sender is asker
    assert event.kwargs == {"unread": 2}

    assert services.mark_notifications_read(asker) == 0
    assert services.list_notifications(asker).total == 3
    assert all(n.read_at is not None for n in notes_for(asker))


def test_members_cannot_mark_others_notifications_read(make_thread, make_member):
    asker, other = make_member("Asker"), make_member("Other")
    thread = make_thread(author=asker)
    services.reply(thread, make_member(), "Hi")
    (note,) = notes_for(asker)
    assert services.mark_notifications_read(other, [note.id]) == 0
    assert services.unread_count(asker) == 1


@pytest.mark.parametrize("ids", ["1", [1, "2"], {"id": 1}, [True], 5])
def test_mark_read_refuses_bad_ids(make_member, ids):
    with pytest.raises(Invalid):
        services.mark_notifications_read(make_member(), ids)


def test_no_notifications_about_a_private_space_for_outsiders(admin, make_member, received):
    board = services.create_space(admin, name="Board", slug="board", visibility="private")
    insider, colleague, outsider = make_member("In"), make_member("Col"), make_member("Out")
    for member in (insider, colleague):
        db.session.add(SpaceMembership(space_id=board.id, member_id=member.id, role="member"))
    db.session.commit()
    services.follow_space(board, colleague)
    received.clear()

    thread = services.create_thread(
        board, insider, "discussion", "Secret roadmap", f"@{outsider.handle} @{colleague.handle}"
    )

    assert [n.kind for n in notes_for(colleague)] == ["mention"]
    assert notes_for(outsider) == []
    assert {r.sender.member_id for r in received if r.name == "notification_created"} == {
        colleague.id
    }

    # A member who leaves the space stops hearing about it, and loses what they had.
    services.follow_thread(thread, colleague)
    db.session.execute(
        SpaceMembership.__table__.delete().where(SpaceMembership.member_id == colleague.id)
    )
    db.session.commit()
    services.reply(thread, insider, f"Still discussing, @{colleague.handle}.")
    assert len(notes_for(colleague)) == 1
    assert services.unread_count(colleague) == 0
    assert services.list_notifications(colleague).items == []


# ---- views and lists -------------------------------------------------------------------------


def test_views_count_once_per_viewer(make_thread):
    thread = make_thread()
    assert services.record_view(thread, "m:1") is True
    assert services.record_view(thread, "m:1") is False
    assert services.record_view(thread, "s:abcdef") is True
    assert services.record_view(thread, "s:abcdef") is False
    assert thread.view_count == 2
    other = make_thread()
    assert services.record_view(other, "m:1") is True
    assert other.view_count == 1
    db.session.expire_all()
    assert thread.view_count == 2


def ids(pagination) -> list[int]:
    return [t.id for t in pagination.items]


def test_list_threads_sorts(space, make_member):
    asker = make_member("Asker")
    old = services.create_thread(space, asker, "question", "Old question", "Body")
    chat = services.create_thread(space, asker, "discussion", "A discussion", "Body")
    new = services.create_thread(space, asker, "question", "New question", "Body")

    assert ids(services.list_threads(None)) == [new.id, chat.id, old.id]
    answer = services.reply(old, make_member(), "Answer")

    assert ids(services.list_threads(None, sort="latest")) == [old.id, new.id, chat.id]
    assert ids(services.list_threads(None, sort="new")) == [new.id, chat.id, old.id]
    assert ids(services.list_threads(None, sort="unanswered")) == [new.id]
    assert ids(services.list_threads(None, sort="solved")) == []

    services.accept_answer(answer, asker)
    assert ids(services.list_threads(None, sort="solved")) == [old.id]
    assert [t.id for t in services.unanswered_questions(None)] == [new.id]


def test_list_threads_by_space(make_space, make_thread):
    one, two = make_space("one"), make_space("two")
    in_one = make_thread(one)
    make_thread(two)
    assert ids(services.list_threads(None, space=one)) == [in_one.id]


def test_list_threads_pages(space, make_member):
    asker = make_member()
    threads = [
        services.create_thread(space, asker, "question", f"Question {n}", "Body") for n in range(5)
    ]
    newest_first = [t.id for t in reversed(threads)]

    pages = [services.list_threads(None, page=n, per_page=2) for n in (1, 2, 3, 4)]

    assert [ids(p) for p in pages] == [newest_first[:2], newest_first[2:4], newest_first[4:], []]
    assert all(p.total == 5 for p in pages)
    assert services.list_threads(None, per_page=1000).per_page == 100
    assert ids(services.list_threads(None, page=10**30, per_page=2)) == []


def test_list_threads_refuses_an_unknown_sort():
    with pytest.raises(Invalid) as excinfo:
        services.list_threads(None, sort="hot")
    assert "sort" in excinfo.value.fields


def test_replies_page_and_find_their_page(app, make_thread, make_member):
    app.config["POSTS_PER_PAGE"] = 2
    thread = make_thread()
    bob = make_member()
    posts = [services.reply(thread, bob, f"Reply {n}") for n in range(5)]
    assert [p.number for p in services.thread_replies(thread, None, page=3).items] == [5]
    assert [services.page_of_post(p, None) for p in posts] == [1, 1, 2, 2, 3]


def test_unknown_ids_are_not_found(make_thread):
    make_thread()
    for bad in (0, -1, 9999, 2**63, 10**30, "1", None, 1.0):
        with pytest.raises(NotFound):
            services.get_thread(bad, None)
        with pytest.raises(NotFound):
            services.get_post(bad, None)
        with pytest.raises(NotFound):
            services.get_member(bad)
    for bad in ("nope", None, 3):
        with pytest.raises(NotFound):
            services.get_space(bad, None)


def test_member_activity_counts(make_thread, make_reply, make_member):
    helper = make_member("Helper")
    thread = make_thread()
    answer = make_reply(thread, helper, "Answer")
    make_reply(make_thread(), helper, "Another")
    services.accept_answer(answer, thread.author)
    own = make_thread(author=helper)

    activity = services.member_activity(helper, None)

    assert (activity.thread_count, activity.answer_count, activity.solution_count) == (1, 2, 1)
    assert [t.id for t in activity.threads] == [own.id]
    assert [p.id for p in activity.solutions] == [answer.id]
