"""The committee: invitations, charter, membership, meetings, action log, rules,
terms, rewards, the badge, the audit event and the JSON API."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from advisory import services
from community import events
from community import services as community
from community.errors import Conflict, Invalid, NotFound
from community.extensions import db, socketio
from community.models import EmailOutbox, Notification, utcnow
from ideas import services as ideas
from moderation.models import AuditEntry

from .conftest import attached


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


# ---- invitations ----------------------------------------------------------------------


def test_an_email_invitation_is_single_use_and_stores_only_a_digest(app, cab, make_member):
    with app.test_request_context():
        invitation, url = services.invite(
            attached(cab.committee), attached(cab.host), email="Newcomer@Example.com"
        )
        token = token_of(url)
        assert token not in invitation.digest
        outbox = db.session.scalars(db.select(EmailOutbox)).all()
        mail = [m for m in outbox if m.to_address == "Newcomer@example.com"]
        assert mail and url in mail[0].body
    newcomer = make_member("New Comer", email="newcomer@example.com")
    with app.test_request_context():
        seat = services.accept_invitation(token, attached(newcomer), True)
        assert seat.charter_version == cab.committee.charter_version
        with pytest.raises(NotFound, match="already been used"):
            services.accept_invitation(token, attached(newcomer), True)


def test_invitations_expire_and_can_be_revoked(app, cab, make_member):
    guest = make_member("Gus Guest")
    app.config["ADVISORY_INVITATION_DAYS"] = 1
    with app.test_request_context():
        invitation, url = services.invite(
            attached(cab.committee), attached(cab.host), member=attached(guest)
        )
        assert invitation.expires_at - invitation.created_at == timedelta(days=1)
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        with pytest.raises(NotFound, match="expired"):
            services.accept_invitation(token_of(url), attached(guest), True)
        second, url2 = services.invite(
            attached(cab.committee), attached(cab.host), member=attached(guest)
        )
        services.revoke_invitation(second, attached(cab.host))
        with pytest.raises(NotFound, match="withdrawn"):
            services.accept_invitation(token_of(url2), attached(guest), True)
        assert not access_member(guest, cab)


def access_member(member, cab) -> bool:
    from community import access

    return access.is_space_member(attached(member), attached(cab.space))


def test_joining_requires_accepting_the_charter_and_the_right_person(app, cab, make_member):
    guest, stranger = make_member("Gus Guest"), make_member("Stan Stranger")
    with app.test_request_context():
        _inv, url = services.invite(
            attached(cab.committee), attached(cab.host), member=attached(guest)
        )
        with pytest.raises(Invalid) as refused:
            services.accept_invitation(token_of(url), attached(guest), False)
        assert "accept_charter" in refused.value.fields
        with pytest.raises(NotFound):
            services.accept_invitation(token_of(url), attached(stranger), True)
        assert not access_member(guest, cab)
        services.accept_invitation(token_of(url), attached(guest), True)
        assert access_member(guest, cab)


def test_invitation_page_sends_visitors_to_register_and_back(app, cab, client, login):
    with app.test_request_context():
        _inv, url = services.invite(
            attached(cab.committee), attached(cab.host), email="x@y.example"
        )
    path = "/advisory/invitations/" + token_of(url)
    page = client.get(path).get_data(as_text=True)
    assert "/register?next=" in page and "Customer Advisory Board" not in page
    response = client.post(
        "/register",
        data={"email": "x@y.example", "display_name": "Xavier", "password": "long enough pw!",
              "next": path},
    )  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"].endswith(path)
    page = client.get(path)
    assert "Purpose" in page.get_data(as_text=True)
    assert client.post(path, data={}).status_code == 422
    assert client.post(path, data={"accept_charter": "y"}).status_code == 302
    assert client.get("/advisory/cab").status_code == 200


# ---- membership -------------------------------------------------------------------------


def test_removing_leaving_and_the_last_host(app, cab):
    removed = []
    events.space_member_removed.connect(lambda s, **kw: removed.append(kw["reason"]), weak=False)
    with app.test_request_context():
        services.remove_member(attached(cab.committee), attached(cab.insider), attached(cab.host))
        services.leave(attached(cab.committee), attached(cab.second))
        with pytest.raises(NotFound):
            services.leave(attached(cab.committee), attached(cab.second))
        community.remove_space_member(
            attached(cab.space), attached(cab.admin), by=attached(cab.host)
        )
        with pytest.raises(Conflict):
            services.leave(attached(cab.committee), attached(cab.host))
    assert removed[:3] == ["removed", "left", "removed"]


def test_removal_cuts_an_open_socket_out_of_the_spaces_rooms(app, cab, login, make_thread):
    thread = make_thread(cab.space, cab.insider, title="Inside talk")
    http = login(cab.insider, the_client=app.test_client())
    sock = socketio.test_client(app, flask_test_client=http)
    assert sock.emit("join_thread", {"thread_id": thread.id}, callback=True) == {"ok": True}
    with app.test_request_context():
        community.reply(attached(thread), attached(cab.second), "Before removal")
    assert [e["name"] for e in sock.get_received()].count("post_created") == 1
    with app.test_request_context():
        services.remove_member(attached(cab.committee), attached(cab.insider), attached(cab.host))
    assert sock.is_connected()  # still connected for the rest of the site...
    with app.test_request_context():
        community.reply(attached(thread), attached(cab.second), "After removal")
    # ...but out of the space's rooms at once.
    assert [e["name"] for e in sock.get_received()].count("post_created") == 0


def test_a_term_ending_makes_members_alumni_with_the_badge_and_no_access(
    app, cab, make_member, invite_and_join
):
    alum = make_member("Al Alum")
    with app.test_request_context():
        cohort = services.create_cohort(
            attached(cab.committee), attached(cab.host), name="2025",
            starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31),
        )  # fmt: skip
        db.session.refresh(cohort)
    invite_and_join(cab.committee, alum, cohort=cohort)
    reasons = []
    events.space_member_removed.connect(lambda s, **kw: reasons.append(kw["reason"]), weak=False)
    with app.test_request_context():
        assert services.end_terms(today=date(2026, 1, 2)) == 1
        assert services.end_terms(today=date(2026, 1, 3)) == 0
        assert not access_member(alum, cab)
        assert services.has_badge(attached(alum))
        assert not services.has_badge(attached(cab.host))
    assert reasons == ["term ended"]


# ---- meetings and reminders ----------------------------------------------------------------


def test_meetings_rsvp_and_one_reminder(app, cab, runner):
    with app.test_request_context():
        meeting = services.create_meeting(
            attached(cab.committee), attached(cab.host), title="Monthly",
            starts_at=(utcnow() + timedelta(hours=5)).isoformat(), agenda="1. Roadmap",
        )  # fmt: skip
        services.rsvp(meeting, attached(cab.insider), "yes")
        services.rsvp(meeting, attached(cab.insider), "maybe")
        assert [r.answer for r in services.rsvps(meeting)] == ["maybe"]
        with pytest.raises(Invalid):
            services.rsvp(meeting, attached(cab.insider), "perhaps")
    result = runner.invoke(args=["advisory", "remind"])
    assert "1 meeting reminder(s) sent" in result.output
    assert "0 meeting" in runner.invoke(args=["advisory", "remind"]).output
    with app.app_context():
        reminded = db.session.scalars(
            db.select(Notification.member_id).where(Notification.summary.like("Reminder:%"))
        ).all()
        assert set(reminded) >= {cab.insider.id, cab.second.id}


# ---- the action log ----------------------------------------------------------------------


def test_action_log_counts_answered_waiting_and_overdue(app, cab, client, token_for):
    with app.test_request_context():
        area = services.area_of(attached(cab.committee))
        old = ideas.submit_idea(attached(cab.insider), area, "An old suggestion here", "Body")
        old.created_at = utcnow() - timedelta(days=40)
        fresh = ideas.submit_idea(attached(cab.second), area, "A fresh suggestion here", "Body")
        answered = ideas.submit_idea(attached(cab.insider), area, "An answered one here", "Body")
        db.session.commit()
        # Hosts answer their committee's suggestions (a status and the company's note).
        ideas.change_status(answered, "planned", "Coming next quarter.", by=attached(cab.host))
        log = services.action_log(attached(cab.committee))
        assert (log.acted, len(log.waiting), log.overdue) == (1, 2, 1)
        assert [e.idea.id for e in log.waiting] == [old.id, fresh.id]
        old_id = old.id
    body = client.get("/api/v1/spaces/cab/action-log", headers=token_for(cab.insider)).get_json()
    assert (body["acted_upon"], body["waiting"], body["overdue"]) == (1, 2, 1)
    assert body["waiting_oldest_first"][0] == old_id
    answered_entry = next(i for i in body["items"] if i["answered"])
    assert answered_entry["response"]["response"] == "Coming next quarter."
    assert answered_entry["response"]["by"]["name"] == "Hana Host"
    assert client.get("/api/v1/spaces/cab/action-log").status_code == 404


# ---- CRM rules ------------------------------------------------------------------------------


def test_rules_invite_matching_customers_once_and_never_add_them(app, cab, make_member, admin):
    strategic = make_member("Stra Tegic")
    flagged = make_member("Flag Ged")
    other = make_member("Not Matching")
    with app.test_request_context():
        soon = (utcnow() + timedelta(days=90)).date().isoformat()
        community.set_customer_attributes(
            attached(strategic), None, None, by=attached(admin), tier="strategic", renewal_on=soon
        )
        community.set_customer_attributes(
            attached(other), None, None, by=attached(admin), tier="strategic",
            renewal_on=(utcnow() + timedelta(days=800)).date().isoformat(),
        )  # fmt: skip
        community.set_customer_attributes(
            attached(flagged), None, None, by=attached(admin),
            fields={"advisory_candidate": True},
        )  # fmt: skip
        c = attached(cab.committee)
        renewal = services.create_rule(
            c, attached(cab.host), name="Strategic renewing",
            conditions=[{"field": "tier", "op": "eq", "value": "strategic"},
                        {"field": "renewal_on", "op": "within_months", "value": "12"}],
        )  # fmt: skip
        candidate = services.create_rule(
            c, attached(cab.host), name="Candidates",
            conditions=[{"field": "customer_fields", "key": "advisory_candidate", "op": "is_true"}],
        )  # fmt: skip
        assert [i.member_id for i in services.run_rule(renewal, attached(cab.host))] == [
            strategic.id
        ]
        assert services.run_rule(renewal, attached(cab.host)) == []
        assert [i.member_id for i in services.run_rule(candidate, attached(cab.host))] == [
            flagged.id
        ]
        assert not access_member(strategic, cab) and not access_member(flagged, cab)
        with pytest.raises(Invalid):
            services.create_rule(c, attached(cab.host), name="Bad", conditions=[{"field": "x"}])


# ---- rewards, badge, audit ---------------------------------------------------------------------


def test_rewards_are_seen_by_the_member_and_the_hosts_only(app, cab, login):
    with app.test_request_context():
        services.record_reward(
            attached(cab.committee), attached(cab.host), member_id=cab.insider.id,
            description="Quarterly gift card", amount="250", currency="usd",
        )  # fmt: skip
    insider = login(cab.insider, the_client=app.test_client())
    second = login(cab.second, the_client=app.test_client())
    host = login(cab.host, the_client=app.test_client())
    assert "Quarterly gift card" in insider.get("/advisory/cab/rewards").get_data(as_text=True)
    assert "Quarterly gift card" in host.get("/advisory/cab/rewards").get_data(as_text=True)
    assert "Quarterly gift card" not in second.get("/advisory/cab/rewards").get_data(as_text=True)
    assert "250.00 USD" in insider.get("/advisory/").get_data(as_text=True)


def test_badge_on_public_pages_in_one_query(app, cab, make_thread, make_reply, make_member):
    thread = make_thread(None, cab.insider, title="A public question from an insider")
    for _ in range(5):
        make_reply(thread, make_member())
    make_reply(thread, cab.second)
    client = app.test_client()
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = client.get(f"/t/{thread.id}").get_data(as_text=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert page.count("Advisory committee</span>") >= 2
    assert "Customer Advisory Board" not in page
    assert sum("community_space_membership" in s for s in statements) == 1
    profile = client.get(f"/members/{cab.insider.id}").get_data(as_text=True)
    assert "Advisory committee</span>" in profile


def test_admin_views_of_a_private_space_are_audited_but_not_members(app, cab, login,
                                                                    make_member):  # fmt: skip
    other_admin = make_member("Ola Admin", roles=["admin"])
    moderator = make_member("Mo Moderator", roles=["moderator", "support_agent", "sales"])
    seen = []

    def note(space, by, path):
        seen.append((space.slug, by.id, path))

    with events.private_space_viewed.connected_to(note):
        admin_client = login(other_admin, the_client=app.test_client())
        assert admin_client.get("/advisory/cab").status_code == 200
        assert admin_client.get("/api/v1/spaces/cab").status_code == 200
        assert seen == [
            ("cab", other_admin.id, "/advisory/cab"),
            ("cab", other_admin.id, "/api/v1/spaces/cab"),
        ]
        seen.clear()
        login(cab.insider, the_client=app.test_client()).get("/advisory/cab")
        assert seen == []
        staff = login(moderator, the_client=app.test_client())
        assert staff.get("/advisory/cab").status_code == 404
        assert staff.get("/s/cab").status_code == 404
    # The moderation audit log keeps the admin's reads, and nobody else's.
    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.actor_id, AuditEntry.after).where(
                AuditEntry.action == "view_private_space"
            )
        ).all()
    assert [(actor, json.loads(after)["path"]) for actor, after in rows] == [
        (other_admin.id, "/advisory/cab"),
        (other_admin.id, "/api/v1/spaces/cab"),
    ]


# ---- the JSON API -------------------------------------------------------------------------------


def test_api_creates_spaces_invites_and_accepts(app, client, admin, make_member, token_for):
    admin_headers = token_for(admin)
    response = client.post(
        "/api/v1/spaces", headers=admin_headers,
        json={"name": "Beta Council", "slug": "beta-council", "kind": "advisory",
              "visibility": "private", "description": "Early access."},
    )  # fmt: skip
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["kind"] == "advisory"
    customer = make_member("Cora Customer", email="cora@example.com")
    headers = token_for(customer)
    assert client.post("/api/v1/spaces", headers=headers, json={"name": "x"}).status_code == 403
    assert client.get("/api/v1/spaces/beta-council", headers=headers).status_code == 404
    assert "beta-council" not in str(client.get("/api/v1/spaces", headers=headers).get_json())
    assert (
        client.post(
            "/api/v1/spaces/beta-council/invitations", headers=headers, json={"email": "a@b.co"}
        ).status_code
        == 404
    )
    invited = client.post(
        "/api/v1/spaces/beta-council/invitations", headers=admin_headers,
        json={"email": "cora@example.com"},
    )  # fmt: skip
    assert invited.status_code == 201
    token = token_of(invited.get_json()["url"])
    refused = client.post(f"/api/v1/invitations/{token}/accept", headers=headers, json={})
    assert refused.status_code == 422
    accepted = client.post(
        f"/api/v1/invitations/{token}/accept", headers=headers, json={"accept_charter": True}
    )
    assert accepted.status_code == 200, accepted.get_json()
    assert client.get("/api/v1/spaces/beta-council", headers=headers).status_code == 200
    again = client.post(
        f"/api/v1/invitations/{token}/accept", headers=headers, json={"accept_charter": True}
    )
    assert again.status_code == 404
    public = client.post(
        "/api/v1/spaces", headers=admin_headers,
        json={"name": "Open Advisory", "slug": "open-adv", "kind": "advisory",
              "visibility": "public"},
    )  # fmt: skip
    assert public.status_code == 422
