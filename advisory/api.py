"""The advisory JSON API under /api/v1 (DESIGN.md's shapes and error shape)."""

from __future__ import annotations

from flask import current_app, jsonify, url_for
from flask_login import current_user

from community.api import authenticate_request as community_authentication
from community.api import json_body, member_ref, signed_in, whole_list
from community.errors import NotFound
from community.extensions import csrf, limiter
from community.web import iso

from . import api_bp, services

csrf.exempt(api_bp)  # checked below, for session-authenticated writes only


@api_bp.before_request
def authenticate_request():
    """The community API's rule: a bearer token, or a signed-in session with CSRF."""
    return community_authentication()


def _limit(name: str):
    return limiter.limit(lambda: current_app.config[name])


def _change_json(change) -> dict:
    return {
        "status": change.to_status,
        "label": change.to_label,
        "response": change.note,
        "by": member_ref(change.by),
        "at": iso(change.created_at),
    }


def entry_json(entry) -> dict:
    idea = entry.idea
    latest = entry.latest
    return {
        "id": idea.id,
        "url": url_for("ideas.idea", idea_id=idea.id, _external=True),
        "title": idea.title,
        "author": member_ref(idea.author),
        "submitted_at": iso(idea.created_at),
        "status": idea.status,
        "answered": entry.answered,
        "response": _change_json(latest) if latest else None,
        "history": [_change_json(c) for c in entry.changes],
        "due_on": entry.due_on.isoformat(),
        "overdue": entry.overdue,
    }


@api_bp.post("/spaces/<slug>/invitations")
@_limit("RATELIMIT_POSTING")
def invite(slug):
    member = signed_in()
    committee = services.get_committee(slug, member)
    data = json_body()
    invitation, url = services.invite(committee, member, email=data.get("email"))
    return jsonify(
        {
            "id": invitation.id,
            "url": url,
            "email": invitation.email,
            "expires_at": iso(invitation.expires_at),
        }
    ), 201


@api_bp.post("/invitations/<token>/accept")
@_limit("RATELIMIT_POSTING")
def accept(token):
    member = signed_in()
    data = json_body()
    seat = services.accept_invitation(token, member, data.get("accept_charter"))
    committee = services.committee_of(services.space_of_seat(seat))
    if committee is None:
        raise NotFound("No such invitation.")
    return jsonify(
        {
            "space": committee.space.slug,
            "url": url_for("advisory.space", slug=committee.space.slug, _external=True),
            "charter_version": seat.charter_version,
            "accepted_at": iso(seat.charter_accepted_at),
        }
    )


@api_bp.get("/spaces/<slug>/action-log")
def action_log(slug):
    committee = services.get_committee(slug, current_user)
    log = services.action_log(committee)
    body = whole_list([entry_json(e) for e in log.entries])
    body.update(
        {
            "acted_upon": log.acted,
            "waiting": len(log.waiting),
            "overdue": log.overdue,
            "response_days": log.response_days,
            "waiting_oldest_first": [e.idea.id for e in log.waiting],
        }
    )
    return jsonify(body)
