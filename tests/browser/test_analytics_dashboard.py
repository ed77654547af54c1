"""The analytics dashboard in a real browser: a support agent opens it from the
navigation, every panel draws its charts from the JSON API, and changing the date
range redraws them without a page load."""

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in, watch

pytestmark = pytest.mark.browser


def labels(page, chart_id: str) -> int:
    return page.evaluate(
        "(id) => Chart.getChart(document.querySelector(`canvas[data-chart-id='${id}']`))"
        ".data.labels.length",
        chart_id,
    )


def test_changing_the_period_redraws_every_chart(live_server, browser):
    context = browser.new_context()
    page = context.new_page()
    problems = watch(page)
    sign_in(page, live_server, "support@example.com")
    page.get_by_role("link", name="Analytics", exact=True).click()
    expect(page.locator("h1")).to_have_text("The community's return")
    dashboard = page.locator("#analytics-dashboard")
    expect(dashboard).to_have_attribute("data-loaded", "1", timeout=15_000)
    first = dashboard.get_attribute("data-period")
    assert labels(page, "support-over-time") == 30
    assert labels(page, "participation-over-time") == 30
    # The demo's community shows real figures: members, and a 90-9-1 chart.
    members = page.locator("#panel-participation dd[data-figure='members']")
    assert int(members.inner_text().replace(",", "")) > 0
    url_before = page.url

    end = date.today()
    start = end - timedelta(days=6)
    page.fill("#analytics-filter input[name=from]", start.isoformat())
    page.fill("#analytics-filter input[name=to]", end.isoformat())
    period = f"{start.isoformat()}..{end.isoformat()}"
    expect(dashboard).to_have_attribute("data-period", period, timeout=15_000)
    expect(dashboard).to_have_attribute("data-loaded", "1", timeout=15_000)
    assert period != first
    for chart_id in ("support-over-time", "participation-over-time", "listening-sentiment"):
        canvas = page.locator(f"canvas[data-chart-id='{chart_id}']")
        expect(canvas).to_have_attribute("data-period", period)
        assert labels(page, chart_id) == 7
    csv = page.locator("#panel-support .csv-link").get_attribute("href")
    assert f"from={start.isoformat()}" in csv and "format=csv" in csv
    assert page.url.split("?")[0] == url_before.split("?")[0]  # no page load, same page
    assert problems == []
    context.close()
