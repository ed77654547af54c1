"""The help flow in a real browser: a visitor describes a problem, sees solved
threads suggested while typing, reads the solution inline and says it solved the
problem (a deflection is counted); another still needs help and opens a support
case, whose reference is shown. Also: similar questions while asking, and the
staff chart."""

import json
import re
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, watch

pytestmark = pytest.mark.browser


def api(base, path, token=None, body=None):
    request = urllib.request.Request(  # noqa: S310 - the live server on loopback
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.load(response)


def figures(base) -> dict:
    token = api(base, "/api/v1/auth/token", body={"email": "admin@example.com",
                                                   "password": DEMO_PASSWORD})["token"]  # fmt: skip
    return api(base, "/api/v1/analytics/deflection", token)


def wait_for(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_suggestions_solved_my_problem_and_still_need_help(live_server, browser):
    before = figures(live_server)

    # A visitor describes the problem; suggestions appear while typing.
    visitor = browser.new_context()
    page = visitor.new_page()
    problems = watch(page)
    page.goto(f"{live_server}/help")
    page.locator("#help-q").press_sequentially("invoice needs our VAT number", delay=20)
    suggestion = page.locator(".suggestion").first
    expect(suggestion).to_contain_text("Invoice needs our VAT number", timeout=10_000)

    # The solution opens inline; it solved the problem.
    suggestion.locator("summary").click()
    expect(suggestion.locator(".solution-inline")).to_contain_text("Tax ID")
    suggestion.get_by_role("button", name="This solved my problem").click()
    expect(suggestion.locator(".solved-note")).to_have_text(
        "Glad that helped! Thank you for letting us know."
    )
    wait_for(lambda: figures(live_server)["deflected"] == before["deflected"] + 1)
    assert problems == []
    visitor.close()

    # Another visitor still needs help and opens a case.
    other = browser.new_context()
    page = other.new_page()
    problems = watch(page)
    page.goto(f"{live_server}/help")
    page.locator("#help-q").press_sequentially("workspace pending verification", delay=20)
    suggestion = page.locator(".suggestion").first
    expect(suggestion).to_contain_text("pending verification", timeout=10_000)
    suggestion.locator("summary").click()
    suggestion.get_by_role("link", name="Still need help").click()
    expect(page.locator("#still-need-help")).to_be_in_viewport()
    expect(page.locator("#subject")).to_have_value("workspace pending verification")
    expect(page.get_by_role("button", name="Ask the community")).to_be_visible()
    page.fill("#description", "The TXT record has been on the root domain since Monday.")
    page.fill("#email", "robin@visitor.example")
    page.get_by_role("button", name="Open a case").click()
    reference = page.locator("#case-result .case-reference")
    expect(reference).to_have_text(re.compile(r"^CASE-[A-Z0-9]{8}$"))
    expect(page.locator("#case-result")).to_contain_text("robin@visitor.example")
    after = figures(live_server)
    assert after["escalated"] == before["escalated"] + 1
    assert after["deflected"] == before["deflected"] + 1
    assert problems == []
    other.close()


def test_similar_questions_while_asking(live_server, browser):
    context = browser.new_context()
    page = context.new_page()
    problems = watch(page)
    page.goto(f"{live_server}/login")
    page.fill("#email", "jordan@acme.example")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/s/billing/new")
    page.locator("#title").press_sequentially("Where do I add a VAT number to invoices", delay=10)
    similar = page.locator("#similar")
    expect(similar).to_be_visible(timeout=10_000)
    expect(similar).to_contain_text("Your question may already be answered")
    expect(similar.locator(".similar-item").first).to_contain_text("Invoice needs our VAT number")
    expect(similar.locator(".similar-item").first.locator("mark").first).to_be_visible()
    assert problems == []
    context.close()


def test_staff_see_the_deflection_chart(live_server, browser):
    context = browser.new_context()
    page = context.new_page()
    problems = watch(page)
    page.goto(f"{live_server}/login")
    page.fill("#email", "support@example.com")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="Deflection").click()
    expect(page.locator("h1")).to_have_text("Deflection and savings")
    page.wait_for_function("() => window.Chart && Chart.getChart('deflection-chart')")
    points = page.evaluate("() => Chart.getChart('deflection-chart').data.datasets[0].data.length")
    assert points == 30
    assert problems == []
    context.close()
