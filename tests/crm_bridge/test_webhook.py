"""The signed webhook connector against a receiver that verifies like a CRM would."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

import pytest

from crm_bridge.connectors import build, connector_class, enabled_names
from crm_bridge.connectors.base import ContactRef, Delivery
from crm_bridge.connectors.webhook import WebhookConnector, signature

from .conftest import SECRET


def delivery(n=1, **data) -> Delivery:
    return Delivery(
        id=f"00000000-0000-0000-0000-{n:012d}",
        kind="activity",
        contact=ContactRef(7, "ana@example.com", None, "Acme"),
        data={"type": "question_asked", "title": "Hi", **data},
        occurred_at=datetime(2026, 11, 23, 12, 0, 0),
    )


def test_each_event_is_one_signed_post_with_its_id_as_idempotency_key(receiver):
    connector = WebhookConnector(receiver.url, SECRET)
    outcomes = connector.deliver([delivery(1), delivery(2)])
    assert [o.status for o in outcomes] == ["delivered", "delivered"]
    assert outcomes[0].external_id == "crm-00000000"
    assert receiver.bad_signatures == 0
    event = receiver.events[delivery(1).id]
    assert event["type"] == "activity"
    assert event["occurred_at"] == "2026-11-23T12:00:00Z"
    assert event["member"] == {"id": 7, "email": "ana@example.com"}
    assert event["data"]["title"] == "Hi"


def test_a_wrong_secret_is_refused_by_the_receiver(receiver):
    outcome = WebhookConnector(receiver.url, "not-the-secret").deliver([delivery()])[0]
    assert outcome.status == "rejected" and "401" in outcome.error
    assert receiver.bad_signatures == 1 and receiver.events == {}


def test_the_signature_covers_timestamp_and_body():
    body = b'{"id":"x"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", "1700000000", body) == "sha256=" + expected
    assert signature("s3cret", "1700000001", body) != "sha256=" + expected


def test_temporary_failures_retry_and_bad_content_is_rejected(receiver):
    connector = WebhookConnector(receiver.url, SECRET)
    receiver.down = True
    assert connector.deliver([delivery()])[0].status == "retry"
    receiver.down = False
    rejected = connector.deliver([delivery(3, poison=True)])[0]
    assert rejected.status == "rejected" and "400" in rejected.error
    receiver.fail_rate = 1.0
    outcome = connector.deliver([delivery(4)])[0]
    assert outcome.status == "retry" and "HTTP" in outcome.error


def test_an_unreachable_receiver_is_a_retry_not_a_crash():
    connector = WebhookConnector("http://127.0.0.1:9/nothing", SECRET, timeout=2)
    outcome = connector.deliver([delivery()])[0]
    assert outcome.status == "retry" and outcome.error.startswith("network")


def test_configuration_names_missing_settings():
    with pytest.raises(ValueError, match="PARLEY_CRM_WEBHOOK_URL"):
        WebhookConnector.from_config({"CRM_WEBHOOK_SECRET": "x"})
    with pytest.raises(ValueError, match="PARLEY_CRM_WEBHOOK_SECRET"):
        WebhookConnector.from_config({"CRM_WEBHOOK_URL": "https://crm.example/hook"})
    connector = build(
        "webhook", {"CRM_WEBHOOK_URL": "https://crm.example/h", "CRM_WEBHOOK_SECRET": "s"}
    )
    assert isinstance(connector, WebhookConnector)


def test_connectors_are_chosen_by_name_and_several_can_run():
    assert enabled_names({"CRM": "builtin, webhook,builtin"}) == ["builtin", "webhook"]
    assert enabled_names({}) == ["builtin"]
    assert enabled_names({"CRM": "none"}) == []
    assert connector_class("builtin").name == "builtin"
    with pytest.raises(ValueError, match="Unknown CRM connector"):
        connector_class("dynamics")


def test_the_body_is_plain_json_receivers_can_parse(receiver):
    WebhookConnector(receiver.url, SECRET).deliver([delivery(9, note="ünïcode ✓")])
    assert (
        json.dumps(receiver.events[delivery(9).id]["data"]["note"])
        == '"\\u00fcn\\u00efcode \\u2713"'
    )
