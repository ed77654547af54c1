"""The listening JSON API under /api/v1 (conventions as in DESIGN.md): alerts for
support and sales, and watchlists."""

from __future__ import annotations

from decimal import Decimal

from flask import jsonify, request, url_for

from community.api import authenticate_request, json_body, list_body, member_ref, paging, signed_in
from community.extensions import csrf
from community.web import iso

from . import api_bp, services
from .models import Alert, Watchlist

csrf.exempt(api_bp)
api_bp.before_request(authenticate_request)


def _amount(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def alert_json(alert: Alert) -> dict:
    member = alert.member
    return {
        "id": alert.id,
        "url": url_for("listening.queue", _anchor=f"alert-{alert.id}", _external=True),
        "kind": alert.kind,
        "about": services.about(alert, external=True),
        "post_id": alert.post_id,
        "sentiment": alert.sentiment,
        "terms": alert.term_list,
        "watchlist": (
            {"id": alert.watchlist.id, "name": alert.watchlist.name}
            if alert.watchlist is not None
            else None
        ),
        "member": {
            **member_ref(member),
            "customer_value": _amount(member.customer_value),
            "segment": member.segment,
        },
        "created_at": iso(alert.created_at),
        "handled": (
            {
                "at": iso(alert.handled_at),
                "by": member_ref(alert.handled_by) if alert.handled_by else None,
                "action": alert.handled_action,
                "case": alert.case.reference if alert.case else None,
            }
            if alert.is_handled
            else None
        ),
    }


def watchlist_json(watchlist: Watchlist) -> dict:
    return {
        "id": watchlist.id,
        "url": url_for("listening.watchlist", watchlist_id=watchlist.id, _external=True),
        "name": watchlist.name,
        "kind": watchlist.kind,
        "terms": watchlist.term_texts,
        "owner": member_ref(watchlist.owner),
        "created_at": iso(watchlist.created_at),
        "updated_at": iso(watchlist.updated_at),
    }


@api_bp.get("/alerts")
def alerts():
    member = signed_in()
    services.require_listener(member)
    page, per_page = paging(30)
    result = services.list_alerts(
        member,
        kind=request.args.get("kind") or None,
        state=request.args.get("state") or "open",
        page=page,
        per_page=per_page,
    )
    return jsonify(list_body(result, alert_json))


@api_bp.get("/watchlists")
def watchlists():
    member = signed_in()
    items = [watchlist_json(w) for w in services.list_watchlists(member)]
    return jsonify({"items": items, "page": 1, "per_page": len(items), "total": len(items)})


@api_bp.post("/watchlists")
def create_watchlist():
    member = signed_in()
    data = json_body()
    watchlist = services.create_watchlist(
        member, data.get("name"), data.get("terms"), data.get("kind")
    )
    body = watchlist_json(watchlist)
    return jsonify(body), 201, {"Location": body["url"]}
