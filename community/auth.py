"""Who is asking: browser sessions (Flask-Login) and API bearer tokens."""

from __future__ import annotations

from functools import cache

from flask import redirect, request, url_for
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from .errors import json_error, wants_json
from .extensions import db
from .models import Member
from .services import member_for_token


@cache
def _session_member():
    """The member with their roles, in one statement built once: every signed-in
    request runs it first."""
    return select(Member).options(joinedload(Member.role_rows)).where(Member.id == bindparam("id"))


def load_session_member(user_id: str) -> Member | None:
    """Session ids are "<member id>.<epoch>": bumping the epoch ends every session."""
    if request.path.startswith("/api/") and bearer_token():
        return None  # an API call with a token is that token's member, whatever the cookie says
    member_id, _, epoch = user_id.partition(".")
    if not member_id.isdigit() or not epoch.isdigit():
        return None
    member = db.session.execute(_session_member(), {"id": int(member_id)}).unique().scalar()
    if member is None or member.session_epoch != int(epoch):
        return None
    return member


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def load_bearer_member(req) -> Member | None:
    if not req.path.startswith("/api/"):
        return None
    token = bearer_token()
    return member_for_token(token) if token else None


def unauthorized():
    if wants_json():
        if bearer_token():
            return json_error("unauthorized", "The API token is invalid or revoked.", 401)
        return json_error("unauthorized", "Sign in or send an API token.", 401)
    return redirect(url_for("community.login", next=request.full_path.rstrip("?")))


def configure(login_manager) -> None:
    login_manager.user_loader(load_session_member)
    login_manager.request_loader(load_bearer_member)
    login_manager.unauthorized_handler(unauthorized)
    login_manager.session_protection = "basic"
