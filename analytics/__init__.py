"""Analytics: the community's return for the people who fund it. One dashboard
of read-only panels drawn from every domain's tables (docs/metrics.md)."""

from flask import Blueprint

bp = Blueprint("analytics", __name__)
api_bp = Blueprint("analytics_api", __name__, url_prefix="/api/v1")
