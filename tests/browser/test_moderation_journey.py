"""The moderation journey in a real browser: a trusted member flags a spam reply,
the moderator's open review queue shows it live, the moderator hides it with a
reason, and its author finds out why."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SPAM = "Cheapest licences anywhere"  # a demo reply by Dex Deals (moderation/demo.py)


def test_flag_spam_hide_it_from_the_live_queue_author_notified(live_server, browser):
    contexts = [browser.new_context() for _ in range(3)]
    moderator, member, author = (ctx.new_page() for ctx in contexts)
    errors = []
    for page in (moderator, member, author):
        page.on("pageerror", lambda error: errors.append(str(error)))

    # The moderator keeps the review queue open; the spam reply is not in it yet.
    sign_in(moderator, live_server, "moderator@example.com")
    moderator.goto(f"{live_server}/moderation/")
    queue = moderator.locator("#queue")
    expect(queue).to_be_visible()
    flagged_text = moderator.locator(".queue-text", has_text=SPAM)
    expect(flagged_text).to_have_count(0)
    moderator.wait_for_function("() => window.parley && window.parley.socket.connected")
    moderator.wait_for_timeout(300)  # the join_moderation round trip

    # Jordan (trust level 2 in the demo) finds the spam reply and flags it.
    sign_in(member, live_server, "jordan@acme.example")
    threads = member.request.get(f"{live_server}/api/v1/spaces/integrations/threads?per_page=100")
    first = min(t["id"] for t in threads.json()["items"])
    member.goto(f"{live_server}/t/{first}")
    spam_post = member.locator("article.post", has_text=SPAM)
    expect(spam_post).to_be_visible()
    spam_post.locator("a.flag-link").click()
    expect(member.locator("h1")).to_have_text("Flag for the moderators")
    member.check("input[value=spam]")
    member.fill("#note", "Advertising licences")
    member.click("button:has-text('Send flag')")
    expect(member.locator(".flash-success")).to_contain_text("moderators will take a look")

    # The moderator's queue shows it without a reload; they hide it with a reason.
    item = moderator.locator(".queue-item", has=flagged_text)
    expect(item).to_be_visible(timeout=10_000)
    expect(item).to_contain_text("Advertising licences")
    expect(item).to_contain_text("trust level 0")
    item.locator("input[name=reason]").fill("Advertising is not allowed here")
    item.locator("button[value=hide]").click()
    expect(moderator.locator(".flash-success")).to_contain_text("Done: hide")
    expect(flagged_text).to_have_count(0)

    # Others no longer see it; the author is told why.
    member.goto(f"{live_server}/t/{first}")
    expect(member.locator("#replies")).not_to_contain_text(SPAM)
    sign_in(author, live_server, "dex@deals.example")
    author.goto(f"{live_server}/notifications")
    expect(author.locator(".notifications")).to_contain_text(
        "was hidden by a moderator. Reason: Advertising is not allowed here"
    )
    author.goto(f"{live_server}/t/{first}")
    expect(author.locator("article.post", has_text=SPAM)).to_contain_text(
        "Hidden by a moderator: Advertising is not allowed here"
    )
    assert errors == []
    for ctx in contexts:
        ctx.close()
