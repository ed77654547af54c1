"""The BottleCRM connector where no server is needed (runs in `make test`)."""

import socket
from datetime import UTC, datetime

import pytest

from crm_bridge.connectors.base import ContactRef, Delivery
from crm_bridge.connectors.bottlecrm import BottleCRMConnector


def test_built_from_its_settings():
    connector = BottleCRMConnector.from_config(
        {
            "CRM_BOTTLECRM_URL": "https://crm.example.com/",
            "CRM_BOTTLECRM_TOKEN": " bcrm_pat_abc ",
            "CRM_BOTTLECRM_TIMEOUT": "4",
        }
    )

    assert connector.name == "bottlecrm"
    assert (connector.url, connector.token, connector.timeout) == (
        "https://crm.example.com",
        "bcrm_pat_abc",
        4.0,
    )


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"CRM_BOTTLECRM_TOKEN": "bcrm_pat_abc"}, "CRM_BOTTLECRM_URL"),
        ({"CRM_BOTTLECRM_URL": "ftp://crm.example.com", "CRM_BOTTLECRM_TOKEN": "t"}, "http"),
        ({"CRM_BOTTLECRM_URL": "https://crm.example.com"}, "CRM_BOTTLECRM_TOKEN"),
        (
            {
                "CRM_BOTTLECRM_URL": "https://crm.example.com",
                "CRM_BOTTLECRM_TOKEN": "t",
                "CRM_BOTTLECRM_TIMEOUT": "soon",
            },
            "CRM_BOTTLECRM_TIMEOUT",
        ),
    ],
)
def test_a_missing_or_wrong_setting_is_named(config, named):
    with pytest.raises(ValueError, match=named):
        BottleCRMConnector.from_config(config)


def test_a_server_that_is_down_is_a_retry_for_the_whole_batch():
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = BottleCRMConnector(f"http://127.0.0.1:{port}", "bcrm_pat_whatever", timeout=3)
    now = datetime.now(UTC)
    ref = ContactRef(member_id=1, email="someone@example.com")

    outcomes = down.deliver(
        [
            Delivery(id="1", kind="contact", contact=ref, data={}, occurred_at=now),
            Delivery(id="2", kind="task", contact=None, data={}, occurred_at=now),
        ]
    )

    assert [o.status for o in outcomes] == ["retry", "retry"]
    assert all(f"unreachable at http://127.0.0.1:{port}" in o.error for o in outcomes)
