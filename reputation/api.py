"""The reputation JSON API under /api/v1 (conventions as in DESIGN.md)."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask_login import current_user

from community import services as community
from community.api import authenticate_request, member_ref, paging, signed_in
from community.errors import Invalid
from community.extensions import csrf
from community.web import iso

from . import api_bp, services

csrf.exempt(api_bp)
api_bp.before_request(authenticate_request)

OBJECT_URLS = {"post": "community.post", "idea": "ideas.idea"}


def entry_json(entry) -> dict:
    endpoint = OBJECT_URLS.get(entry.object_type)
    key = "post_id" if entry.object_type == "post" else "idea_id"
    return {
        "id": entry.id,
        "points": entry.points,
        "rule": entry.rule,
        "cause": entry.cause,
        "description": services.describe(entry),
        "object": {
            "type": entry.object_type,
            "id": entry.object_id,
            "url": url_for(endpoint, **{key: entry.object_id}, _external=True)
            if endpoint
            else None,
        },
        "reverses": entry.reverses_id,
        "created_at": iso(entry.created_at),
    }


@api_bp.get("/members/<int:member_id>/reputation")
def member_reputation(member_id):
    member = community.get_member(member_id)
    rep = services.member_reputation(member, current_user)
    return jsonify(
        {
            "member": member_ref(member),
            "points": rep["points"],
            "rank": rep["rank"],
            "next_rank": rep["next_rank"],
            "badges": [
                {
                    "key": b["key"],
                    "name": b["name"],
                    "url": url_for("reputation.badge", badge=b["key"], _external=True),
                    "awarded_at": iso(b["awarded_at"]),
                }
                for b in rep["badges"]
            ],
            "recent": [entry_json(e) for e in rep["recent"]],
        }
    )


@api_bp.get("/leaderboard")
def leaderboard():
    period = request.args.get("period") or "all"
    if period not in services.PERIODS:
        raise Invalid("period must be week, month or all.", fields={"period": "Unknown period."})
    space = services.space_by_slug(request.args.get("space"), current_user)
    page, per_page = paging(20)
    standings = services.leaderboard(
        current_user, period, space, limit=per_page, offset=(min(page, 10_000) - 1) * per_page
    )
    return jsonify(
        {
            "period": period,
            "space": space.slug if space else None,
            "items": [
                {
                    "position": s.position,
                    "member": member_ref(s.member),
                    "points": s.points,
                    "rank": s.rank,
                }
                for s in standings
            ],
            "page": page,
            "per_page": per_page,
            "total": services.leaderboard_size(period, space),
        }
    )


@api_bp.get("/members/<int:member_id>/social-value")
def member_social_value(member_id):
    viewer = signed_in()
    member = community.get_member(member_id)
    value = services.social_value(member, viewer)
    return jsonify({"member": member_ref(member), **value.as_dict()})
