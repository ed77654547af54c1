"""The peer-support journey in a real browser: ask, answer live, accept, kudos."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def register(page, base, email, name, password="a long enough password"):
    page.goto(f"{base}/register")
    page.fill("#email", email)
    page.fill("#display_name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text(f"Welcome to the community, {name}")


def test_ask_answer_live_accept_and_kudos(live_server, browser):
    asker_ctx, helper_ctx = browser.new_context(), browser.new_context()
    asker, helper = asker_ctx.new_page(), helper_ctx.new_page()
    errors = []
    for page in (asker, helper):
        page.on("pageerror", lambda error: errors.append(str(error)))

    register(asker, live_server, "quinn@customer.example", "Quinn Asker")
    register(helper, live_server, "riley@customer.example", "Riley Helper")

    # Quinn asks a question in the Integrations space.
    asker.goto(f"{live_server}/s/integrations")
    asker.click("text=Ask a question")
    asker.fill("#title", "Webhook retries: how many times do you retry?")
    asker.fill("#body", "Our endpoint was down for an hour. Will we get the events **again**?")
    asker.fill("#tags", "webhooks, retries")
    asker.click("button:has-text('Post')")
    expect(asker.locator("h1")).to_contain_text("Webhook retries")
    expect(asker.locator(".post-body strong")).to_have_text("again")
    thread_url = asker.url
    # Wait until the page's live connection has joined the thread's room.
    asker.wait_for_function("() => window.parley && window.parley.socket.connected")

    # Riley answers; Quinn's open page shows the reply without a reload.
    helper.goto(thread_url)
    helper.fill("#body", "Yes: failed deliveries are retried with backoff for 24 hours.")
    helper.click("button:has-text('Post reply')")
    expect(helper.locator("#replies .post")).to_have_count(1)
    live_reply = asker.locator("#replies .post")
    expect(live_reply).to_have_count(1, timeout=10_000)
    expect(live_reply).to_contain_text("retried with backoff")
    expect(asker.locator("#unread-badge")).to_have_text("1")

    # Quinn accepts it: the thread is solved and the solution sits under the question.
    asker.reload()
    asker.click("button:has-text('Accept as solution')")
    expect(asker.locator(".solution")).to_contain_text("retried with backoff")
    expect(asker.locator("h1 .pill-solved")).to_be_visible()

    # Quinn gives kudos; Riley's open page sees the count change live.
    helper.goto(thread_url)
    helper.wait_for_function("() => window.parley && window.parley.socket.connected")
    asker.locator("#replies .kudos").first.click()
    expect(asker.locator("#replies .kudos").first).to_have_attribute("aria-pressed", "true")
    expect(helper.locator("#replies .kudos-count").first).to_have_text("1", timeout=10_000)

    # Riley is notified of the accepted answer and the kudos.
    helper.goto(f"{live_server}/notifications")
    expect(helper.locator(".note")).to_have_count(2)
    expect(helper.locator(".note").first).to_contain_text(re.compile("kudos|accepted"))
    assert errors == []
    asker_ctx.close()
    helper_ctx.close()
