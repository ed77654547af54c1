"""The customer advisory committee: private advisory spaces with a charter,
invitations, meetings, an action log of what the company did with each
suggestion, CRM-driven invitation rules, cohorts with terms, and recognition."""

from flask import Blueprint

bp = Blueprint("advisory", __name__, url_prefix="/advisory")
api_bp = Blueprint("advisory_api", __name__, url_prefix="/api/v1")
