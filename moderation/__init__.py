"""Moderation: flags, the review queue, moderator actions, the audit log, trust
levels, spam rules and rate limits (issue #7). Listening lives in moderation/listening."""

from flask import Blueprint

bp = Blueprint("moderation", __name__, url_prefix="/moderation")
api_bp = Blueprint("moderation_api", __name__, url_prefix="/api/v1")
