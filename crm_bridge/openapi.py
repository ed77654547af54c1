"""The CRM bridge part of the OpenAPI document."""

from community.openapi import answer, path_id, ref

PATHS = {
    "/api/v1/crm/status": {
        "get": {
            "summary": "Admins: the outbox's backlog, failures, dead letters and delivery lag",
            "responses": answer("Outbox status", ref("CrmStatus"), errors=(401, 404)),
        }
    },
    "/api/v1/customers/{contact_id}": {
        "get": {
            "summary": "Staff: the customer 360 of one contact of the built-in CRM",
            "parameters": [path_id("contact_id")],
            "responses": answer("The customer", ref("Customer360"), errors=(401, 404)),
        }
    },
    "/api/v1/crm/inbound": {
        "post": {
            "summary": "The CRM's signed webhook: contact attribute changes and case statuses",
            "description": "Headers X-Parley-Timestamp (Unix seconds, within 5 minutes) and "
            'X-Parley-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>"> with '
            "PARLEY_CRM_INBOUND_SECRET (or the webhook secret). An id seen before changes nothing.",
            "parameters": [
                {
                    "name": "X-Parley-Timestamp",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                },
                {
                    "name": "X-Parley-Signature",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("CrmInbound")}},
            },
            "responses": answer(
                "Applied, or a duplicate id",
                {
                    "type": "object",
                    "properties": {"status": {"type": "string", "enum": ["applied", "duplicate"]}},
                },
                errors=(401, 404, 422, 429),
            ),
        }
    },
}

SCHEMAS = {
    "CrmStatus": {
        "type": "object",
        "properties": {
            "connectors": {"type": "array", "items": {"type": "string"}},
            "unusable": {"type": "object", "additionalProperties": {"type": "string"}},
            "backlog": {"type": "integer"},
            "backlog_by_connector": {"type": "object", "additionalProperties": {"type": "integer"}},
            "oldest_pending_at": {"type": ["string", "null"], "format": "date-time"},
            "delivered_24h": {"type": "integer"},
            "failing": {"type": "array", "items": {"type": "object"}},
            "dead": {"type": "integer"},
            "dead_by_error": {"type": "array", "items": {"type": "object"}},
            "dead_letters": {"type": "array", "items": {"type": "object"}},
            "lag": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "hour": {"type": "string"},
                        "avg_seconds": {"type": ["number", "null"]},
                        "max_seconds": {"type": ["number", "null"]},
                        "count": {"type": "integer"},
                    },
                },
            },
        },
    },
    "Customer360": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            "name": {"type": "string"},
            "account": {"type": ["object", "null"]},
            "segment": {"type": ["string", "null"]},
            "tier": {"type": ["string", "null"]},
            "owner": {"type": ["string", "null"]},
            "customer_value": {"type": ["string", "null"]},
            "renewal_on": {"type": ["string", "null"], "format": "date"},
            "custom_fields": {"type": "object"},
            "member": {"type": ["object", "null"]},
            "link": {"type": ["object", "null"]},
            "activity": {"type": ["object", "null"]},
            "reputation": {"type": ["integer", "null"]},
            "rank": {"type": ["string", "null"]},
            "social_value": {"type": ["number", "null"]},
            "engagement_level": {"type": ["string", "null"]},
            "deflected_cases": {"type": "integer"},
            "self_service": {"type": "integer"},
            "support_cases": {"type": "array", "items": {"type": "object"}},
            "ideas": {"type": "array", "items": {"type": "object"}},
            "advisory": {"type": "array", "items": {"type": "object"}},
            "sentiment_trend": {"type": "array", "items": {"type": "object"}},
            "alerts": {"type": "array", "items": {"type": "object"}},
            "timeline": {"type": "array", "items": {"type": "object"}},
        },
    },
    "CrmInbound": {
        "type": "object",
        "required": ["id", "type", "data"],
        "properties": {
            "id": {"type": "string", "maxLength": 100},
            "type": {"type": "string", "enum": ["contact.updated", "case.updated"]},
            "connector": {"type": "string", "description": "Which CRM speaks (default webhook)"},
            "data": {
                "type": "object",
                "description": "contact.updated: email, external_id, segment, tier, customer_value, "
                "account_name, renewal_on, fields. case.updated: reference, status, resolution.",
            },
        },
    },
}
