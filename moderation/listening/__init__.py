"""Listening: sentiment scoring of posts and ideas, at-risk conversation alerts
for support, and keyword watchlists (leads and churn) for sales and support."""

from flask import Blueprint

bp = Blueprint("listening", __name__, url_prefix="/listening")
api_bp = Blueprint("listening_api", __name__, url_prefix="/api/v1")
