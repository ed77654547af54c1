"""Ideas: customers propose and vote; the product team reviews by customer value
and reports back to every voter."""

from flask import Blueprint

bp = Blueprint("ideas", __name__, url_prefix="/ideas")
api_bp = Blueprint("ideas_api", __name__, url_prefix="/api/v1")
