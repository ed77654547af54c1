"""The community: the site itself, members, spaces, forums and notifications."""

from flask import Blueprint

bp = Blueprint("community", __name__)
api_bp = Blueprint("community_api", __name__, url_prefix="/api/v1")
