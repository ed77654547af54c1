"""Reputation: a points ledger, ranks, badges, leaderboards, social value and
engagement levels (issue #6)."""

from flask import Blueprint

bp = Blueprint("reputation", __name__)
api_bp = Blueprint("reputation_api", __name__, url_prefix="/api/v1")
