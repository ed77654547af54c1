"""CRM bridge: every contribution and deflected case reaches the customer's CRM
record, and customer facts come back (identity links, the built-in CRM, the outbox
and its connectors)."""

from flask import Blueprint

bp = Blueprint("crm_bridge", __name__, url_prefix="/crm")
api_bp = Blueprint("crm_bridge_api", __name__, url_prefix="/api/v1")
