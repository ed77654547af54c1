"""The help flow and deflection analytics in the JSON API under /api/v1."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for
from flask_login import current_user

from . import api_bp, help
from .api import json_body
from .auth import bearer_token
from .extensions import limiter
from .help_views import page_token_ok
from .web import iso, viewer_key


def _limit(name: str):
    return limiter.limit(lambda: current_app.config[name])


def thread_ref(thread) -> dict:
    return {
        "id": thread.id,
        "url": url_for("community.thread", thread_id=thread.id, _external=True),
        "title": thread.title,
    }


def case_json(case) -> dict:
    return {
        "id": case.id,
        "url": url_for("community.help_case", reference=case.reference, _external=True),
        "reference": case.reference,
        "status": case.status,
        "subject": case.subject,
        "description": case.description,
        "email": case.email,
        "thread_id": case.thread_id,
        "created_at": iso(case.created_at),
    }


@api_bp.post("/help/deflections")
@_limit("RATELIMIT_HELP")
def confirm_solution():
    """A person confirmed a solution: the help page's script (it sends the page's
    token in X-Help-Token) or an app with a member's API token."""
    data = json_body()
    token = request.headers.get("X-Help-Token") or data.get("token")
    result = help.confirm_solution(
        data.get("thread_id"),
        data.get("query"),
        by=current_user,
        visitor_key=viewer_key(),
        user_agent=request.user_agent.string,
        scripted=bool(bearer_token()) or page_token_ok(token),
    )
    body = {
        "counted": result.counted,
        "reason": result.reason,
        "thread": thread_ref(result.thread),
        "recorded_at": iso(result.deflection.created_at) if result.deflection else None,
    }
    return jsonify(body), 201 if result.counted else 200


@api_bp.post("/help/cases")
@_limit("RATELIMIT_CASES")
def open_case():
    data = json_body()
    case = help.open_case(
        data.get("subject"),
        data.get("description"),
        data.get("email"),
        by=current_user,
        visitor_key=viewer_key(),
        query=data.get("query", ""),
        thread_id=data.get("thread_id"),
    )
    body = case_json(case)
    return jsonify(body), 201, {"Location": body["url"]}
