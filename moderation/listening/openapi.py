"""The listening part of the OpenAPI document."""

from community.openapi import AUTHOR, PAGING, STAMP, answer, body, page_of, ref

from .models import ALERT_KINDS, HANDLED_ACTIONS, WATCHLIST_KINDS

PATHS = {
    "/api/v1/alerts": {
        "get": {
            "summary": "Support and sales: alerts the caller may see (at-risk conversations for support agents, their own watchlists' matches), newest first",
            "parameters": [
                {"name": "kind", "in": "query", "schema": {"type": "string", "enum": list(ALERT_KINDS)}},
                {"name": "state", "in": "query",
                 "schema": {"type": "string", "enum": ["open", "handled", "all"], "default": "open"}},
                *PAGING,
            ],
            "responses": answer("Alerts", page_of("Alert"), errors=(401, 403, 422)),
        }
    },
    "/api/v1/watchlists": {
        "get": {
            "summary": "Support and sales: every watchlist",
            "responses": answer("Watchlists", page_of("Watchlist"), errors=(401, 403)),
        },
        "post": {
            "summary": "Support and sales: create a watchlist; the caller owns it and receives its alerts",
            "requestBody": body(
                {"name": {"type": "string"},
                 "terms": {"type": "array", "items": {"type": "string"},
                           "description": "Words or phrases; matched case-insensitively, with stemming, as whole words"},
                 "kind": {"type": "string", "enum": list(WATCHLIST_KINDS)}},
                ["name", "terms", "kind"],
            ),
            "responses": answer("The watchlist", ref("Watchlist"), "201", (400, 401, 403, 422)),
        },
    },
}  # fmt: skip

SCHEMAS = {
    "Alert": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string", "description": "The alert in the support queue"},
            "kind": {"type": "string", "enum": list(ALERT_KINDS)},
            "about": {
                "type": "object",
                "description": "The thread or idea the alert is about",
                "properties": {
                    "type": {"type": "string", "enum": ["thread", "idea"]},
                    "id": {"type": "integer"},
                    "title": {"type": "string"},
                    "url": {"type": "string"},
                },
            },
            "post_id": {"type": ["integer", "null"]},
            "sentiment": {"type": ["number", "null"], "description": "VADER compound, -1 to 1"},
            "terms": {"type": "array", "items": {"type": "string"}},
            "watchlist": {
                "type": ["object", "null"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
            },
            "member": {
                "type": "object",
                "properties": {
                    **AUTHOR["properties"],
                    "customer_value": {"type": ["number", "null"]},
                    "segment": {"type": ["string", "null"]},
                },
            },
            "created_at": STAMP,
            "handled": {
                "type": ["object", "null"],
                "properties": {
                    "at": STAMP,
                    "by": AUTHOR,
                    "action": {"type": "string", "enum": list(HANDLED_ACTIONS)},
                    "case": {"type": ["string", "null"], "description": "Support case reference"},
                },
            },
        },
    },
    "Watchlist": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": list(WATCHLIST_KINDS)},
            "terms": {"type": "array", "items": {"type": "string"}},
            "owner": AUTHOR,
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    },
}
