"""The BottleCRM connector against a real BottleCRM 1.35.0 server (`make test-crm`)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crm_bridge.connectors.base import ContactRef, Delivery
from crm_bridge.connectors.bottlecrm import BottleCRMConnector

pytestmark = pytest.mark.crm


def delivery(kind, contact, data=None, id=None):
    return Delivery(
        id=id or f"{kind}-{uuid.uuid4().hex}",
        kind=kind,
        contact=contact,
        data=data or {},
        occurred_at=datetime.now(UTC),
    )


def member(unique, email=None, account=None, member_id=None):
    return ContactRef(
        member_id=member_id if member_id is not None else uuid.uuid4().int % 10**9,
        email=email or f"member-{unique}@example.com",
        account=account,
    )


def delivered(outcomes):
    assert [o.status for o in outcomes] == ["delivered"] * len(outcomes), outcomes
    return [o.external_id for o in outcomes]


FIGURES = {
    "reputation": 420,
    "rank": "Expert",
    "social_value": Decimal("1234.50"),
    "deflected_cases": 7,
    "engagement_level": "champion",
    "last_active": datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
}


def test_contact_is_created_with_community_figures_and_account(connector, bottle, unique):
    ref = member(unique, account=f"Acme {unique}")

    [contact_id] = delivered(connector.deliver([delivery("contact", ref, FIGURES)]))

    shown = bottle.contact(contact_id)["contact_obj"]
    assert shown["email"] == ref.email
    assert shown["account_detail"]["name"] == f"Acme {unique}"
    assert shown["custom_fields"] == {
        "parley_member_id": str(ref.member_id),
        "parley_reputation": 420.0,
        "parley_rank": "Expert",
        "parley_social_value": 1234.5,
        "parley_deflected_cases": 7.0,
        "parley_engagement_level": "champion",
        "parley_last_active": "2026-11-20",
    }


def test_redelivered_contact_updates_the_one_contact(connector, bottle, unique):
    ref = member(unique)
    first = delivery("contact", ref, {"reputation": 10})
    [contact_id] = delivered(connector.deliver([first]))

    # The same row retried, then a later update: still one contact, with the news.
    assert delivered(connector.deliver([first])) == [contact_id]
    assert delivered(connector.deliver([delivery("contact", ref, {"reputation": 11})])) == [
        contact_id
    ]

    assert [row["id"] for row in bottle.contacts_with_email(ref.email)] == [contact_id]
    assert bottle.contact(contact_id)["contact_obj"]["custom_fields"]["parley_reputation"] == 11.0


def test_email_lookup_ignores_addresses_that_merely_contain_it(connector, bottle, unique):
    domain = f"x{unique}.example.com"
    longer = member(unique, email=f"aa@{domain}")
    shorter = member(unique, email=f"a@{domain}")
    [longer_id] = delivered(connector.deliver([delivery("contact", longer, {"reputation": 1})]))

    # BottleCRM's own filter for a@ answers with aa@: the quirk the connector works around.
    listed = bottle.call("GET", "/api/contacts/", email=f"a@{domain}")["results"]
    assert [row["email"] for row in listed] == [f"aa@{domain}"]

    [shorter_id] = delivered(connector.deliver([delivery("contact", shorter, {"reputation": 2})]))

    assert shorter_id != longer_id
    assert bottle.contact(shorter_id)["contact_obj"]["email"] == f"a@{domain}"
    untouched = bottle.contact(longer_id)["contact_obj"]["custom_fields"]
    assert untouched["parley_reputation"] == 1.0
    assert untouched["parley_member_id"] == str(longer.member_id)


def test_contact_found_by_email_is_linked_when_bottlecrm_had_it_already(connector, bottle, unique):
    email = f"Known.{unique}@Example.com"
    made = bottle.call(
        "POST", "/api/contacts/", {"first_name": "Known", "last_name": "Person", "email": email}
    )
    ref = member(unique, email=email.lower())

    [contact_id] = delivered(connector.deliver([delivery("contact", ref, {"rank": "Newcomer"})]))

    assert contact_id == made["id"]
    fields = bottle.contact(contact_id)["contact_obj"]["custom_fields"]
    assert fields["parley_member_id"] == str(ref.member_id)


def test_a_contact_linked_to_another_member_is_not_taken_over(connector, bottle, unique):
    first = member(unique)
    delivered(connector.deliver([delivery("contact", first, {"reputation": 5})]))
    other = ContactRef(member_id=first.member_id + 1, email=first.email)

    [outcome] = connector.deliver([delivery("contact", other, {"reputation": 99})])

    assert outcome.status == "rejected"
    assert f"linked to Parley member {first.member_id}" in outcome.error
    [row] = bottle.contacts_with_email(first.email)
    assert row["custom_fields"]["parley_reputation"] == 5.0


def test_activity_is_noted_once_on_the_contact_timeline(connector, bottle, unique):
    ref = member(unique)
    activity = delivery(
        "activity",
        ref,
        {
            "type": "answer_accepted",
            "title": "How do I rotate keys?",
            "url": f"https://community.example.com/t/{unique}",
            "at": "2026-11-20T10:00:00+00:00",
        },
    )

    [comment_id] = delivered(connector.deliver([activity]))
    assert delivered(connector.deliver([activity])) == [comment_id]

    [contact] = bottle.contacts_with_email(ref.email)
    comments = [c for c in bottle.contact(contact["id"])["comments"] if activity.id in c["comment"]]
    assert [c["id"] for c in comments] == [comment_id]
    assert "answer_accepted" in comments[0]["comment"]
    assert f"https://community.example.com/t/{unique}" in comments[0]["comment"]


def test_escalated_case_is_created_once_with_contact_and_thread_link(connector, bottle, unique):
    ref = member(unique, account=f"Case Co {unique}")
    reference = f"CASE-{unique}"
    case = delivery(
        "case",
        ref,
        {
            "reference": reference,
            "subject": "Exports fail with a timeout",
            "description": "Since Monday every CSV export times out.",
            "thread_url": f"https://community.example.com/t/{unique}",
            "email": ref.email,
        },
    )

    [case_id] = delivered(connector.deliver([case]))
    # A retry of the same row, and a second row for the same escalation: no duplicate.
    assert delivered(connector.deliver([case, delivery("case", ref, case.data)])) == [
        case_id,
        case_id,
    ]

    [row] = bottle.cases_with_reference(reference)
    assert row["id"] == case_id
    assert row["status"] == "New"
    assert row["name"] == f"Exports fail with a timeout [{reference}]"
    assert f"https://community.example.com/t/{unique}" in row["description"]
    [contact] = bottle.contacts_with_email(ref.email)
    assert [c["id"] for c in row["contacts"]] == [contact["id"]]
    assert str(row["account"]["id"] if isinstance(row["account"], dict) else row["account"]) == (
        str(contact["account"])
    )


def test_case_status_comes_back_by_polling_after_an_agent_works_it(connector, bottle, unique):
    reference = f"POLL-{unique}"
    [case_id] = delivered(
        connector.deliver(
            [delivery("case", member(unique), {"reference": reference, "subject": "Login loop"})]
        )
    )
    assert [(c.reference, c.status) for c in connector.pull([reference]).cases] == [
        (reference, "open")
    ]

    bottle.call("PATCH", f"/api/cases/{case_id}/", {"status": "Pending"})
    assert connector.pull([reference]).cases[0].status == "pending"

    bottle.call(
        "PATCH",
        f"/api/cases/{case_id}/",
        {
            "status": "Closed",
            "custom_fields": {"parley_resolution": "Clear the SSO cookie, then sign in again."},
        },
    )
    [status] = connector.pull([reference, f"UNKNOWN-{unique}"]).cases
    assert status.reference == reference
    assert status.status == "closed"
    assert status.resolution == "Clear the SSO cookie, then sign in again."


def test_lead_and_task_are_created_once(connector, bottle, unique):
    ref = member(unique)
    lead = delivery(
        "lead", ref, {"subject": f"Asks about SSO {unique}", "url": "https://c.example/t/1"}
    )
    task = delivery("task", ref, {"subject": f"Call back {unique}", "description": "Churn risk"})

    lead_id, task_id = delivered(connector.deliver([lead, task]))
    assert delivered(connector.deliver([lead, task])) == [lead_id, task_id]

    leads = bottle.call("GET", "/api/leads/", cf_parley_delivery_id=lead.id)
    assert [row["id"] for row in leads["open_leads"]["open_leads"]] == [lead_id]
    tasks = bottle.call("GET", "/api/tasks/", title=f"Call back {unique}")["tasks"]
    assert [row["id"] for row in tasks] == [task_id]
    shown = bottle.call("GET", f"/api/tasks/{task_id}/")
    [contact] = bottle.contacts_with_email(ref.email)
    assert contact["id"] in str(shown)


def test_idea_status_is_noted_once_on_the_account(connector, bottle, unique):
    account = f"Voters Inc {unique}"
    note = delivery(
        "account_activity",
        member(unique, account=account),
        {"idea_title": "Dark mode", "status": "planned", "note": "", "url": "https://c/i/9"},
    )

    [comment_id] = delivered(connector.deliver([note]))
    assert delivered(connector.deliver([note])) == [comment_id]

    accounts = bottle.call("GET", "/api/accounts/", name=account)["active_accounts"]
    [row] = accounts["open_accounts"]
    comments = bottle.call("GET", f"/api/accounts/{row['id']}/")["comments"]
    matching = [c for c in comments if note.id in c["comment"]]
    assert [c["id"] for c in matching] == [comment_id]
    assert "Idea Dark mode is now planned." in matching[0]["comment"]


def test_pull_brings_back_customer_attributes_set_in_bottlecrm(connector, bottle, unique):
    ref = member(unique, account=f"Renewals {unique}")
    [contact_id] = delivered(connector.deliver([delivery("contact", ref, {"reputation": 3})]))
    bottle.call(
        "PATCH",
        f"/api/contacts/{contact_id}/",
        {
            "custom_fields": {
                "customer_segment": "enterprise",
                "customer_tier": "gold",
                "customer_value": 120000,
                "renewal_on": "2027-03-31",
            }
        },
    )

    [mine] = [c for c in connector.pull().contacts if c.external_id == contact_id]

    assert mine.email == ref.email
    assert (mine.segment, mine.tier) == ("enterprise", "gold")
    assert mine.customer_value == Decimal("120000.0")
    assert mine.renewal_on == date(2027, 3, 31)
    assert mine.account_name == f"Renewals {unique}"


def test_a_poison_delivery_is_rejected_without_blocking_the_batch(connector, bottle, unique):
    good = member(unique)
    poison = ContactRef(member_id=uuid.uuid4().int % 10**9, email="not an e-mail address")

    outcomes = connector.deliver(
        [delivery("contact", poison, {"reputation": 1}), delivery("contact", good, {})]
    )

    assert outcomes[0].status == "rejected"
    assert "HTTP 400" in outcomes[0].error and "email" in outcomes[0].error
    assert outcomes[1].status == "delivered"
    assert bottle.contacts_with_email(good.email)


def test_a_bad_token_is_a_configuration_error_to_retry(bottlecrm_server, bottle, unique):
    wrong = BottleCRMConnector.from_config(
        {
            "CRM_BOTTLECRM_URL": bottlecrm_server.url,
            "CRM_BOTTLECRM_TOKEN": "bcrm_pat_" + "x" * 43,
        }
    )
    ref = member(unique)

    outcomes = wrong.deliver(
        [delivery("contact", ref, {}), delivery("case", ref, {"reference": unique})]
    )

    assert [o.status for o in outcomes] == ["retry", "retry"]
    for outcome in outcomes:
        assert "HTTP 403" in outcome.error
        assert "CRM_BOTTLECRM_TOKEN" in outcome.error
    assert bottle.contacts_with_email(ref.email) == []


def test_a_deactivated_custom_field_is_brought_back_before_writing(
    bottlecrm_server, bottle, unique
):
    [definition] = [
        row
        for row in bottle.call("GET", "/api/custom-fields/", target_model="Case")["definitions"]
        if row["key"] == "parley_thread_url"
    ]
    # BottleCRM would drop the value of an inactive field without a word.
    bottle.call("DELETE", f"/api/custom-fields/{definition['id']}/")
    fresh = BottleCRMConnector(bottlecrm_server.url, bottlecrm_server.token)
    reference = f"FIELD-{unique}"

    delivered(
        fresh.deliver(
            [
                delivery(
                    "case",
                    member(unique),
                    {"reference": reference, "thread_url": f"https://c.example/t/{unique}"},
                )
            ]
        )
    )

    [row] = bottle.cases_with_reference(reference)
    assert row["custom_fields"]["parley_thread_url"] == f"https://c.example/t/{unique}"
    assert bottle.call("GET", f"/api/custom-fields/{definition['id']}/")["is_active"] is True
