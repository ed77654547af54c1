"""The advisory journey in a real browser: a host invites a customer by e-mail; the
customer follows the e-mailed link, registers, accepts the charter and posts a
suggestion; the host answers it; the customer sees the answer in the action log and
the "Advisory committee" badge on their public profile."""

import email
import os
import re
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, sign_in

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SPACE = "customer-advisory-board"
CUSTOMER = "riley@newcustomer.example"


def delivered_invitation(tmp_path_factory) -> str:
    """Deliver the outbox the way the mail worker does (files in instance/mail) and
    read the invitation link from the customer's e-mail."""
    instance = max(
        Path(tmp_path_factory.getbasetemp()).glob("live-instance*"), key=lambda p: p.stat().st_mtime
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["DATABASE_URL"] = (instance / "database-url").read_text()
    env["PARLEY_INSTANCE"] = str(instance)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "send"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    for path in sorted((instance / "mail").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == CUSTOMER:
            body = message.get_body(preferencelist=("plain",)).get_content()
            return re.search(r"https?://\S+/advisory/invitations/\S+", body).group(0)
    raise AssertionError("no invitation e-mail for the customer")


def test_invite_register_accept_suggest_answer_badge(live_server, browser, tmp_path_factory):
    host_ctx, customer_ctx = browser.new_context(), browser.new_context()
    host, customer = host_ctx.new_page(), customer_ctx.new_page()
    errors = []
    for page in (host, customer):
        page.on("pageerror", lambda error: errors.append(str(error)))

    # The host (the demo admin who created the committee) invites by e-mail.
    sign_in(host, live_server, "admin@example.com", DEMO_PASSWORD)
    host.goto(f"{live_server}/advisory/{SPACE}/members")
    host.fill("#email", CUSTOMER)
    host.click("text=Send the invitation")
    expect(host.locator(".flash-success")).to_contain_text(f"Invitation e-mailed to {CUSTOMER}")

    # The customer follows the e-mailed link, registers and comes back to it.
    link = delivered_invitation(tmp_path_factory)
    path = link.split("/advisory/", 1)[1]
    customer.goto(f"{live_server}/advisory/{path}")
    expect(customer.locator("h1")).to_contain_text("You are invited")
    customer.click("text=Create an account")
    customer.fill("#email", CUSTOMER)
    customer.fill("#display_name", "Riley Newcustomer")
    customer.fill("#password", "a long enough password")
    customer.click("button[type=submit]")
    expect(customer.locator("h1")).to_contain_text("Join Customer Advisory Board")
    expect(customer.locator(".charter")).to_contain_text("Time commitment")

    # Joining is refused until the charter is accepted.
    customer.click("text=Join the committee")
    expect(customer.locator(".error")).to_contain_text("Accept the charter")
    customer.check("#accept_charter")
    customer.click("text=Join the committee")
    expect(customer.locator(".flash-success")).to_contain_text("Welcome to Customer Advisory")

    # A suggestion on the committee's private board.
    customer.click("text=Make a suggestion")
    customer.fill("#title", "Audit log export for compliance teams")
    customer.fill("#body", "Our auditors need a monthly export of every admin action.")
    customer.click("text=Submit idea")
    expect(customer.locator("h1")).to_contain_text("Audit log export for compliance teams")
    idea_url = customer.url

    # The host answers it with a status and the company's response.
    host.goto(idea_url)
    host.select_option("#status", "planned")
    host.fill("#note", "Planned for Q3: a monthly CSV export of the audit log.")
    host.click("text=Change status and tell the voters")
    expect(host.locator(".flash-success")).to_be_visible()

    # The customer sees the answer in the action log, and the badge on their profile.
    customer.goto(f"{live_server}/advisory/{SPACE}/action-log")
    entry = customer.locator(".action-entry", has_text="Audit log export for compliance teams")
    expect(entry).to_contain_text("Planned for Q3: a monthly CSV export of the audit log.")
    expect(entry).to_contain_text("Morgan Reyes")
    customer.click("a.me")
    expect(customer.locator("h1 .advisory-badge")).to_have_text("Advisory committee")
    # A visitor sees the badge, never the committee.
    visitor = browser.new_context().new_page()
    visitor.goto(customer.url)
    expect(visitor.locator("h1 .advisory-badge")).to_be_visible()
    expect(visitor.locator("body")).not_to_contain_text("Customer Advisory Board")
    assert errors == []
