"""The CRM bridge's JSON API under /api/v1: outbox status (admins), the customer
360 (staff) and the signed inbound webhook from the CRM."""

from __future__ import annotations

from flask import jsonify, request

from community import access
from community.api import authenticate_request, signed_in
from community.errors import NotFound
from community.extensions import csrf, limiter
from community.web import iso

from . import api_bp, outbox, services

csrf.exempt(api_bp)
api_bp.before_request(authenticate_request)


def status_json(report: outbox.Status) -> dict:
    return {
        "connectors": report.connectors,
        "unusable": report.broken,
        "backlog": sum(report.backlog.values()),
        "backlog_by_connector": report.backlog,
        "oldest_pending_at": iso(report.oldest_pending),
        "delivered_24h": report.delivered_24h,
        "failing": [{"error": e, "count": n} for e, n in report.failing],
        "dead": report.dead,
        "dead_by_error": [{"error": e, "count": n} for e, n in report.dead_by_error],
        "dead_letters": [
            {
                "id": item.id,
                "event_id": item.event_id,
                "connector": item.connector,
                "kind": item.kind,
                "contact_key": item.contact_key,
                "attempts": item.attempts,
                "last_error": item.last_error,
                "created_at": iso(item.created_at),
            }
            for item in report.dead_letters
        ],
        "lag": report.lag,
    }


@api_bp.get("/crm/status")
def crm_status():
    member = signed_in()
    if not access.can_manage_spaces(member):
        raise NotFound("Not found.")
    return jsonify(status_json(outbox.status()))


@api_bp.get("/customers/<int:contact_id>")
def customer(contact_id):
    member = signed_in()
    if not access.can_view_support_analytics(member):
        raise NotFound("Not found.")
    contact = services.get_contact(contact_id)
    return jsonify(services.customer_360(contact, member))


@api_bp.post("/crm/inbound")
@limiter.limit("300 per minute")
def crm_inbound():
    """Signed like outgoing webhooks (docs/crm.md); a replayed id changes nothing."""
    outcome = services.receive_inbound(
        request.get_data(cache=False),
        request.headers.get("X-Parley-Timestamp"),
        request.headers.get("X-Parley-Signature"),
    )
    return jsonify({"status": outcome}), 200
