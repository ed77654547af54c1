"""The advisory part of the OpenAPI document."""

from community.openapi import AUTHOR, answer, body

SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
TOKEN = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
RESPONSE = {
    "type": "object",
    "properties": {
        "status": {"type": "string"},
        "label": {"type": "string"},
        "response": {"type": "string", "description": "The company's note"},
        "by": AUTHOR,
        "at": {"type": "string", "format": "date-time"},
    },
}

PATHS = {
    "/api/v1/spaces/{slug}/invitations": {
        "post": {
            "summary": "Hosts: invite someone by e-mail; the single-use link is e-mailed too",
            "parameters": [SLUG],
            "requestBody": body({"email": {"type": "string", "format": "email"}}, ["email"]),
            "responses": answer(
                "The invitation",
                {"$ref": "#/components/schemas/Invitation"},
                "201",
                (400, 401, 404, 409, 422, 429),
            ),
        }
    },
    "/api/v1/invitations/{token}/accept": {
        "post": {
            "summary": "The signed-in invitee accepts the charter and joins (refused without "
            "accept_charter: true; the link works once and expires)",
            "parameters": [TOKEN],
            "requestBody": body({"accept_charter": {"type": "boolean"}}, ["accept_charter"]),
            "responses": answer(
                "Joined",
                {"$ref": "#/components/schemas/Membership"},
                errors=(400, 401, 404, 422, 429),
            ),
        }
    },
    "/api/v1/spaces/{slug}/action-log": {
        "get": {
            "summary": "Members and hosts: every suggestion with the company's response; "
            "counts of acted-upon, waiting (oldest first) and overdue suggestions",
            "parameters": [SLUG],
            "responses": answer(
                "The action log", {"$ref": "#/components/schemas/ActionLog"}, errors=(404,)
            ),
        }
    },
}

SCHEMAS = {
    "Invitation": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string", "description": "The single-use invitation link"},
            "email": {"type": "string"},
            "expires_at": {"type": "string", "format": "date-time"},
        },
    },
    "Membership": {
        "type": "object",
        "properties": {
            "space": {"type": "string"},
            "url": {"type": "string"},
            "charter_version": {"type": "integer"},
            "accepted_at": {"type": "string", "format": "date-time"},
        },
    },
    "ActionLogEntry": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "title": {"type": "string"},
            "author": AUTHOR,
            "submitted_at": {"type": "string", "format": "date-time"},
            "status": {"type": "string"},
            "answered": {"type": "boolean"},
            "response": {"oneOf": [RESPONSE, {"type": "null"}]},
            "history": {"type": "array", "items": RESPONSE},
            "due_on": {"type": "string", "format": "date"},
            "overdue": {"type": "boolean"},
        },
    },
    "ActionLog": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/ActionLogEntry"}},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            "acted_upon": {"type": "integer"},
            "waiting": {"type": "integer"},
            "overdue": {"type": "integer"},
            "response_days": {"type": "integer"},
            "waiting_oldest_first": {"type": "array", "items": {"type": "integer"}},
        },
    },
}
