"""Identity: members link to contacts by e-mail, SSO or an admin; two members never
silently claim one contact."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community import events
from community.errors import Conflict, Invalid, NotAllowed
from community.extensions import db
from community.models import Member
from crm_bridge import services
from crm_bridge.models import Contact, LinkChange, LinkConflict, MemberLink


@pytest.fixture
def boss(ctx, admin):
    return db.session.get(Member, admin.id)


def contact(boss, email, **extra):
    return services.save_contact({"email": email, "name": "Someone", **extra}, by=boss)


def test_a_new_member_is_linked_to_the_contact_with_their_email(boss, make_member):
    c = contact(
        boss,
        "Pat@Acme.example",
        account="Acme",
        segment="enterprise",
        customer_value="120000",
        tier="Gold",
    )
    member = db.session.get(Member, make_member("Pat", email="pat@acme.example").id)
    link = services.link_of(member)
    assert link is not None and link.contact_id == c.id and link.method == "email"
    # The contact's customer facts reach the member through community's service.
    assert (member.segment, member.account_name, member.tier) == ("enterprise", "Acme", "Gold")
    assert str(member.customer_value) == "120000.00"


def test_creating_a_contact_links_an_existing_member(boss, make_member):
    member = db.session.get(Member, make_member(email="lee@globex.example").id)
    assert services.link_of(member) is None
    c = contact(boss, "lee@globex.example", segment="smb")
    assert services.link_of(member).contact_id == c.id
    assert member.segment == "smb"


def test_a_second_claim_on_a_contact_goes_to_the_conflict_list(boss, make_member):
    first = db.session.get(Member, make_member(email="sam@initech.example").id)
    c = contact(boss, "sam@initech.example", sso_id="okta|sam")
    assert services.link_of(first).contact_id == c.id
    second = db.session.get(Member, make_member(email="samuel@initech.example").id)
    assert services.auto_link(second, sso_id="okta|sam") is None
    assert services.link_of(second) is None
    conflicts = services.open_conflicts()
    assert [(x.member_id, x.contact_id) for x in conflicts] == [(second.id, c.id)]
    with pytest.raises(Conflict):
        services.link_member(second, c, by=boss, reason="They say it is them")


def test_admins_link_unlink_and_relink_with_a_reason_in_the_trail(boss, make_member):
    heard = []

    def listen(m, **kw):
        heard.append((m.id, kw["action"]))

    events.crm_link_changed.connect(listen)
    member = db.session.get(Member, make_member(email="kim@hooli.example").id)
    a = contact(boss, "kim.work@hooli.example")
    b = contact(boss, "kim.other@hooli.example")
    with pytest.raises(Invalid):
        services.link_member(member, a, by=boss, reason="")
    services.link_member(member, a, by=boss, reason="Same person, work address")
    services.link_member(member, b, by=boss, reason="Moved to the other account")
    assert services.link_of(member).contact_id == b.id
    services.unlink_member(member, by=boss, reason="Left the company")
    assert services.link_of(member) is None
    trail = [
        (c.action, c.contact_id, c.reason)
        for c in db.session.scalars(
            select(LinkChange).where(LinkChange.member_id == member.id).order_by(LinkChange.id)
        )
    ]
    assert trail == [
        ("linked", a.id, "Same person, work address"),
        ("unlinked", a.id, "Moved to the other account"),
        ("relinked", b.id, "Moved to the other account"),
        ("unlinked", b.id, "Left the company"),
    ]
    assert (member.id, "relinked") in heard and (member.id, "unlinked") in heard


def test_only_admins_change_links(ctx, boss, make_member):
    member = db.session.get(Member, make_member().id)
    agent = db.session.get(Member, make_member(roles=["support_agent"]).id)
    c = contact(boss, "someone@else.example")
    with pytest.raises(NotAllowed):
        services.link_member(member, c, by=agent, reason="I think so")
    assert db.session.scalar(select(MemberLink).where(MemberLink.member_id == member.id)) is None


def test_a_contact_email_is_unique(boss):
    contact(boss, "dup@x.example")
    with pytest.raises(Invalid) as error:
        contact(boss, "DUP@x.example")
    assert "email" in error.value.fields
    assert len(list(db.session.scalars(select(Contact)))) == 1
    assert list(db.session.scalars(select(LinkConflict))) == []
