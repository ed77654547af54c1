"""The moderation part of the OpenAPI document."""

from community.openapi import AUTHOR, PAGING, STAMP, answer, body, page_of, ref

from .models import FLAG_REASONS, TARGET_TYPES
from .services import ACTIONS

TARGET_TYPE = {"type": "string", "enum": list(TARGET_TYPES)}
TEXT = {"type": "string"}
INT = {"type": "integer"}

PATHS = {
    "/api/v1/flags": {
        "post": {
            "summary": "Flag a post, thread, idea or member profile (trust level 1+, once each)",
            "requestBody": body(
                {
                    "target_type": TARGET_TYPE,
                    "target_id": INT,
                    "reason": {"type": "string", "enum": list(FLAG_REASONS)},
                    "note": {"type": "string", "description": "Required when reason is other"},
                },
                ["target_type", "target_id", "reason"],
            ),
            "responses": answer("The flag", ref("Flag"), "201", (401, 403, 404, 409, 422, 429)),
        }
    },
    "/api/v1/moderation/queue": {
        "get": {
            "summary": "Moderators: open review items with flags, author history and trust level",
            "parameters": [
                {
                    "name": "sort",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["newest", "most_flagged"]},
                },
                {
                    "name": "kind",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["flags", "approval", "fraud"]},
                },
                *PAGING,
            ],
            "responses": answer("Review items", page_of("ReviewItem"), errors=(401, 404, 422)),
        }
    },
    "/api/v1/moderation/actions": {
        "post": {
            "summary": "Moderators: act on one target, or on several queue items (item_ids)",
            "requestBody": body(
                {
                    "action": {"type": "string", "enum": list(ACTIONS)},
                    "target_type": TARGET_TYPE,
                    "target_id": INT,
                    "reason": TEXT,
                    "until": {
                        "type": "string",
                        "format": "date-time",
                        "description": "suspend: until when (ISO-8601)",
                    },
                    "into": {
                        "type": ["string", "integer"],
                        "description": "move: a space slug; merge: a thread id",
                    },
                    "body": {"type": "string", "description": "edit: the new text"},
                    "level": {"type": "integer", "description": "set_trust: 0-4 (locks it)"},
                    "item_ids": {
                        "type": "array",
                        "items": INT,
                        "description": "bulk: dismiss, hide, restore, delete, approve, reject",
                    },
                },
                ["action"],
            ),
            "responses": answer(
                "What was done", ref("ModerationResult"), errors=(401, 403, 404, 409, 422)
            ),
        }
    },
    "/api/v1/moderation/audit-log": {
        "get": {
            "summary": "Moderators: the append-only audit log of moderation and admin actions",
            "parameters": [
                {
                    "name": "actor",
                    "in": "query",
                    "schema": TEXT,
                    "description": "A member id or handle",
                },
                {"name": "action", "in": "query", "schema": TEXT},
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
                *PAGING,
            ],
            "responses": answer("Audit entries", page_of("AuditEntry"), errors=(401, 404, 422)),
        }
    },
}

TARGET = {
    "type": ["object", "null"],
    "properties": {
        "type": TARGET_TYPE,
        "id": INT,
        "url": TEXT,
        "title": TEXT,
        "state": TEXT,
        "author": AUTHOR,
    },
}

SCHEMAS = {
    "Flag": {
        "type": "object",
        "properties": {
            "id": INT,
            "url": TEXT,
            "target_type": TARGET_TYPE,
            "target_id": INT,
            "reason": TEXT,
            "note": TEXT,
            "by": AUTHOR,
            "created_at": STAMP,
        },
    },
    "AuditEntry": {
        "type": "object",
        "properties": {
            "id": INT,
            "url": TEXT,
            "actor": AUTHOR,
            "action": TEXT,
            "target_type": TEXT,
            "target_id": {"type": ["integer", "null"]},
            "target": TEXT,
            "reason": TEXT,
            "before": {"type": ["string", "null"], "description": "JSON"},
            "after": {"type": ["string", "null"], "description": "JSON"},
            "created_at": STAMP,
        },
    },
    "ReviewItem": {
        "type": "object",
        "properties": {
            "id": INT,
            "url": TEXT,
            "kind": TEXT,
            "status": TEXT,
            "target": TARGET,
            "flag_count": INT,
            "detail": TEXT,
            "auto_hidden": {"type": "boolean"},
            "created_at": STAMP,
            "last_activity_at": STAMP,
            "flags": {"type": "array", "items": ref("Flag")},
            "author": {"type": ["object", "null"]},
        },
    },
    "ModerationResult": {
        "type": "object",
        "properties": {
            "action": TEXT,
            "target": TARGET,
            "done": {"type": "array", "items": INT},
            "failed": {"type": "object"},
        },
    },
}
