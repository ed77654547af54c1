"""The customer facts the CRM bridge (or an admin) keeps on a member."""

from datetime import date

import pytest

from community import services
from community.errors import Invalid
from community.extensions import db
from community.models import Member


def _member(make_member):
    return db.session.get(Member, make_member().id)


def test_the_crm_sets_tier_account_renewal_and_custom_fields(ctx, make_member):
    member = _member(make_member)
    services.set_customer_attributes(
        member, "48000", "enterprise", by=None, tier="strategic", account_name="Acme Corp",
        renewal_on="2027-03-31", fields={"advisory_candidate": True, "region": "EMEA"},
    )  # fmt: skip
    db.session.expire_all()
    member = db.session.get(Member, member.id)
    assert (member.tier, member.account_name, member.renewal_on) == (
        "strategic", "Acme Corp", date(2027, 3, 31),
    )  # fmt: skip
    assert member.customer_fields == {"advisory_candidate": True, "region": "EMEA"}


def test_facts_left_out_keep_their_value(ctx, make_member):
    member = _member(make_member)
    services.set_customer_attributes(member, "10", "smb", by=None, tier="growth")
    services.set_customer_attributes(member, "20", "smb", by=None)
    db.session.expire_all()
    member = db.session.get(Member, member.id)
    assert member.tier == "growth" and str(member.customer_value) == "20.00"


@pytest.mark.parametrize(
    "facts, field",
    [
        ({"renewal_on": "next spring"}, "renewal_on"),
        ({"fields": ["not", "an", "object"]}, "fields"),
        ({"fields": {"bad name!": 1}}, "fields"),
        ({"fields": {"nested": {"a": 1}}}, "fields"),
        ({"tier": "t" * 41}, "tier"),
    ],
)
def test_bad_facts_are_refused_and_change_nothing(ctx, make_member, facts, field):
    member = _member(make_member)
    services.set_customer_attributes(member, "10", "smb", by=None, tier="growth")
    with pytest.raises(Invalid) as refused:
        services.set_customer_attributes(member, "99", "enterprise", by=None, **facts)
    assert field in refused.value.fields
    db.session.rollback()
    db.session.expire_all()
    member = db.session.get(Member, member.id)
    assert (member.tier, member.segment) == ("growth", "smb")
