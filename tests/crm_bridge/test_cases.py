"""Escalation and the knowledge loop: a case from a thread reaches the CRM, its
status and resolution come back to the thread, and an agent publishes the
resolution as the answer. Also the signed inbound webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from sqlalchemy import select

from community import help
from community.extensions import db
from community.models import Member, SupportCase, Thread
from crm_bridge.models import Case, InboundEvent

from .conftest import drain

INBOUND = "inbound-secret"


def open_case(app, member, thread):
    with app.test_request_context():
        case = help.open_case(
            "Invoices show the wrong VAT number",
            "Since the last update the VAT id is gone.",
            by=db.session.get(Member, member.id),
            visitor_key=f"m:{member.id}",
            thread_id=thread.id,
        )
        return case.reference


def crm_case(app, reference) -> Case:
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        db.session.expunge(case)
        return case


def test_an_escalated_case_reaches_the_crm_and_its_status_comes_back(
    app, client, login, make_member, make_thread, admin
):
    customer, bystander = make_member("Cara Customer"), make_member("Bert Bystander")
    thread = make_thread(title="VAT number missing on invoices")
    reference = open_case(app, customer, thread)
    drain(app)
    case = crm_case(app, reference)
    assert case.connector == "builtin" and case.status == "open" and case.support_case_id
    with app.app_context():
        assert db.session.scalar(select(SupportCase.status)) == "open"  # pending_sync no more
    login(customer)
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert reference in page and "Open" in page
    # Support solves it in the CRM; the customer sees status and resolution on the thread.
    client.post("/logout")
    login(admin)
    saved = client.post(
        f"/crm/cases/{case.id}",
        data={
            "status": "solved",
            "resolution": "Re-enter the VAT id under Billing > Tax; fixed in 5.3.",
        },
    )
    assert saved.status_code == 302
    client.post("/logout")
    login(customer)
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "Solved" in page and "Re-enter the VAT id" in page
    assert "Publish resolution" not in page  # agents only
    client.post("/logout")
    login(bystander)
    assert reference not in client.get(f"/t/{thread.id}").get_data(as_text=True)


def test_an_agent_publishes_the_resolution_as_the_answer_in_one_click(
    app, client, login, make_member, make_thread, admin
):
    customer = make_member()
    thread = make_thread(title="Webhook signature mismatch")
    reference = open_case(app, customer, thread)
    drain(app)
    case = crm_case(app, reference)
    login(admin)
    early = client.post(f"/crm/cases/{case.id}/publish")
    assert early.status_code == 302
    with app.app_context():
        assert db.session.get(Thread, thread.id).reply_count == 0  # not solved yet
    client.post(
        f"/crm/cases/{case.id}",
        data={"status": "closed", "resolution": "Sign the raw body, not re-serialised JSON."},
    )
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "Publish resolution as answer" in page
    client.post(f"/crm/cases/{case.id}/publish", data={"back": "thread"})
    with app.app_context():
        refreshed = db.session.get(Thread, thread.id)
        assert refreshed.reply_count == 1
        assert refreshed.accepted_post is not None
        assert "raw body" in refreshed.accepted_post.body
    again = client.post(f"/crm/cases/{case.id}/publish")
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(Thread, thread.id).reply_count == 1  # only once


def _signed(body: dict, secret=INBOUND, at=None):
    raw = json.dumps(body).encode()
    timestamp = str(int(at if at is not None else time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
    headers = {
        "X-Parley-Timestamp": timestamp,
        "X-Parley-Signature": "sha256=" + digest.hexdigest(),
        "Content-Type": "application/json",
    }
    return raw, headers


def test_the_inbound_webhook_updates_members_and_cases_once(app, client, make_member, make_thread):
    app.config["CRM_INBOUND_SECRET"] = INBOUND
    member = make_member(email="vip@acme.example")
    body = {
        "id": "evt-1",
        "type": "contact.updated",
        "data": {
            "email": "vip@acme.example",
            "segment": "enterprise",
            "tier": "Platinum",
            "customer_value": "250000",
            "account_name": "Acme",
            "renewal_on": "2027-06-30",
            "fields": {"advisory_candidate": True},
        },
    }
    raw, headers = _signed(body)
    answer = client.post("/api/v1/crm/inbound", data=raw, headers=headers)
    assert answer.status_code == 200 and answer.get_json() == {"status": "applied"}
    with app.app_context():
        m = db.session.get(Member, member.id)
        assert (m.segment, m.tier, m.account_name) == ("enterprise", "Platinum", "Acme")
        assert str(m.customer_value) == "250000.00" and m.customer_fields == {
            "advisory_candidate": True
        }
    replay = client.post("/api/v1/crm/inbound", data=raw, headers=headers)
    assert replay.get_json() == {"status": "duplicate"}
    # Case status from the CRM
    reference = open_case(app, member, make_thread())
    raw, headers = _signed(
        {
            "id": "evt-2",
            "type": "case.updated",
            "data": {"reference": reference, "status": "resolved", "resolution": "Fixed."},
        }
    )
    assert client.post("/api/v1/crm/inbound", data=raw, headers=headers).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(SupportCase.status)) == "solved"


def test_the_inbound_webhook_refuses_forgeries_and_replays_of_old_requests(app, client):
    app.config["CRM_INBOUND_SECRET"] = INBOUND
    body = {"id": "evt-9", "type": "case.updated", "data": {}}
    raw, headers = _signed(body, secret="wrong")
    assert client.post("/api/v1/crm/inbound", data=raw, headers=headers).status_code == 401
    raw, headers = _signed(body, at=time.time() - 3600)
    assert client.post("/api/v1/crm/inbound", data=raw, headers=headers).status_code == 401
    raw, headers = _signed({"id": "", "type": "nope", "data": []})
    answer = client.post("/api/v1/crm/inbound", data=raw, headers=headers)
    assert answer.status_code == 422 and set(answer.get_json()["error"]["fields"]) == {
        "id",
        "type",
        "data",
    }
    with app.app_context():
        assert list(db.session.scalars(select(InboundEvent))) == []


def test_without_a_secret_the_inbound_webhook_does_not_exist(client):
    raw, headers = _signed({"id": "x", "type": "case.updated", "data": {}})
    assert client.post("/api/v1/crm/inbound", data=raw, headers=headers).status_code == 404


def test_a_support_agent_escalates_a_thread_for_its_author(
    app, client, login, make_member, make_thread
):
    author = make_member("Tess Thread")
    thread = make_thread(author=author, title="Exports time out after 30 seconds")
    login(make_member())
    assert "Open a case" not in client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert client.post(f"/crm/threads/{thread.id}/escalate").status_code == 404
    client.post("/logout")
    login(make_member(roles=["support_agent"]))
    assert "Open a case" in client.get(f"/t/{thread.id}").get_data(as_text=True)
    client.post(f"/crm/threads/{thread.id}/escalate", data={"description": "Big account"})
    drain(app)
    with app.app_context():
        case = db.session.scalar(select(SupportCase))
        assert (case.member_id, case.thread_id, case.status) == (author.id, thread.id, "open")
        assert "Big account" in case.description
        assert db.session.scalar(select(Case).where(Case.reference == case.reference))
