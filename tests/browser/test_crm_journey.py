"""The CRM bridge in a real browser against the demo: the admins' sync page draws
the delivery-lag chart and replays the dead letter; a customer's new question
reaches their customer 360 through the app's own outbox worker within seconds;
the solved demo case shows its resolution on the thread."""

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in, watch

pytestmark = pytest.mark.browser


def test_sync_page_360_and_the_outbox_worker(live_server, browser):
    admin_ctx, customer_ctx = browser.new_context(), browser.new_context()
    admin, customer = admin_ctx.new_page(), customer_ctx.new_page()
    problems = watch(admin)
    sign_in(admin, live_server, "admin@example.com")
    admin.get_by_role("link", name="Customers").click()
    expect(admin.locator("h1")).to_have_text("Customers")
    admin.get_by_role("link", name="CRM sync").click()
    admin.wait_for_function("() => window.Chart && Chart.getChart('lag-chart')")
    points = admin.evaluate(
        "() => Chart.getChart('lag-chart').data.datasets[0].data.filter(v => v !== null).length"
    )
    assert points > 10  # the demo's two days of deliveries
    expect(admin.locator("#stat-dead")).to_have_text("1")
    admin.click("#dead-letters button:has-text('Replay')")
    expect(admin.locator(".flash")).to_contain_text("Re-queued 1 dead letter(s).")

    # Jordan asks a question; the app's worker delivers it to the built-in CRM.
    sign_in(customer, live_server, "jordan@acme.example")
    customer.goto(f"{live_server}/s/integrations")
    customer.click("text=Ask a question")
    customer.fill("#title", "Can the CRM sync run every minute?")
    customer.fill("#body", "We would like fresher numbers in Salesforce.")
    customer.click("button:has-text('Post')")
    expect(customer.locator("h1")).to_contain_text("Can the CRM sync run every minute?")

    admin.goto(f"{live_server}/crm/contacts?q=jordan")
    admin.click("table.table td a >> nth=0")
    expect(admin.locator("#linked-member")).to_contain_text("Jordan Blake")
    contact_url = admin.url
    deadline = time.monotonic() + 20
    while "Can the CRM sync run every minute?" not in admin.locator("#timeline").inner_text():
        assert time.monotonic() < deadline, "the worker did not deliver within 20 s"
        time.sleep(1)
        admin.goto(contact_url)
    expect(admin.locator("#support-cases")).to_contain_text("solved")

    # The case support solved in the demo: Jordan sees status and resolution on the
    # thread; the admin publishes the resolution as the answer in one click.
    admin.locator("#support-cases a:has-text('thread')").first.click()
    thread_url = admin.url
    expect(admin.locator(".crm-cases")).to_contain_text("deactivated seats are credited")
    customer.goto(thread_url)
    expect(customer.locator(".crm-case-status")).to_have_text("Solved")
    expect(customer.locator(".crm-cases")).to_contain_text("credit note")
    admin.click("button:has-text('Publish resolution as answer')")
    expect(admin.locator(".solution")).to_contain_text("deactivated seats are credited")
    assert problems == []
    admin_ctx.close()
    customer_ctx.close()
