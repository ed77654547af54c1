"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json.

Each domain contributes a ``PATHS`` mapping; the app factory lists them in
``app.extensions["parley_openapi"]``. A test checks every /api/v1 route is here.
"""

from __future__ import annotations

from flask import current_app

ERROR = {"$ref": "#/components/schemas/Error"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema: dict, required: list[str] | None = None) -> dict:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": schema, "required": required or []}
            }
        },
    }


def answer(description: str, schema: dict | None = None, status: str = "200", errors=()) -> dict:
    responses = {status: {"description": description}}
    if schema is not None:
        responses[status]["content"] = {"application/json": {"schema": schema}}
    for code in errors:
        responses[str(code)] = {
            "description": ERROR_TEXT[code],
            "content": {"application/json": {"schema": ERROR}},
        }
    return responses


def page_of(name: str) -> dict:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": ref(name)},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }


ERROR_TEXT = {
    400: "Malformed request",
    401: "Not signed in, or the token is invalid",
    403: "Not allowed",
    404: "Not found (also for private things the caller may not see)",
    409: "Conflict",
    422: "Invalid input; `fields` says which",
    429: "Rate limited",
}

PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
]


def path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
SORT = {
    "name": "sort",
    "in": "query",
    "schema": {"type": "string", "enum": ["latest", "new", "unanswered", "solved"]},
}
THREAD_IN = {
    "space": {"type": "string", "description": "The space's slug"},
    "kind": {"type": "string", "enum": ["question", "discussion"]},
    "title": {"type": "string", "minLength": 5, "maxLength": 200},
    "body": {"type": "string", "description": "Markdown"},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
}
KUDOS = {
    "type": "object",
    "properties": {
        "post_id": {"type": "integer"},
        "kudos": {"type": "integer"},
        "given": {"type": "boolean"},
    },
}

PATHS = {
    "/api/v1/auth/token": {
        "post": {
            "summary": "Exchange e-mail and password for a bearer token",
            "security": [],
            "requestBody": body(
                {
                    "email": {"type": "string"},
                    "password": {"type": "string"},
                    "name": {"type": "string"},
                },
                ["email", "password"],
            ),
            "responses": answer(
                "The token (shown once)",
                {"type": "object", "properties": {"token": {"type": "string"}}},
                "201",
                (400, 401, 429),
            ),
        }
    },
    "/api/v1/me": {
        "get": {
            "summary": "The caller",
            "responses": answer("The caller", ref("Me"), errors=(401,)),
        }
    },
    "/api/v1/members/{member_id}": {
        "get": {
            "summary": "A member's public profile",
            "parameters": [path_id("member_id")],
            "responses": answer("The profile", ref("Member"), errors=(404,)),
        }
    },
    "/api/v1/spaces": {
        "get": {
            "summary": "Spaces the caller may see",
            "responses": answer("Spaces", page_of("Space")),
        },
        "post": {
            "summary": "Admins: create a space (the creator of a private space is its host; "
            "an advisory space is private and gets its committee and suggestions board)",
            "requestBody": body(
                {
                    "name": {"type": "string"},
                    "slug": {"type": "string"},
                    "kind": {"type": "string", "enum": ["forum", "advisory"]},
                    "visibility": {"type": "string", "enum": ["public", "private"]},
                    "description": {"type": "string"},
                },
                ["name", "slug"],
            ),
            "responses": answer("The space", ref("Space"), "201", (400, 401, 403, 409, 422)),
        },
    },
    "/api/v1/spaces/{slug}": {
        "get": {
            "summary": "One space",
            "parameters": [SLUG],
            "responses": answer("The space", ref("Space"), errors=(404,)),
        }
    },
    "/api/v1/spaces/{slug}/threads": {
        "get": {
            "summary": "Threads of a space",
            "parameters": [SLUG, SORT, *PAGING],
            "responses": answer("Threads", page_of("Thread"), errors=(404, 422)),
        }
    },
    "/api/v1/threads": {
        "get": {
            "summary": "Threads across every space the caller may see",
            "parameters": [SORT, *PAGING],
            "responses": answer("Threads", page_of("Thread"), errors=(422,)),
        },
        "post": {
            "summary": "Start a thread (question or discussion)",
            "requestBody": body(THREAD_IN, ["space", "title", "body"]),
            "responses": answer(
                "The new thread", ref("ThreadWithPosts"), "201", (400, 401, 403, 404, 422, 429)
            ),
        },
    },
    "/api/v1/threads/{thread_id}": {
        "get": {
            "summary": "A thread with a page of its replies",
            "parameters": [path_id("thread_id"), *PAGING],
            "responses": answer("The thread", ref("ThreadWithPosts"), errors=(404,)),
        }
    },
    "/api/v1/threads/{thread_id}/posts": {
        "post": {
            "summary": "Reply to a thread",
            "parameters": [path_id("thread_id")],
            "requestBody": body({"body": {"type": "string"}}, ["body"]),
            "responses": answer("The reply", ref("Post"), "201", (400, 401, 403, 404, 422, 429)),
        }
    },
    "/api/v1/posts/{post_id}": {
        "get": {
            "summary": "One post",
            "parameters": [path_id("post_id")],
            "responses": answer("The post", ref("Post"), errors=(404,)),
        }
    },
    "/api/v1/posts/{post_id}/accept": {
        "post": {
            "summary": "Accept a reply as the solution (asker or moderator)",
            "parameters": [path_id("post_id")],
            "responses": answer("The thread", ref("Thread"), errors=(401, 403, 404, 422)),
        },
        "delete": {
            "summary": "Withdraw the accepted solution",
            "parameters": [path_id("post_id")],
            "responses": answer("The thread", ref("Thread"), errors=(401, 403, 404)),
        },
    },
    "/api/v1/posts/{post_id}/kudos": {
        "post": {
            "summary": "Give kudos (once; never to your own post)",
            "parameters": [path_id("post_id")],
            "responses": answer("Kudos count", KUDOS, errors=(401, 403, 404, 422)),
        },
        "delete": {
            "summary": "Withdraw kudos",
            "parameters": [path_id("post_id")],
            "responses": answer("Kudos count", KUDOS, errors=(401, 404)),
        },
    },
    "/api/v1/notifications": {
        "get": {
            "summary": "The caller's notifications, newest first",
            "parameters": [
                *PAGING,
                {"name": "unread", "in": "query", "schema": {"type": "string", "enum": ["1"]}},
            ],
            "responses": answer("Notifications", page_of("Notification"), errors=(401,)),
        }
    },
    "/api/v1/notifications/read": {
        "post": {
            "summary": "Mark notifications read (all, or the given ids)",
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"ids": {"type": "array", "items": {"type": "integer"}}},
                        }
                    }
                },
            },
            "responses": answer(
                "Unread count",
                {"type": "object", "properties": {"unread": {"type": "integer"}}},
                errors=(401, 422),
            ),
        }
    },
    "/api/v1/search": {
        "get": {
            "summary": "Search threads and members the caller may see",
            "description": 'Words, "phrases", AND/OR/NOT and (groups); any input is '
            "accepted. Solved threads rank above unsolved ones of equal relevance. "
            "`suggestion` is a spelling correction that finds more.",
            "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string"}},
                {"name": "space", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "kind",
                    "in": "query",
                    "schema": {
                        "type": "string",
                        "enum": ["question", "discussion", "member", "idea"],
                    },
                },
                {
                    "name": "solved",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                },
                {"name": "tag", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "sort",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["relevance", "recent"]},
                },
                *PAGING,
            ],
            "responses": answer("Results", ref("SearchResults"), errors=(422,)),
        }
    },
    "/api/v1/search/similar": {
        "get": {
            "summary": "Up to 5 threads like a question being written, solved first",
            "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
            "responses": answer("Similar threads", page_of("SearchItem")),
        }
    },
    "/api/v1/help/deflections": {
        "post": {
            "summary": "This solved my problem: record a deflected case",
            "description": "Counted once per customer, thread and day, and only from a person: "
            "the help page's script (its token in the X-Help-Token header) or an API token. "
            "201 when counted; 200 with `reason` (duplicate, robot) when not.",
            "security": [{"bearer": []}, {"session": []}, {}],
            "parameters": [{"name": "X-Help-Token", "in": "header", "schema": {"type": "string"}}],
            "requestBody": body(
                {"query": {"type": "string", "maxLength": 500}, "thread_id": {"type": "integer"}},
                ["query", "thread_id"],
            ),
            "responses": {
                **answer("Counted", ref("DeflectionResult"), "201", (400, 404, 422, 429)),
                "200": {
                    "description": "Not counted (a duplicate today, or a robot)",
                    "content": {"application/json": {"schema": ref("DeflectionResult")}},
                },
            },
        }
    },
    "/api/v1/help/cases": {
        "post": {
            "summary": "Still need help: open a support case (pending CRM sync)",
            "security": [{"bearer": []}, {"session": []}, {}],
            "requestBody": body(
                {
                    "subject": {"type": "string", "minLength": 5, "maxLength": 200},
                    "description": {"type": "string", "maxLength": 5000},
                    "email": {"type": "string", "description": "Required for visitors"},
                    "query": {"type": "string", "description": "What they searched for"},
                    "thread_id": {"type": "integer", "description": "The suggestion read"},
                },
                ["subject", "description"],
            ),
            "responses": answer("The case", ref("SupportCase"), "201", (400, 422, 429)),
        }
    },
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "security": [], "responses": answer("OpenAPI 3.1")}
    },
}

AUTHOR = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string"},
        "name": {"type": "string"},
    },
}
STAMP = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS = {
    "Error": {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": [
                            "not_found",
                            "forbidden",
                            "invalid",
                            "conflict",
                            "rate_limited",
                            "unauthorized",
                        ],
                    },
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "required": ["code", "message", "fields"],
            }
        },
    },
    "Member": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "name": {"type": "string"},
            "handle": {"type": "string"},
            "bio": {"type": "string"},
            "joined_at": STAMP,
            "threads": {"type": "integer"},
            "answers": {"type": "integer"},
            "accepted_solutions": {"type": "integer"},
        },
    },
    "Me": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "name": {"type": "string"},
            "email": {"type": "string"},
            "roles": {"type": "array", "items": {"type": "string"}},
            "unread_notifications": {"type": "integer"},
        },
    },
    "Space": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "kind": {"type": "string", "enum": ["forum", "advisory"]},
            "visibility": {"type": "string", "enum": ["public", "private"]},
        },
    },
    "Thread": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "space": {"type": "string"},
            "kind": {"type": "string", "enum": ["question", "discussion"]},
            "title": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "author": AUTHOR,
            "created_at": STAMP,
            "last_post_at": STAMP,
            "replies": {"type": "integer"},
            "views": {"type": "integer"},
            "solved": {"type": "boolean"},
            "accepted_post_id": {"type": ["integer", "null"]},
            "locked": {"type": "boolean"},
        },
    },
    "ThreadWithPosts": {
        "allOf": [
            {"$ref": "#/components/schemas/Thread"},
            {
                "type": "object",
                "properties": {"opening_post": ref("Post"), "posts": page_of("Post")},
            },
        ]
    },
    "Post": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "thread_id": {"type": "integer"},
            "number": {"type": "integer"},
            "author": AUTHOR,
            "body": {"type": "string"},
            "body_html": {"type": "string"},
            "created_at": STAMP,
            "edited_at": STAMP,
            "kudos": {"type": "integer"},
            "accepted": {"type": "boolean"},
        },
    },
    "Notification": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": ["string", "null"]},
            "kind": {"type": "string"},
            "actor": {"oneOf": [AUTHOR, {"type": "null"}]},
            "thread": {"type": ["object", "null"]},
            "post_id": {"type": ["integer", "null"]},
            "created_at": STAMP,
            "read": {"type": "boolean"},
        },
    },
}

MONEY = {"type": "number", "description": "In the site currency, two decimals"}
SCHEMAS |= {
    "SearchItem": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["thread", "member", "idea"]},
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "url": {"type": "string"},
            "snippet": {
                "type": "string",
                "description": "HTML: escaped text whose only tags are <mark> around matches",
            },
            "solved": {"type": ["boolean", "null"]},
            "kind": {"type": "string"},
            "space": {"type": ["string", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    },
    "SearchResults": {
        "allOf": [
            page_of("SearchItem"),
            {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "suggestion": {"type": ["string", "null"]},
                    "unavailable": {"type": "boolean"},
                    "facets": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "value": {"type": "string"},
                                    "label": {"type": "string"},
                                    "count": {"type": "integer"},
                                },
                            },
                        },
                    },
                },
            },
        ]
    },
    "DeflectionResult": {
        "type": "object",
        "properties": {
            "counted": {"type": "boolean"},
            "reason": {"type": ["string", "null"], "enum": [None, "duplicate", "robot"]},
            "thread": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "url": {"type": "string"},
                    "title": {"type": "string"},
                },
            },
            "recorded_at": STAMP,
        },
    },
    "SupportCase": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "reference": {"type": "string"},
            "status": {
                "type": "string",
                "enum": ["pending_sync", "open", "pending", "solved", "closed"],
            },
            "subject": {"type": "string"},
            "description": {"type": "string"},
            "email": {"type": "string"},
            "thread_id": {"type": ["integer", "null"]},
            "created_at": STAMP,
        },
    },
    "DeflectionAnalytics": {
        "type": "object",
        "properties": {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "currency": {"type": "string"},
            "deflected": {"type": "integer"},
            "escalated": {"type": "integer"},
            "deflection_rate": {
                "type": "number",
                "description": "deflected / (deflected + escalated)",
            },
            "cost_per_case": MONEY,
            "savings": MONEY,
            "by_space": {"type": "array", "items": {"type": "object"}},
            "top_solutions": {"type": "array", "items": {"type": "object"}},
            "by_day": {"type": "array", "items": {"type": "object"}},
        },
    },
}


def document(server_url: str) -> dict:
    paths: dict = {}
    schemas: dict = {}
    for part in current_app.extensions.get(
        "parley_openapi", [{"paths": PATHS, "schemas": SCHEMAS}]
    ):
        paths.update(part["paths"])
        schemas.update(part["schemas"])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Parley API",
            "version": "1",
            "description": "JSON in and out; ISO-8601 UTC timestamps; lists are paged with "
            "page and per_page (max 100). Authenticate with the browser session (send the "
            "X-CSRFToken header on writes) or `Authorization: Bearer <token>`.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }
