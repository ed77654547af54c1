"""The Salesforce connector against a fake that refuses what Salesforce refuses."""

from __future__ import annotations

import json

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crm_bridge.connectors.salesforce import SalesforceConnector
from tests.crm_bridge.connectors.builders import delivery, member
from tests.crm_bridge.connectors.fake_salesforce import FakeSalesforce


def connect(fake, **settings) -> SalesforceConnector:
    config = {
        "CRM_SALESFORCE_INSTANCE_URL": fake.url,
        "CRM_SALESFORCE_CLIENT_ID": fake.client_id,
        "CRM_SALESFORCE_CLIENT_SECRET": fake.client_secret,
        **settings,
    }
    return SalesforceConnector.from_config(config)


def everything(account_id: str | None = None):
    alice = member(1, account=account_id)
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
            title="How to export",
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
            email="member1@example.com",
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
            description="",
            url="https://community.example.com/t/9",
        ),
        delivery(
            "d6",
            "account_activity",
            alice,
            idea_title="Dark mode",
            status="planned",
            note="Planned for Q1",
            url="https://community.example.com/i/3",
        ),
    ]


def test_every_delivery_kind_becomes_the_right_salesforce_record(salesforce_fake):
    account = salesforce_fake.insert("Account", Name="Acme")
    outcomes = connect(salesforce_fake).deliver(everything(account))

    assert [o.status for o in outcomes] == ["delivered"] * 6
    [contact] = salesforce_fake.find("Contact", Parley_Member_Id__c="1")
    assert outcomes[0].external_id == contact["Id"]
    assert contact["Email"] == "member1@example.com"
    assert contact["Parley_Reputation__c"] == 120
    assert contact["Parley_Rank__c"] == "Expert"
    assert contact["Parley_Engagement_Level__c"] == "champion"
    assert contact["Parley_Last_Active__c"] == "2026-11-20T10:00:00.000Z"

    [activity] = salesforce_fake.find("Task", Parley_Delivery_Id__c="d2")
    assert activity["WhoId"] == contact["Id"] and activity["Status"] == "Completed"
    assert activity["Subject"] == "How to export" and activity["ActivityDate"] == "2026-11-22"

    [case] = salesforce_fake.find("Case", Parley_Case_Reference__c="CASE-7")
    assert case["ContactId"] == contact["Id"] and case["Status"] == "New"
    assert case["Parley_Thread_URL__c"] == "https://community.example.com/t/7"
    assert "https://community.example.com/t/7" in case["Description"]

    [lead] = salesforce_fake.find("Lead", Parley_Delivery_Id__c="d4")
    assert lead["Email"] == "member1@example.com" and lead["LeadSource"] == "Community"

    [task] = salesforce_fake.find("Task", Parley_Delivery_Id__c="d5")
    assert task["Status"] == "Not Started" and task["WhoId"] == contact["Id"]

    [note] = salesforce_fake.find("Task", Parley_Delivery_Id__c="d6")
    assert note["WhatId"] == account
    assert note["Subject"] == "Idea you asked for is now planned: Dark mode"


def test_a_batch_costs_one_request_per_object_and_stays_in_collections(salesforce_fake):
    connect(salesforce_fake).deliver(everything())
    api = [
        (r.method, r.path.split("/v62.0")[-1]) for r in salesforce_fake.log if "/data/" in r.path
    ]
    assert api == [
        ("PATCH", "/composite/sobjects/Contact/Parley_Member_Id__c"),
        ("PATCH", "/composite/sobjects/Task/Parley_Delivery_Id__c"),
        ("PATCH", "/composite/sobjects/Case/Parley_Case_Reference__c"),
        ("PATCH", "/composite/sobjects/Lead/Parley_Delivery_Id__c"),
    ]


def test_delivering_a_batch_again_leaves_one_record_each(salesforce_fake):
    connector = connect(salesforce_fake)
    first = connector.deliver(everything())
    again = connector.deliver(everything())

    assert [o.external_id for o in again] == [o.external_id for o in first]
    assert len(salesforce_fake.records["Contact"]) == 1
    assert len(salesforce_fake.records["Case"]) == 1
    assert len(salesforce_fake.records["Lead"]) == 1
    assert len(salesforce_fake.records["Task"]) == 3


def test_a_later_activity_finds_the_contact_created_earlier(salesforce_fake):
    connector = connect(salesforce_fake)
    [created] = connector.deliver([delivery("c", "contact", member(5), reputation=1)])
    [activity] = connector.deliver(
        [delivery("a", "activity", member(5), type="kudos_received", title="Kudos", url="u")]
    )
    assert activity.status == "delivered"
    [task] = salesforce_fake.find("Task", Parley_Delivery_Id__c="a")
    assert task["WhoId"] == created.external_id


def test_a_linked_contact_is_updated_by_its_salesforce_id(salesforce_fake):
    existing = salesforce_fake.insert("Contact", LastName="Lovelace", Email="ada@example.com")
    [outcome] = connect(salesforce_fake).deliver(
        [delivery("c", "contact", member(9, "ada@example.com", external_id=existing), reputation=7)]
    )
    assert outcome.status == "delivered" and outcome.external_id == existing
    [contact] = salesforce_fake.find("Contact", Id=existing)
    assert contact["LastName"] == "Lovelace" and contact["Parley_Reputation__c"] == 7
    assert salesforce_fake.requests_to("PATCH", "/composite/sobjects")[0].path.endswith(
        "/composite/sobjects"
    )


def test_an_expired_session_is_renewed_once_and_the_batch_goes_through(salesforce_fake):
    connector = connect(salesforce_fake)
    connector.deliver(everything())
    salesforce_fake.expire_tokens()

    outcomes = connector.deliver([delivery("d9", "contact", member(2), reputation=3)])

    assert outcomes[0].status == "delivered"
    assert len(salesforce_fake.requests_to("POST", "/services/oauth2/token")) == 2


def test_wrong_credentials_are_a_retry_naming_the_refusal(salesforce_fake):
    connector = connect(salesforce_fake, CRM_SALESFORCE_CLIENT_SECRET="wrong")
    [outcome] = connector.deliver([delivery("d", "contact", member(1), reputation=1)])
    assert outcome.status == "retry" and "invalid_client" in outcome.error
    assert salesforce_fake.records["Contact"] == {}


def rsa_key_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_the_jwt_bearer_flow_signs_an_assertion_salesforce_accepts(tmp_path):
    private, public = rsa_key_pair()
    fake = FakeSalesforce(public_key=public).start()
    try:
        key_file = tmp_path / "salesforce.pem"
        key_file.write_text(private)
        settings = {
            "CRM_SALESFORCE_INSTANCE_URL": fake.url,
            "CRM_SALESFORCE_CLIENT_ID": fake.client_id,
            "CRM_SALESFORCE_PRIVATE_KEY": str(key_file),
            "CRM_SALESFORCE_USERNAME": fake.username,
        }
        [ok] = SalesforceConnector.from_config(settings).deliver(
            [delivery("d", "contact", member(1), reputation=1)]
        )
        assert ok.status == "delivered"

        stranger = {**settings, "CRM_SALESFORCE_USERNAME": "someone@example.com"}
        [refused] = SalesforceConnector.from_config(stranger).deliver(
            [delivery("e", "contact", member(2), reputation=1)]
        )
        assert refused.status == "retry" and "invalid_grant" in refused.error

        other_private, _ = rsa_key_pair()
        forged = {**settings, "CRM_SALESFORCE_PRIVATE_KEY": other_private}
        [refused] = SalesforceConnector.from_config(forged).deliver(
            [delivery("f", "contact", member(3), reputation=1)]
        )
        assert refused.status == "retry" and "invalid assertion" in refused.error
    finally:
        fake.stop()


def test_more_than_200_records_are_split_into_collections_of_200(salesforce_fake):
    batch = [delivery(f"d{n}", "contact", member(n), reputation=n) for n in range(450)]
    outcomes = connect(salesforce_fake).deliver(batch)

    assert {o.status for o in outcomes} == {"delivered"}
    sizes = [len(r.json()["records"]) for r in salesforce_fake.requests_to("PATCH", "/composite/")]
    assert sizes == [200, 200, 50]
    assert len(salesforce_fake.records["Contact"]) == 450


def test_two_updates_of_one_contact_in_a_batch_apply_in_order(salesforce_fake):
    outcomes = connect(salesforce_fake).deliver(
        [
            delivery("a", "contact", member(1), reputation=1),
            delivery("b", "contact", member(2), reputation=5),
            delivery("c", "contact", member(1), reputation=2),
        ]
    )
    assert [o.status for o in outcomes] == ["delivered"] * 3
    [contact] = salesforce_fake.find("Contact", Parley_Member_Id__c="1")
    assert contact["Parley_Reputation__c"] == 2


def test_the_request_limit_gives_retries_with_a_backoff(salesforce_fake):
    salesforce_fake.request_limit = 0
    connector = connect(salesforce_fake, CRM_SALESFORCE_LIMIT_BACKOFF="120")
    outcomes = connector.deliver(everything())

    assert {o.status for o in outcomes} == {"retry"}
    assert {o.retry_after for o in outcomes} == {120.0}
    assert "REQUEST_LIMIT_EXCEEDED" in outcomes[0].error


@pytest.mark.parametrize(
    ("status", "headers", "wait"), [(503, {"Retry-After": "7"}, 7.0), (500, {}, None)]
)
def test_server_errors_give_retries(salesforce_fake, status, headers, wait):
    salesforce_fake.inject(
        status, [{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}], headers
    )
    connector = connect(salesforce_fake)
    [outcome] = connector.deliver([delivery("d", "contact", member(1), reputation=1)])
    assert outcome.status == "retry" and outcome.retry_after == wait
    assert salesforce_fake.records["Contact"] == {}

    [outcome] = connector.deliver([delivery("d", "contact", member(1), reputation=1)])
    assert outcome.status == "delivered"


def test_an_unreachable_salesforce_gives_retries():
    connector = SalesforceConnector(
        instance_url="http://127.0.0.1:9", client_id="x", client_secret="y"
    )
    [outcome] = connector.deliver([delivery("d", "contact", member(1), reputation=1)])
    assert outcome.status == "retry" and "ConnectionError" in outcome.error


def test_a_record_salesforce_refuses_is_rejected_alone(salesforce_fake):
    outcomes = connect(salesforce_fake).deliver(
        [
            delivery("a", "contact", member(1), reputation=1),
            delivery("b", "contact", member(2, "not-an-address"), reputation=1),
            delivery("c", "contact", member(3), reputation=1),
        ]
    )
    assert [o.status for o in outcomes] == ["delivered", "rejected", "delivered"]
    assert "INVALID_EMAIL_ADDRESS" in outcomes[1].error
    assert {c["Parley_Member_Id__c"] for c in salesforce_fake.records["Contact"].values()} == {
        "1",
        "3",
    }


def test_a_record_that_spoils_the_whole_request_is_found_and_rejected_alone(salesforce_fake):
    batch = [delivery(f"d{n}", "contact", member(n), reputation=n) for n in range(8)]
    batch[5] = delivery("d5", "contact", member(5), reputation="lots")
    outcomes = connect(salesforce_fake).deliver(batch)

    assert [o.status for o in outcomes] == ["delivered"] * 5 + ["rejected"] + ["delivered"] * 2
    assert "JSON_PARSER_ERROR" in outcomes[5].error
    assert len(salesforce_fake.records["Contact"]) == 7


def test_a_custom_activity_object_and_field_map(salesforce_fake):
    connector = connect(
        salesforce_fake,
        CRM_SALESFORCE_ACTIVITY_OBJECT="Parley_Activity__c",
        CRM_SALESFORCE_FIELD_MAP=json.dumps({"rank": "Parley_Engagement_Level__c"}),
    )
    outcomes = connector.deliver(
        [
            delivery("c", "contact", member(1), rank="Guru"),
            delivery(
                "a", "activity", member(1), type="question_asked", title="Why?", url="https://x/t/1"
            ),
        ]
    )
    assert [o.status for o in outcomes] == ["delivered", "delivered"]
    [contact] = salesforce_fake.find("Contact", Parley_Member_Id__c="1")
    assert contact["Parley_Engagement_Level__c"] == "Guru" and "Parley_Rank__c" not in contact
    [activity] = salesforce_fake.find("Parley_Activity__c", Parley_Delivery_Id__c="a")
    assert activity["Parley_Contact__c"] == contact["Id"]
    assert activity["Parley_Type__c"] == "question_asked" and activity["Name"] == "Why?"


def test_pull_brings_back_case_statuses_and_changed_contacts(salesforce_fake):
    connector = connect(salesforce_fake)
    connector.deliver(everything())
    acme = salesforce_fake.insert("Account", Name="Acme")
    [contact] = salesforce_fake.find("Contact", Parley_Member_Id__c="1")
    salesforce_fake.update(
        "Contact",
        contact["Id"],
        AccountId=acme,
        Parley_Segment__c="Enterprise",
        Parley_Tier__c="Gold",
        Parley_Customer_Value__c=125000.5,
        Parley_Renewal_Date__c="2027-03-01",
    )
    salesforce_fake.insert("Contact", LastName="Not in the community")
    [case] = salesforce_fake.find("Case", Parley_Case_Reference__c="CASE-7")
    salesforce_fake.update(
        "Case", case["Id"], Status="Closed", Parley_Resolution__c="Use the new export."
    )

    pulled = connector.pull(["CASE-7", "CASE-unknown"])

    [attributes] = pulled.contacts
    assert attributes.email == "member1@example.com" and attributes.external_id == contact["Id"]
    assert (attributes.segment, attributes.tier, attributes.account_name) == (
        "Enterprise",
        "Gold",
        "Acme",
    )
    assert str(attributes.customer_value) == "125000.5"
    assert attributes.renewal_on.isoformat() == "2027-03-01"
    assert [(c.reference, c.status, c.resolution) for c in pulled.cases] == [
        ("CASE-7", "closed", "Use the new export.")
    ]

    connector.deliver([delivery("x", "contact", member(2), reputation=1)])
    again = connector.pull()
    # Only what changed since (the last contact seen is read again: same-second changes).
    assert [c.fields["member_id"] for c in again.contacts] == ["1", "2"]


def test_pull_follows_query_locators(salesforce_fake):
    salesforce_fake.query_page_size = 2
    connector = connect(salesforce_fake)
    connector.deliver([delivery(f"d{n}", "contact", member(n), reputation=n) for n in range(5)])
    assert len(connector.pull().contacts) == 5
    assert len(salesforce_fake.requests_to("GET", "/query/")) == 2


def test_open_and_pending_cases(salesforce_fake):
    connector = connect(salesforce_fake)
    salesforce_fake.insert("Case", Parley_Case_Reference__c="A", Status="Working")
    salesforce_fake.insert("Case", Parley_Case_Reference__c="B", Status="On Hold")
    statuses = {c.reference: c.status for c in connector.pull(["A", "B"]).cases}
    assert statuses == {"A": "open", "B": "pending"}


def test_settings_are_checked_when_the_connector_is_built():
    with pytest.raises(ValueError, match="CRM_SALESFORCE_INSTANCE_URL"):
        SalesforceConnector.from_config({"CRM_SALESFORCE_CLIENT_ID": "x"})
    with pytest.raises(ValueError, match="CLIENT_SECRET"):
        SalesforceConnector.from_config(
            {"CRM_SALESFORCE_INSTANCE_URL": "https://x", "CRM_SALESFORCE_CLIENT_ID": "x"}
        )
    with pytest.raises(ValueError, match="FIELD_MAP"):
        SalesforceConnector.from_config(
            {
                "CRM_SALESFORCE_INSTANCE_URL": "https://x",
                "CRM_SALESFORCE_CLIENT_ID": "x",
                "CRM_SALESFORCE_CLIENT_SECRET": "y",
                "CRM_SALESFORCE_FIELD_MAP": "{not json",
            }
        )


# -- the fake itself refuses what Salesforce refuses -------------------------------


def session_for(fake) -> dict:
    token = requests.post(
        f"{fake.url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
        },
        timeout=5,
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_fake_refuses_what_salesforce_refuses(salesforce_fake):
    base = f"{salesforce_fake.url}/services/data/v62.0"
    upsert = f"{base}/composite/sobjects/Contact/Parley_Member_Id__c"

    def record(n):
        return {"attributes": {"type": "Contact"}, "Parley_Member_Id__c": str(n), "LastName": "X"}

    no_auth = requests.patch(upsert, json={"records": [record(1)]}, timeout=5)
    assert no_auth.status_code == 401 and no_auth.json()[0]["errorCode"] == "INVALID_SESSION_ID"

    auth = session_for(salesforce_fake)
    too_many = requests.patch(
        upsert, json={"records": [record(n) for n in range(201)]}, headers=auth, timeout=5
    )
    assert too_many.status_code == 400 and too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"

    posted = requests.post(upsert, json={"records": [record(1)]}, headers=auth, timeout=5)
    assert posted.status_code == 405

    untyped = requests.patch(
        upsert, json={"records": [{"Parley_Member_Id__c": "1"}]}, headers=auth, timeout=5
    )
    assert untyped.status_code == 400

    unknown = requests.patch(
        upsert, json={"records": [{**record(1), "Karma__c": 1}]}, headers=auth, timeout=5
    )
    assert unknown.status_code == 400 and unknown.json()[0]["errorCode"] == "INVALID_FIELD"

    nameless = requests.patch(
        upsert,
        json={"records": [{"attributes": {"type": "Contact"}, "Parley_Member_Id__c": "9"}]},
        headers=auth,
        timeout=5,
    )
    assert nameless.json()[0]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"

    not_external = requests.patch(
        f"{base}/composite/sobjects/Contact/Email", json={"records": []}, headers=auth, timeout=5
    )
    assert not_external.status_code == 400

    quoted = requests.get(
        f"{base}/query",
        params={"q": "SELECT Id FROM Contact WHERE SystemModstamp > '2026-01-01T00:00:00Z'"},
        headers=auth,
        timeout=5,
    )
    assert quoted.status_code == 400 and quoted.json()[0]["errorCode"] == "INVALID_FIELD"

    old = requests.patch(
        f"{salesforce_fake.url}/services/data/v45.0/composite/sobjects/Contact/Parley_Member_Id__c",
        json={"records": [record(1)]},
        headers=auth,
        timeout=5,
    )
    assert old.status_code == 404
    assert salesforce_fake.records["Contact"] == {}


def test_through_failures_and_lost_answers_the_org_ends_as_the_community_says(salesforce_fake):
    """30% of requests fail: refused before Salesforce acts, or acted on with the answer lost."""
    salesforce_fake.fail_before, salesforce_fake.fail_after = 0.2, 0.1
    connector = connect(salesforce_fake)
    batch = [delivery(f"c{n}", "contact", member(n), reputation=n) for n in range(30)]
    batch += [
        delivery(f"a{n}", "activity", member(n), type="kudos_received", title="K", url="u")
        for n in range(0, 30, 3)
    ]
    batch += [
        delivery(f"s{n}", "case", member(n), reference=f"CASE-{n}", subject="Help")
        for n in range(0, 30, 5)
    ]
    pending, rounds = list(batch), 0
    while pending and rounds < 60:
        outcomes = connector.deliver(pending)
        assert "rejected" not in {o.status for o in outcomes}
        pending = [d for d, o in zip(pending, outcomes, strict=True) if o.status == "retry"]
        rounds += 1
    assert pending == [] and salesforce_fake.failures > 0

    contacts = {c["Parley_Member_Id__c"]: c for c in salesforce_fake.records["Contact"].values()}
    assert len(contacts) == 30
    assert all(c["Parley_Reputation__c"] == int(m) for m, c in contacts.items())
    tasks = salesforce_fake.records["Task"].values()
    assert len(tasks) == 10 and all(t["WhoId"] for t in tasks)
    cases = salesforce_fake.records["Case"].values()
    assert len(cases) == 6 and all(c["ContactId"] for c in cases)


def test_invalid_contact_data_is_rejected_without_sending_it(salesforce_fake):
    outcomes = connect(salesforce_fake).deliver(
        [
            delivery("a", "contact", member(1), last_active="yesterday"),
            delivery("b", "contact", member(2), reputation=2),
        ]
    )
    assert [o.status for o in outcomes] == ["rejected", "delivered"]
