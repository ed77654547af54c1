"""The moderation JSON API under /api/v1: flags, the queue, actions, the audit log."""

from __future__ import annotations

from flask import jsonify, request, url_for

from community.api import (
    authenticate_request,
    json_body,
    list_body,
    member_ref,
    paging,
    signed_in,
)
from community.extensions import csrf
from community.web import iso

from . import api_bp, services
from .models import AuditEntry

csrf.exempt(api_bp)  # session writes are CSRF-checked by authenticate_request
api_bp.before_request(authenticate_request)


def target_json(target) -> dict | None:
    if target is None:
        return None
    return {
        "type": target.type,
        "id": target.id,
        "url": request.host_url.rstrip("/") + target.url,
        "title": target.title,
        "state": target.state,
        "author": member_ref(target.author) if target.author else None,
    }


def flag_json(flag) -> dict:
    return {
        "id": flag.id,
        "url": url_for("moderation.queue", _external=True),
        "target_type": flag.target_type,
        "target_id": flag.target_id,
        "reason": flag.reason,
        "note": flag.note,
        "by": member_ref(flag.member),
        "created_at": iso(flag.created_at),
    }


def entry_json(entry) -> dict:
    item = entry.item
    author = entry.author
    return {
        "id": item.id,
        "url": url_for("moderation.queue", _external=True) + f"#item-{item.id}",
        "kind": item.kind,
        "status": item.status,
        "target": target_json(entry.target),
        "flag_count": item.flag_count,
        "detail": item.detail,
        "auto_hidden": item.auto_hidden,
        "created_at": iso(item.created_at),
        "last_activity_at": iso(item.last_activity_at),
        "flags": [flag_json(f) for f in item.flags],
        "author": {
            **member_ref(author),
            "trust_level": author.trust_level,
            "suspended": author.is_suspended,
            "banned": author.is_banned,
            "recent_posts": [
                url_for("community.post", post_id=p.id, _external=True) for p in entry.recent_posts
            ],
            "earlier_actions": [audit_json(a) for a in entry.earlier_actions],
        }
        if author
        else None,
    }


def audit_json(entry: AuditEntry) -> dict:
    return {
        "id": entry.id,
        "url": url_for("moderation.audit_log", _external=True),
        "actor": member_ref(entry.actor) if entry.actor else None,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "target": entry.target_label,
        "reason": entry.reason,
        "before": entry.before,
        "after": entry.after,
        "created_at": iso(entry.created_at),
    }


@api_bp.post("/flags")
def create_flag():
    member = signed_in()
    data = json_body()
    flag = services.flag(
        member, data.get("target_type"), data.get("target_id"), data.get("reason"),
        data.get("note") or "",
    )  # fmt: skip
    return jsonify(flag_json(flag)), 201


@api_bp.get("/moderation/queue")
def queue():
    member = signed_in()
    page, per_page = paging(25)
    pagination, entries = services.review_queue(
        member, sort=request.args.get("sort", "newest"), kind=request.args.get("kind") or None,
        page=page, per_page=per_page,
    )  # fmt: skip
    body = list_body(pagination, lambda _item: None)
    body["items"] = [entry_json(e) for e in entries]
    return jsonify(body)


@api_bp.post("/moderation/actions")
def actions():
    member = signed_in()
    data = json_body()
    if "item_ids" in data:
        result = services.act_on_items(
            member, data.get("action"), data.get("item_ids"), data.get("reason") or ""
        )
        return jsonify(
            {"action": data.get("action"), "done": result.done,
             "failed": {str(k): v for k, v in result.failed.items()}}
        )  # fmt: skip
    target = services.act(
        member, data.get("action"), data.get("target_type"), data.get("target_id"),
        data.get("reason") or "", until=data.get("until"), into=data.get("into"),
        body=data.get("body"), level=data.get("level"),
    )  # fmt: skip
    refreshed = services.load_target(target.type, target.id, member)
    return jsonify({"action": data.get("action"), "target": target_json(refreshed)})


@api_bp.get("/moderation/audit-log")
def audit_log():
    member = signed_in()
    page, per_page = paging(50)
    args = request.args
    entries = services.audit_log(
        member, page=page, per_page=per_page, actor=args.get("actor") or None,
        action=args.get("action") or None, date_from=args.get("from") or None,
        date_to=args.get("to") or None,
    )  # fmt: skip
    return jsonify(list_body(entries, audit_json))
