"""The moderation JSON API, and the audit log: filterable, exportable, append-only."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from werkzeug.routing import IntegerConverter

from community.extensions import db
from community.models import Thread
from moderation import services as moderation
from moderation.models import AuditEntry, AuditLogIsAppendOnly

from .conftest import attached


def test_flag_then_act_through_the_api(
    app, token_for, make_thread, make_reply, make_space, member_at, moderator
):
    thread = make_thread(title="Where is the export button?")
    post = make_reply(thread, body="Buy followers now")
    make_space("archive")
    http = app.test_client()
    flagger = token_for(member_at(1))
    response = http.post(
        "/api/v1/flags",
        json={"target_type": "post", "target_id": post.id, "reason": "spam", "note": "Ad"},
        headers=flagger,
    )
    assert response.status_code == 201
    assert response.get_json()["reason"] == "spam" and response.get_json()["note"] == "Ad"
    again = http.post(
        "/api/v1/flags",
        json={"target_type": "post", "target_id": post.id, "reason": "spam"},
        headers=flagger,
    )
    assert again.status_code == 409

    mod = token_for(moderator)
    queue = http.get("/api/v1/moderation/queue?sort=most_flagged", headers=mod).get_json()
    assert queue["total"] == 1
    (item,) = queue["items"]
    assert item["target"]["type"] == "post" and item["flags"][0]["reason"] == "spam"
    assert item["author"]["trust_level"] == 0

    hide = http.post(
        "/api/v1/moderation/actions",
        headers=mod,
        json={"action": "hide", "target_type": "post", "target_id": post.id, "reason": "Spam"},
    )
    assert hide.status_code == 200 and hide.get_json()["target"]["state"] == "hidden"
    move = http.post(
        "/api/v1/moderation/actions",
        headers=mod,
        json={
            "action": "move",
            "target_type": "thread",
            "target_id": thread.id,
            "reason": "Old",
            "into": "archive",
        },
    )
    assert move.status_code == 200
    suspend = http.post(
        "/api/v1/moderation/actions",
        headers=mod,
        json={
            "action": "suspend",
            "target_type": "post",
            "target_id": post.id,
            "reason": "Spamming",
            "until": "2999-05-01T12:00:00Z",
        },
    )
    assert suspend.status_code == 200
    bad = http.post(
        "/api/v1/moderation/actions",
        headers=mod,
        json={
            "action": "suspend",
            "target_type": "member",
            "target_id": post.author["id"] if isinstance(post.author, dict) else post.author_id,
            "reason": "x",
            "until": "soon",
        },
    )
    assert bad.status_code == 422 and "until" in bad.get_json()["error"]["fields"]
    assert http.get("/api/v1/moderation/queue", headers=mod).get_json()["total"] == 0

    log = http.get("/api/v1/moderation/audit-log?action=move", headers=mod).get_json()
    assert [e["action"] for e in log["items"]] == ["move"]
    assert json.loads(log["items"][0]["after"])["space"] == "archive"
    with app.app_context():
        assert db.session.get(Thread, thread.id).space.slug == "archive"


def test_merge_through_the_api_takes_into(app, token_for, make_thread, make_space, moderator):
    space = make_space()
    keep, dupe = make_thread(space), make_thread(space, title="Same again please")
    response = app.test_client().post(
        "/api/v1/moderation/actions",
        json={
            "action": "merge",
            "target_type": "thread",
            "target_id": dupe.id,
            "reason": "Duplicate",
            "into": keep.id,
        },
        headers=token_for(moderator),
    )
    assert response.status_code == 200 and response.get_json()["target"]["state"] == "merged"


def test_bulk_through_the_api(app, token_for, make_thread, make_reply, member_at, moderator):
    posts = [make_reply(make_thread()) for _ in range(2)]
    http = app.test_client()
    flagger = token_for(member_at(1))
    for post in posts:
        http.post(
            "/api/v1/flags",
            json={"target_type": "post", "target_id": post.id, "reason": "off_topic"},
            headers=flagger,
        )
    mod = token_for(moderator)
    ids = [i["id"] for i in http.get("/api/v1/moderation/queue", headers=mod).get_json()["items"]]
    result = http.post(
        "/api/v1/moderation/actions", headers=mod, json={"action": "dismiss", "item_ids": ids}
    ).get_json()
    assert sorted(result["done"]) == sorted(ids) and result["failed"] == {}


def test_members_and_visitors_get_no_moderation_api(app, token_for, make_member):
    http = app.test_client()
    assert http.get("/api/v1/moderation/queue").status_code == 401
    headers = token_for(make_member())
    for url in ("/api/v1/moderation/queue", "/api/v1/moderation/audit-log"):
        assert http.get(url, headers=headers).status_code == 404
    response = http.post(
        "/api/v1/moderation/actions",
        headers=headers,
        json={"action": "hide", "target_type": "post", "target_id": 1},
    )
    assert response.status_code == 404


def test_audit_log_filters_and_csv(app, client, login, make_member, moderator, admin):
    member = make_member("Wanda Warned")
    with app.test_request_context():
        moderation.act(attached(moderator), "warn", "member", member.id, "=HYPERLINK(evil)")
        moderation.act(attached(admin), "warn", "member", member.id, "Second warning")
    login(moderator)
    page = client.get(f"/moderation/audit-log?actor={moderator.handle}&action=warn")
    assert page.status_code == 200 and "=HYPERLINK" in page.get_data(as_text=True)
    assert "Second warning" not in page.get_data(as_text=True)
    api = client.get("/api/v1/moderation/audit-log?from=2000-01-01&to=2999-12-31&action=warn")
    assert api.get_json()["total"] == 2
    assert client.get("/api/v1/moderation/audit-log?from=yesterday").status_code == 422
    csv = client.get("/moderation/audit-log.csv?action=warn")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("id,created_at,actor,action") and len(lines) == 3
    assert "'=HYPERLINK(evil)" in csv.get_data(as_text=True)  # never a formula


def test_admin_actions_are_audited(app, admin, make_member, make_space):
    make_space("audited-space")
    member = make_member()
    with app.test_request_context():
        from community import services

        services.set_roles(attached(member), ["moderator"], by=attached(admin))
        actions = [(e.action, e.actor_id) for e in db.session.scalars(select(AuditEntry))]
    assert ("create_space", admin.id) in actions and ("set_roles", admin.id) in actions


def _snapshot():
    return [
        (
            e.id,
            e.actor_id,
            e.action,
            e.target_type,
            e.target_id,
            e.target_label,
            e.reason,
            e.before,
            e.after,
            e.created_at,
        )
        for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    ]


def test_the_audit_log_cannot_be_changed_by_code_or_sql(ctx, make_member, moderator):
    moderation.act(moderator, "warn", "member", make_member().id, "Be nice")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "warn"))
    entry.reason = "Nothing happened"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    for statement in (
        "UPDATE moderation_audit_entry SET reason = 'x'",
        "DELETE FROM moderation_audit_entry",
    ):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.get(AuditEntry, entry.id).reason == "Be nice"


@pytest.mark.parametrize("who", ["moderator", "admin"])
def test_no_route_alters_the_audit_log(app, client, login, make_member, moderator, admin, who):
    with app.test_request_context():
        moderation.act(attached(moderator), "warn", "member", make_member().id, "Be nice")
        before = _snapshot()
    login(moderator if who == "moderator" else admin)
    entry_id = before[-1][0]
    junk = [
        {},
        {
            "id": str(entry_id),
            "reason": "changed",
            "action": "delete",
            "target_type": "audit",
            "target_id": str(entry_id),
            "item_ids": [entry_id],
        },
    ]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "community.logout"):
            continue
        args = {
            name: entry_id if isinstance(conv, IntegerConverter) else "x"
            for name, conv in rule._converters.items()
        }
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **args)
        for method in rule.methods - {"GET", "HEAD", "OPTIONS"}:
            for body in junk:
                if url.startswith("/api/"):
                    client.open(url, method=method, json=body)
                else:
                    client.open(url, method=method, data=body)
        for method in ("PUT", "PATCH", "DELETE"):
            for url in (
                "/moderation/audit-log",
                f"/api/v1/moderation/audit-log/{entry_id}",
                "/api/v1/moderation/audit-log",
            ):
                assert client.open(url, method=method).status_code in (404, 405)
    with app.app_context():
        after = _snapshot()
    assert after[: len(before)] == before
