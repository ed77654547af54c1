"""The HubSpot connector against a fake that refuses what HubSpot refuses."""

from __future__ import annotations

import json

import pytest
import requests

from crm_bridge.connectors.hubspot import HubSpotConnector
from tests.crm_bridge.connectors.builders import delivery, member


def connect(fake, **settings) -> HubSpotConnector:
    return HubSpotConnector.from_config(
        {"CRM_HUBSPOT_TOKEN": fake.token, "CRM_HUBSPOT_BASE_URL": fake.url, **settings}
    )


def everything(company: str | None = None):
    alice = member(1)
    return [
        delivery(
            "d1",
            "contact",
            alice,
            reputation=120,
            rank="Expert",
            social_value=3.5,
            deflected_cases=4,
            engagement_level="champion",
            last_active="2026-11-20T10:00:00+00:00",
        ),
        delivery(
            "d2",
            "activity",
            alice,
            type="answer_accepted",
            title="How to <export>",
            url="https://community.example.com/t/7",
            at="2026-11-22T09:00:00+00:00",
        ),
        delivery(
            "d3",
            "case",
            alice,
            reference="CASE-7",
            subject="Export fails",
            description="It fails.",
            thread_url="https://community.example.com/t/7",
        ),
        delivery(
            "d4",
            "lead",
            alice,
            subject="Asked about pricing",
            description="Wants 50 seats",
            url="https://community.example.com/t/9",
        ),
        delivery(
            "d5",
            "task",
            alice,
            subject="Call back about renewal",
            url="https://community.example.com/t/9",
        ),
        delivery(
            "d6",
            "account_activity",
            member(1, account=company),
            idea_title="Dark mode",
            status="planned",
            note="Planned for Q1",
            url="https://community.example.com/i/3",
        ),
    ]


def test_every_delivery_kind_becomes_the_right_hubspot_object(hubspot_fake):
    company = hubspot_fake.insert("companies", name="Acme")
    outcomes = connect(hubspot_fake).deliver(everything(company))

    assert [o.status for o in outcomes] == ["delivered"] * 6
    [contact] = hubspot_fake.find("contacts", email="member1@example.com")
    assert outcomes[0].external_id == contact["id"]
    assert contact["parley_reputation"] == "120" and contact["parley_rank"] == "Expert"
    assert contact["parley_social_value"] == "3.5"
    assert contact["parley_last_active"] == "1795168800000"  # ms since the epoch

    [note] = hubspot_fake.find("notes", parley_delivery_id="d2")
    assert "How to &lt;export&gt;" in note["hs_note_body"]
    assert hubspot_fake.associated("notes", note["id"], "contacts") == [contact["id"]]

    [ticket] = hubspot_fake.find("tickets", parley_case_reference="CASE-7")
    assert outcomes[2].external_id == ticket["id"]
    assert ticket["subject"] == "Export fails" and ticket["hs_pipeline_stage"] == "1"
    assert "https://community.example.com/t/7" in ticket["content"]
    assert hubspot_fake.associated("tickets", ticket["id"], "contacts") == [contact["id"]]

    [lead] = hubspot_fake.find("tasks", parley_delivery_id="d4")
    assert (
        lead["hs_task_subject"] == "Lead: Asked about pricing"
        and lead["hs_task_priority"] == "HIGH"
    )
    [task] = hubspot_fake.find("tasks", parley_delivery_id="d5")
    assert hubspot_fake.associated("tasks", task["id"], "contacts") == [contact["id"]]

    [account_note] = hubspot_fake.find("notes", parley_delivery_id="d6")
    assert "Idea you asked for is now planned" in account_note["hs_note_body"]
    assert hubspot_fake.associated("notes", account_note["id"], "companies") == [company]


def test_delivering_a_batch_again_leaves_one_object_each(hubspot_fake):
    first = connect(hubspot_fake).deliver(everything())
    # A fresh connector (a restarted worker) knows nothing of what was created.
    again = connect(hubspot_fake).deliver(everything())

    assert [o.external_id for o in again] == [o.external_id for o in first]
    assert {t: len(hubspot_fake.objects[t]) for t in ("contacts", "tickets", "notes", "tasks")} == {
        "contacts": 1,
        "tickets": 1,
        "notes": 2,
        "tasks": 2,
    }


def test_a_retry_inside_the_search_index_lag_creates_nothing_twice(hubspot_fake):
    hubspot_fake.search_lag = 60  # what was just created is not searchable yet
    connector = connect(hubspot_fake)
    first = connector.deliver(everything())
    again = connector.deliver(everything())
    assert [o.external_id for o in again] == [o.external_id for o in first]
    assert len(hubspot_fake.objects["notes"]) == 2
    assert len(hubspot_fake.objects["tickets"]) == 1


def test_a_worked_ticket_is_not_moved_back_by_a_retry(hubspot_fake):
    connector = connect(hubspot_fake)
    [outcome] = connector.deliver(
        [delivery("c", "case", member(1), reference="R1", subject="Help")]
    )
    hubspot_fake.update("tickets", outcome.external_id, hs_pipeline_stage="3")
    connector.deliver([delivery("c", "case", member(1), reference="R1", subject="Help")])
    [ticket] = hubspot_fake.find("tickets", parley_case_reference="R1")
    assert ticket["hs_pipeline_stage"] == "3"


def test_batches_over_100_are_split(hubspot_fake):
    hubspot_fake.burst_limit = 1000
    batch = [delivery(f"d{n}", "contact", member(n), reputation=n) for n in range(250)]
    outcomes = connect(hubspot_fake).deliver(batch)
    assert {o.status for o in outcomes} == {"delivered"}
    sizes = [len(r.json()["inputs"]) for r in hubspot_fake.requests_to("POST", "/batch/upsert")]
    assert sizes == [100, 100, 50]
    assert len(hubspot_fake.objects["contacts"]) == 250


def test_two_updates_of_one_contact_in_a_batch_apply_in_order(hubspot_fake):
    outcomes = connect(hubspot_fake).deliver(
        [
            delivery("a", "contact", member(1), reputation=1),
            delivery("b", "contact", member(1, "MEMBER1@example.com"), reputation=2),
        ]
    )
    assert [o.status for o in outcomes] == ["delivered", "delivered"]
    [contact] = hubspot_fake.find("contacts", email="member1@example.com")
    assert contact["parley_reputation"] == "2"


def test_the_ten_second_limit_gives_retries_after_the_window(hubspot_fake):
    hubspot_fake.burst_limit = 1  # the contact upsert passes, the ticket search does not
    outcomes = connect(hubspot_fake).deliver(everything())
    assert outcomes[0].status == "delivered"
    assert {o.status for o in outcomes[1:]} == {"retry"}
    assert {o.retry_after for o in outcomes[1:]} == {10.0}
    assert "RATE_LIMIT" in outcomes[1].error


def test_retry_after_wins_when_hubspot_sends_it(hubspot_fake):
    hubspot_fake.burst_limit = 0
    hubspot_fake.retry_after_header = True
    [outcome] = connect(hubspot_fake).deliver([delivery("a", "contact", member(1), reputation=1)])
    assert outcome.status == "retry" and outcome.retry_after == 3.0


def test_the_search_limit_of_five_a_second(hubspot_fake):
    hubspot_fake.search_per_second = 0
    outcomes = connect(hubspot_fake).deliver(everything())
    assert outcomes[2].status == "retry" and outcomes[2].retry_after == 1.0


@pytest.mark.parametrize(
    ("status", "headers", "wait"), [(502, {"Retry-After": "30"}, 30.0), (500, {}, None)]
)
def test_server_errors_give_retries(hubspot_fake, status, headers, wait):
    hubspot_fake.inject(status, {"status": "error", "message": "upstream"}, headers)
    connector = connect(hubspot_fake)
    [outcome] = connector.deliver([delivery("a", "contact", member(1), reputation=1)])
    assert outcome.status == "retry" and outcome.retry_after == wait
    [outcome] = connector.deliver([delivery("a", "contact", member(1), reputation=1)])
    assert outcome.status == "delivered"


def test_a_bad_token_is_a_retry_and_writes_nothing(hubspot_fake):
    connector = HubSpotConnector(token="pat-wrong", base_url=hubspot_fake.url)
    outcomes = connector.deliver(everything())
    assert {o.status for o in outcomes} == {"retry"}
    assert "INVALID_AUTHENTICATION" in outcomes[0].error
    assert hubspot_fake.objects["contacts"] == {}


def test_a_record_hubspot_refuses_is_rejected_alone(hubspot_fake):
    outcomes = connect(hubspot_fake).deliver(
        [
            delivery("a", "contact", member(1), reputation=1),
            delivery("b", "contact", member(2, "not-an-address"), reputation=1),
            delivery("c", "contact", member(3), reputation="lots"),
            delivery("d", "contact", member(4), reputation=4),
            delivery(
                "e", "activity", member(2, "not-an-address"), type="kudos_received", title="K"
            ),
        ]
    )
    assert [o.status for o in outcomes] == [
        "delivered",
        "rejected",
        "rejected",
        "delivered",
        "rejected",
    ]
    assert "VALIDATION_ERROR" in outcomes[1].error and "INVALID_EMAIL" in outcomes[1].error
    assert "INVALID_DECIMAL" in outcomes[2].error
    assert {c["email"] for c in hubspot_fake.find("contacts")} == {
        "member1@example.com",
        "member4@example.com",
    }
    assert hubspot_fake.objects["notes"] == {}


def test_configured_property_names_are_used(hubspot_fake):
    connector = connect(
        hubspot_fake, CRM_HUBSPOT_PROPERTIES=json.dumps({"rank": "parley_engagement_level"})
    )
    [outcome] = connector.deliver([delivery("a", "contact", member(1), rank="Guru")])
    assert outcome.status == "delivered"
    [contact] = hubspot_fake.find("contacts")
    assert contact["parley_engagement_level"] == "Guru" and "parley_rank" not in contact


def test_pull_brings_back_ticket_statuses_and_changed_contacts(hubspot_fake):
    connector = connect(hubspot_fake)
    connector.deliver(everything())
    [contact] = hubspot_fake.find("contacts")
    hubspot_fake.update(
        "contacts",
        contact["id"],
        parley_segment="Enterprise",
        parley_tier="Gold",
        parley_customer_value="125000.5",
        company="Acme",
        parley_renewal_date="2027-03-01",
    )
    [ticket] = hubspot_fake.find("tickets")
    hubspot_fake.update(
        "tickets", ticket["id"], hs_pipeline_stage="4", hs_resolution="Use the new export."
    )
    connector.deliver([delivery("x", "case", member(2), reference="CASE-8", subject="Other")])
    [other] = hubspot_fake.find("tickets", parley_case_reference="CASE-8")
    hubspot_fake.update("tickets", other["id"], hs_pipeline_stage="2")

    pulled = connector.pull(["CASE-7", "CASE-8", "CASE-unknown"])

    by_email = {c.email: c for c in pulled.contacts}
    alice = by_email["member1@example.com"]
    assert (alice.segment, alice.tier, alice.account_name) == ("Enterprise", "Gold", "Acme")
    assert str(alice.customer_value) == "125000.5" and alice.renewal_on.isoformat() == "2027-03-01"
    assert alice.external_id == contact["id"]
    assert [(c.reference, c.status, c.resolution) for c in pulled.cases] == [
        ("CASE-7", "closed", "Use the new export."),
        ("CASE-8", "pending", None),
    ]

    connector.deliver([delivery("y", "contact", member(3), reputation=1)])
    again = connector.pull()
    # Only what changed since (the last contact seen is read again: same-millisecond changes).
    assert {c.email for c in again.contacts} == {"member2@example.com", "member3@example.com"}


def test_settings_are_checked_when_the_connector_is_built():
    with pytest.raises(ValueError, match="CRM_HUBSPOT_TOKEN"):
        HubSpotConnector.from_config({})
    with pytest.raises(ValueError, match="CRM_HUBSPOT_PROPERTIES"):
        HubSpotConnector.from_config({"CRM_HUBSPOT_TOKEN": "t", "CRM_HUBSPOT_PROPERTIES": "{"})
    connector = HubSpotConnector.from_config({"CRM_HUBSPOT_TOKEN": "t"})
    assert connector.base_url == "https://api.hubapi.com"


# -- the fake itself refuses what HubSpot refuses ----------------------------------


def test_the_fake_refuses_what_hubspot_refuses(hubspot_fake):
    upsert = f"{hubspot_fake.url}/crm/v3/objects/contacts/batch/upsert"
    auth = {"Authorization": f"Bearer {hubspot_fake.token}"}

    def contact(n):
        return {"idProperty": "email", "id": f"m{n}@example.com", "properties": {}}

    anonymous = requests.post(upsert, json={"inputs": [contact(1)]}, timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["category"] == "INVALID_AUTHENTICATION"

    too_many = requests.post(
        upsert, json={"inputs": [contact(n) for n in range(101)]}, headers=auth, timeout=5
    )
    assert too_many.status_code == 400 and too_many.json()["category"] == "VALIDATION_ERROR"

    twice = requests.post(
        upsert, json={"inputs": [contact(1), contact(1)]}, headers=auth, timeout=5
    )
    assert twice.status_code == 400 and "Duplicate IDs" in twice.json()["message"]

    unknown = requests.post(
        upsert,
        json={"inputs": [{**contact(1), "properties": {"karma": "1"}}]},
        headers=auth,
        timeout=5,
    )
    assert unknown.status_code == 400 and "PROPERTY_DOESNT_EXIST" in unknown.json()["message"]

    not_unique = requests.post(
        upsert,
        json={"inputs": [{"idProperty": "firstname", "id": "Ada", "properties": {}}]},
        headers=auth,
        timeout=5,
    )
    assert not_unique.status_code == 400

    ticket = requests.post(
        f"{hubspot_fake.url}/crm/v3/objects/tickets/batch/create",
        json={"inputs": [{"properties": {"subject": "No pipeline"}}]},
        headers=auth,
        timeout=5,
    )
    assert ticket.status_code == 400

    orphan = requests.post(
        f"{hubspot_fake.url}/crm/v3/objects/notes/batch/create",
        json={
            "inputs": [
                {
                    "properties": {"hs_timestamp": "1700000000000"},
                    "associations": [
                        {
                            "to": {"id": "999999"},
                            "types": [
                                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}
                            ],
                        }
                    ],
                }
            ]
        },
        headers=auth,
        timeout=5,
    )
    assert orphan.status_code == 400

    wrong_method = requests.get(upsert, headers=auth, timeout=5)
    assert wrong_method.status_code == 405

    hubspot_fake.burst_limit = 0  # no room left in the ten-second window
    limited = requests.post(upsert, json={"inputs": [contact(1)]}, headers=auth, timeout=5)
    assert limited.status_code == 429
    assert limited.json()["errorType"] == "RATE_LIMIT"
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert hubspot_fake.objects["contacts"] == {} and hubspot_fake.objects["tickets"] == {}


def test_through_failures_and_lost_answers_hubspot_ends_as_the_community_says(hubspot_fake):
    """30% of requests fail: refused before HubSpot acts, or acted on with the answer lost."""
    hubspot_fake.burst_limit = 10_000
    hubspot_fake.fail_before, hubspot_fake.fail_after = 0.2, 0.1
    connector = connect(hubspot_fake)
    batch = [delivery(f"c{n}", "contact", member(n), reputation=n) for n in range(20)]
    batch += [
        delivery(f"a{n}", "activity", member(n), type="kudos_received", title="K")
        for n in range(0, 20, 2)
    ]
    batch += [
        delivery(f"s{n}", "case", member(n), reference=f"CASE-{n}", subject="Help")
        for n in range(0, 20, 4)
    ]
    pending, rounds = list(batch), 0
    while pending and rounds < 60:
        outcomes = connector.deliver(pending)
        assert "rejected" not in {o.status for o in outcomes}
        pending = [d for d, o in zip(pending, outcomes, strict=True) if o.status == "retry"]
        rounds += 1
    assert pending == [] and hubspot_fake.failures > 0

    contacts = {c["email"]: c for c in hubspot_fake.find("contacts")}
    assert len(contacts) == 20
    assert all(contacts[f"member{n}@example.com"]["parley_reputation"] == str(n) for n in range(20))
    notes = hubspot_fake.find("notes")
    assert sorted(n["parley_delivery_id"] for n in notes) == sorted(
        f"a{n}" for n in range(0, 20, 2)
    )
    assert all(hubspot_fake.associated("notes", n["id"], "contacts") for n in notes)
    tickets = hubspot_fake.find("tickets")
    assert len(tickets) == 5
    assert all(hubspot_fake.associated("tickets", t["id"], "contacts") for t in tickets)


def test_invalid_contact_data_is_rejected_without_sending_it(hubspot_fake):
    outcomes = connect(hubspot_fake).deliver(
        [
            delivery("a", "contact", member(1), last_active="yesterday"),
            delivery("b", "contact", member(2), reputation=2),
        ]
    )
    assert [o.status for o in outcomes] == ["rejected", "delivered"]
