"""The ideas JSON API under /api/v1 (conventions as in DESIGN.md)."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for
from flask_login import current_user

from community import access
from community.api import (
    authenticate_request,
    json_body,
    list_body,
    member_ref,
    paging,
    signed_in,
    whole_list,
)
from community.errors import Invalid, NotFound
from community.extensions import csrf, limiter
from community.web import iso

from . import api_bp, services
from .models import STATUSES

csrf.exempt(api_bp)
api_bp.before_request(authenticate_request)


def area_json(area) -> dict:
    return {
        "id": area.id,
        "url": url_for("ideas.index", area=area.slug, _external=True),
        "slug": area.slug,
        "name": area.name,
        "description": area.description,
        "space": area.space.slug,
    }


def idea_json(idea, *, my_vote=None) -> dict:
    data = {
        "id": idea.id,
        "url": url_for("ideas.idea", idea_id=idea.id, _external=True),
        "title": idea.title,
        "body": idea.body,
        "body_html": idea.body_html,
        "area": idea.area.slug,
        "tags": idea.tag_names,
        "status": idea.status,
        "votes": idea.vote_count,
        "author": member_ref(idea.author),
        "created_at": iso(idea.created_at),
        "status_changed_at": iso(idea.status_changed_at),
        "merged_into": idea.merged_into_id,
        "comments": idea.thread.reply_count if idea.thread else 0,
    }
    if my_vote is not None or current_user.is_authenticated:
        data["voted"] = my_vote is not None
        data["importance"] = my_vote.importance if my_vote is not None else None
    return data


def change_json(change) -> dict:
    return {
        "id": change.id,
        "url": url_for(
            "ideas.idea", idea_id=change.idea_id, _anchor=f"status-{change.id}", _external=True
        ),
        "from": change.from_status,
        "to": change.to_status,
        "note": change.note,
        "note_html": change.note_html,
        "by": member_ref(change.by),
        "at": iso(change.created_at),
    }


def _idea_detail(idea) -> dict:
    data = idea_json(idea, my_vote=services.my_vote(idea, current_user))
    data["status_history"] = [change_json(c) for c in services.status_history(idea)]
    return data


def _status_arg():
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise Invalid("Unknown status.", fields={"status": f"One of: {', '.join(STATUSES)}."})
    return status


@api_bp.get("/ideas")
def ideas():
    page, per_page = paging(current_app.config["THREADS_PER_PAGE"])
    area_slug = request.args.get("area")
    area = services.get_area(area_slug, current_user) if area_slug else None
    result = services.list_ideas(
        current_user,
        sort=request.args.get("sort", "top"),
        status=_status_arg(),
        area=area,
        tag=(request.args.get("tag") or None),
        page=page,
        per_page=per_page,
    )
    mine = services.my_votes_among([i.id for i in result.items], current_user)
    return jsonify(list_body(result, lambda idea: idea_json(idea, my_vote=mine.get(idea.id))))


@api_bp.post("/ideas")
@limiter.limit(lambda: current_app.config["RATELIMIT_POSTING"])
def submit():
    member = signed_in()
    data = json_body()
    slug = data.get("area")
    if not isinstance(slug, str) or not slug:
        raise Invalid("Say which product area.", fields={"area": "Required."})
    try:
        area = services.get_area(slug, member)
    except NotFound:
        raise Invalid("No such product area.", fields={"area": "Unknown area."}) from None
    idea = services.submit_idea(member, area, data.get("title"), data.get("body"), data.get("tags"))
    body = _idea_detail(idea)
    return jsonify(body), 201, {"Location": body["url"]}


@api_bp.get("/ideas/areas")
def areas():
    items = [area_json(a) for a in services.list_areas(current_user)]
    return jsonify(whole_list(items))


@api_bp.get("/ideas/similar")
def similar():
    ideas = services.similar_ideas(current_user, request.args.get("q", ""))
    items = [idea_json(i) for i in ideas]
    return jsonify(whole_list(items))


@api_bp.get("/ideas/<int:idea_id>")
def idea(idea_id):
    return jsonify(_idea_detail(services.get_idea(idea_id, current_user)))


@api_bp.post("/ideas/<int:idea_id>/vote")
def vote(idea_id):
    member = signed_in()
    idea = services.get_idea(idea_id, member)
    data = request.get_json(silent=True)
    if request.data and not isinstance(data, dict):
        raise Invalid("Send a JSON object, or nothing.")
    services.vote(idea, member, (data or {}).get("importance"))
    return jsonify(_idea_detail(services.get_idea(idea_id, member)))


@api_bp.delete("/ideas/<int:idea_id>/vote")
def unvote(idea_id):
    member = signed_in()
    idea = services.unvote(services.get_idea(idea_id, member), member)
    return jsonify(_idea_detail(idea))


@api_bp.post("/ideas/<int:idea_id>/status")
def change_status(idea_id):
    member = signed_in()
    idea = services.get_idea(idea_id, member)
    data = json_body()
    services.change_status(idea, data.get("status"), data.get("note", ""), by=member)
    return jsonify(_idea_detail(idea))


@api_bp.post("/ideas/<int:idea_id>/merge")
def merge(idea_id):
    member = signed_in()
    duplicate = services.get_idea(idea_id, member)
    data = json_body()
    into_id = data.get("into")
    if not isinstance(into_id, int) or isinstance(into_id, bool):
        raise Invalid("Say which idea to merge into.", fields={"into": "An idea id."})
    try:
        into = services.get_idea(into_id, member)
    except NotFound:
        raise Invalid("No such idea to merge into.", fields={"into": "Unknown idea."}) from None
    kept = services.merge_ideas(duplicate, into, by=member)
    return jsonify(_idea_detail(kept))


@api_bp.get("/ideas/review")
def review():
    member = signed_in()
    if not access.can_review_ideas(member):
        raise NotFound("Not found.")
    page, per_page = paging(50)
    rows = services.review(
        member,
        sort=request.args.get("sort", "value"),
        segment=request.args.get("segment") or None,
        status=_status_arg(),
        page=page,
        per_page=per_page,
    )

    def row_json(row) -> dict:
        data = idea_json(row.idea)
        data.update(
            {
                "votes": row.votes,
                "importance_mix": row.importance,
                "votes_last_30_days": row.recent,
                "votes_previous_30_days": row.previous,
                "trend": row.trend,
                "value_weighted_demand": float(row.value),
                "segments": {
                    name: {"votes": s["votes"], "value": float(s["value"])}
                    for name, s in row.segments.items()
                },
            }
        )
        return data

    return jsonify(list_body(rows, row_json))
