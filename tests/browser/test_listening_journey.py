"""The listening journey in a real browser: a support agent keeps the queue open,
an angry customer posts, the alert arrives live, and the agent escalates the
thread to a support case from the queue."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_an_angry_post_reaches_the_open_queue_live_and_is_escalated(live_server, browser):
    agent_ctx, customer_ctx = browser.new_context(), browser.new_context()
    agent, customer = agent_ctx.new_page(), customer_ctx.new_page()
    errors = []
    for page in (agent, customer):
        page.on("pageerror", lambda error: errors.append(str(error)))

    sign_in(agent, live_server, "support@example.com")
    agent.goto(f"{live_server}/listening/")
    expect(agent.locator("h1")).to_have_text("Listening")
    expect(agent.locator("#listening-chart")).to_be_visible()
    badge = agent.locator("#unread-badge")
    unread = int(badge.get_attribute("data-count") or 0)
    agent.wait_for_function("() => window.parley && window.parley.socket.connected")

    sign_in(customer, live_server, "jordan@acme.example")
    customer.goto(f"{live_server}/s/billing/new")
    customer.fill("#title", "Charged twice for the third month")
    customer.fill(
        "#body",
        "Charged twice again and nobody answers my tickets. Absolutely unacceptable, "
        "we are furious.",
    )
    customer.click("main button[type=submit]")
    expect(customer.locator("h1")).to_contain_text("Charged twice for the third month")

    # The agent's open queue shows the alert and the bell without a reload.
    arrived = agent.locator("#alert-list .alert-item", has_text="Charged twice for the third month")
    expect(arrived).to_be_visible(timeout=10_000)
    expect(arrived).to_contain_text("At risk")
    expect(agent.locator("#new-alerts")).to_be_visible()
    expect(badge).to_have_text(str(unread + 1), timeout=10_000)

    # After a reload the full entry offers the escalation; the case is opened.
    agent.reload()
    entry = agent.locator(".alert-item", has_text="Charged twice for the third month")
    expect(entry).to_contain_text("Jordan Blake")
    entry.locator("button:has-text('Escalate to a support case')").click()
    expect(agent.locator(".flash-success")).to_contain_text(
        re.compile(r"Support case CASE-\w+ opened for Jordan Blake")
    )
    assert errors == []
    agent_ctx.close()
    customer_ctx.close()
