"""The ideas part of the OpenAPI document."""

from community.openapi import AUTHOR, PAGING, STAMP, answer, body, page_of, path_id, ref

from .models import IMPORTANCE, STATUSES

IDEA_ID = path_id("idea_id")
STATUS = {"type": "string", "enum": list(STATUSES)}

PATHS = {
    "/api/v1/ideas": {
        "get": {
            "summary": "Ideas the caller may see",
            "parameters": [
                {"name": "sort", "in": "query",
                 "schema": {"type": "string", "enum": ["top", "trending", "new"]}},
                {"name": "status", "in": "query", "schema": STATUS},
                {"name": "area", "in": "query", "schema": {"type": "string"}},
                {"name": "tag", "in": "query", "schema": {"type": "string"}},
                *PAGING,
            ],
            "responses": answer("Ideas", page_of("Idea"), errors=(404, 422)),
        },
        "post": {
            "summary": "Submit an idea (the author's vote counts at once)",
            "requestBody": body(
                {"title": {"type": "string"}, "body": {"type": "string"},
                 "area": {"type": "string", "description": "An area slug"},
                 "tags": {"type": "array", "items": {"type": "string"}}},
                ["title", "body", "area"],
            ),
            "responses": answer("The idea", ref("IdeaDetail"), "201", (400, 401, 403, 422, 429)),
        },
    },
    "/api/v1/ideas/areas": {
        "get": {"summary": "Product areas (idea boards)", "responses": answer("Areas", page_of("Area"))}
    },
    "/api/v1/ideas/similar": {
        "get": {
            "summary": "Up to 5 ideas similar to a title being typed",
            "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
            "responses": answer("Similar ideas", page_of("Idea")),
        }
    },
    "/api/v1/ideas/review": {
        "get": {
            "summary": "Product managers: ideas with demand weighted by customer value",
            "parameters": [
                {"name": "sort", "in": "query",
                 "schema": {"type": "string", "enum": ["value", "votes", "trend", "new"]}},
                {"name": "segment", "in": "query", "schema": {"type": "string"}},
                {"name": "status", "in": "query", "schema": STATUS},
                *PAGING,
            ],
            "responses": answer("Review rows", page_of("IdeaReview"), errors=(401, 404, 422)),
        }
    },
    "/api/v1/ideas/{idea_id}": {
        "get": {
            "summary": "One idea with its status history",
            "parameters": [IDEA_ID],
            "responses": answer("The idea", ref("IdeaDetail"), errors=(404,)),
        }
    },
    "/api/v1/ideas/{idea_id}/vote": {
        "post": {
            "summary": "Vote (idempotent; a second vote only updates importance)",
            "parameters": [IDEA_ID],
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "importance": {"type": "string", "enum": list(IMPORTANCE)}}}}},
            },
            "responses": answer("The idea", ref("IdeaDetail"), errors=(401, 403, 404, 409, 422)),
        },
        "delete": {
            "summary": "Withdraw your vote (idempotent)",
            "parameters": [IDEA_ID],
            "responses": answer("The idea", ref("IdeaDetail"), errors=(401, 404)),
        },
    },
    "/api/v1/ideas/{idea_id}/status": {
        "post": {
            "summary": "Change status with a note to every voter (product managers)",
            "parameters": [IDEA_ID],
            "requestBody": body({"status": STATUS, "note": {"type": "string"}}, ["status"]),
            "responses": answer("The idea", ref("IdeaDetail"), errors=(400, 401, 403, 404, 409, 422)),
        }
    },
    "/api/v1/ideas/{idea_id}/merge": {
        "post": {
            "summary": "Merge this duplicate into another idea (product managers)",
            "parameters": [IDEA_ID],
            "requestBody": body({"into": {"type": "integer"}}, ["into"]),
            "responses": answer("The idea kept", ref("IdeaDetail"), errors=(400, 401, 403, 404, 409, 422)),
        }
    },
}  # fmt: skip

IDEA_PROPERTIES = {
    "id": {"type": "integer"},
    "url": {"type": "string"},
    "title": {"type": "string"},
    "body": {"type": "string"},
    "body_html": {"type": "string"},
    "area": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "status": STATUS,
    "votes": {"type": "integer"},
    "author": AUTHOR,
    "created_at": STAMP,
    "status_changed_at": STAMP,
    "merged_into": {"type": ["integer", "null"]},
    "comments": {"type": "integer"},
    "voted": {"type": "boolean", "description": "Signed-in callers only"},
    "importance": {"type": ["string", "null"], "description": "The caller's vote's importance"},
}

SCHEMAS = {
    "Area": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "space": {"type": "string"},
        },
    },
    "Idea": {"type": "object", "properties": IDEA_PROPERTIES},
    "IdeaDetail": {
        "type": "object",
        "properties": {
            **IDEA_PROPERTIES,
            "status_history": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "url": {"type": "string"},
                        "from": STATUS,
                        "to": STATUS,
                        "note": {"type": "string"},
                        "note_html": {"type": "string"},
                        "by": AUTHOR,
                        "at": STAMP,
                    },
                },
            },
        },
    },
    "IdeaReview": {
        "type": "object",
        "properties": {
            **IDEA_PROPERTIES,
            "importance_mix": {
                "type": "object",
                "properties": {level: {"type": "integer"} for level in IMPORTANCE},
            },
            "votes_last_30_days": {"type": "integer"},
            "votes_previous_30_days": {"type": "integer"},
            "trend": {"type": "integer"},
            "value_weighted_demand": {"type": "number"},
            "segments": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"votes": {"type": "integer"}, "value": {"type": "number"}},
                },
            },
        },
    },
}
