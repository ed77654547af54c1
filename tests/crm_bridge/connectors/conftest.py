"""Fixtures: the Salesforce and HubSpot fakes on 127.0.0.1 and connectors pointed at them."""

from __future__ import annotations

import pytest

from tests.crm_bridge.connectors.fake_hubspot import FakeHubSpot
from tests.crm_bridge.connectors.fake_salesforce import FakeSalesforce


@pytest.fixture
def salesforce_fake():
    fake = FakeSalesforce().start()
    yield fake
    fake.stop()


@pytest.fixture
def hubspot_fake():
    fake = FakeHubSpot().start()
    yield fake
    fake.stop()
