"""The ideas journey in a real browser: a customer starts typing an idea, is shown
a similar one, votes for it instead; the product manager plans it with a note and
the customer's open page shows the new status and the notification live."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, sign_in

pytestmark = pytest.mark.browser

EXISTING = "Webhook retries visible in the UI"  # a demo idea, status New


def register(page, base, email, name, password="a long enough password"):
    page.goto(f"{base}/register")
    page.fill("#email", email)
    page.fill("#display_name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text(f"Welcome to the community, {name}")


def test_similar_idea_vote_status_change_reported_live(live_server, browser):
    customer_ctx, product_ctx = browser.new_context(), browser.new_context()
    customer, product = customer_ctx.new_page(), product_ctx.new_page()
    errors = []
    for page in (customer, product):
        page.on("pageerror", lambda error: errors.append(str(error)))

    register(customer, live_server, "casey@customer.example", "Casey Customer")

    # Casey starts an idea; a similar existing one is suggested while typing.
    customer.goto(f"{live_server}/ideas/new")
    similar = customer.locator("#similar-ideas")
    expect(similar).to_be_hidden()
    customer.locator("#title").press_sequentially("Webhook retries in the dashboard", delay=20)
    expect(similar).to_be_visible(timeout=10_000)
    suggestion = similar.locator("a", has_text=EXISTING)
    expect(suggestion).to_be_visible()
    expect(similar.locator("li").first).to_contain_text(EXISTING)

    # Casey follows the suggestion and votes there instead of filing a duplicate.
    suggestion.click()
    expect(customer.locator("h1")).to_have_text(EXISTING)
    idea_url = customer.url
    idea_id = re.search(r"/ideas/(\d+)", idea_url).group(1)
    count = customer.locator(f'.vote-count[data-idea-id="{idea_id}"]')
    before = int(count.inner_text())
    customer.select_option("#importance", "critical")
    customer.click("button:has-text('Vote for this idea')")
    expect(customer.locator(".flash-success")).to_contain_text("Thanks for your vote!")
    expect(count).to_have_text(str(before + 1))
    expect(customer.locator(".vote-panel")).to_contain_text("You voted for this idea")
    status = customer.locator(f'[data-idea-status="{idea_id}"]')
    expect(status).to_have_text("New")
    badge = customer.locator("#unread-badge")
    unread = int(badge.get_attribute("data-count") or 0)
    # The page is live: connected, and in the idea's room.
    customer.wait_for_function("() => window.parley && window.parley.socket.connected")

    # The product manager, in another browser, plans it with a note for every voter.
    sign_in(product, live_server, "product@example.com", DEMO_PASSWORD)
    product.goto(idea_url)
    product.select_option("#status", "planned")
    product.fill("#note", "Planned for the next release: failed deliveries and **replay**.")
    product.click("button:has-text('Change status and tell the voters')")
    expect(product.locator(".flash-success")).to_contain_text("Status changed")
    expect(product.locator(f'[data-idea-status="{idea_id}"]')).to_have_text("Planned")

    # Casey's open page shows the new status and the notification without a reload.
    expect(status).to_have_text("Planned", timeout=10_000)
    expect(status).to_have_class(re.compile(r"status-planned"))
    expect(badge).to_have_text(str(unread + 1), timeout=10_000)
    expect(badge).to_be_visible()

    # The note is on the idea's page, and the notification lists the change.
    customer.reload()
    expect(customer.locator(".timeline")).to_contain_text("failed deliveries and replay")
    customer.goto(f"{live_server}/notifications")
    note = customer.locator(".note").first
    expect(note).to_contain_text(f"“{EXISTING}” is now Planned")
    expect(note.locator("a")).to_have_attribute("href", f"/ideas/{idea_id}")
    assert errors == []
    customer_ctx.close()
    product_ctx.close()
