"""The reputation part of the OpenAPI document."""

from community.openapi import AUTHOR, PAGING, STAMP, answer, path_id, ref

MEMBER_ID = path_id("member_id")
DAY = {"type": "string", "format": "date"}
COUNT_SHARE = {
    "type": "object",
    "properties": {"count": {"type": "integer"}, "share": {"type": "number"}},
}

PATHS = {
    "/api/v1/members/{member_id}/reputation": {
        "get": {
            "summary": "A member's points, rank, badges and the recent ledger rows the caller may see",
            "description": "Rows about content in spaces the caller cannot see are left out; "
            "the total still counts them.",
            "parameters": [MEMBER_ID],
            "responses": answer("The reputation", ref("Reputation"), errors=(404,)),
        }
    },
    "/api/v1/leaderboard": {
        "get": {
            "summary": "Top members by points: this week, this month or all time, optionally in one space",
            "parameters": [
                {"name": "period", "in": "query",
                 "schema": {"type": "string", "enum": ["week", "month", "all"]}},
                {"name": "space", "in": "query", "schema": {"type": "string"},
                 "description": "A space slug (404 for spaces the caller may not see)"},
                *PAGING,
            ],
            "responses": answer("The leaderboard", ref("Leaderboard"), errors=(404, 422)),
        }
    },
    "/api/v1/members/{member_id}/social-value": {
        "get": {
            "summary": "A member's social value breakdown and engagement level (staff)",
            "parameters": [MEMBER_ID],
            "responses": answer("The breakdown", ref("SocialValue"), errors=(401, 403, 404)),
        }
    },
}  # fmt: skip

SCHEMAS = {
    "LedgerEntry": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "points": {"type": "integer"},
            "rule": {"type": "string"},
            "cause": {"type": "string", "description": "The event that wrote the row"},
            "description": {"type": "string"},
            "object": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["post", "idea"]},
                    "id": {"type": "integer"},
                    "url": {"type": ["string", "null"]},
                },
            },
            "reverses": {"type": ["integer", "null"]},
            "created_at": STAMP,
        },
    },
    "Reputation": {
        "type": "object",
        "properties": {
            "member": AUTHOR,
            "points": {"type": "integer"},
            "rank": {"type": "string"},
            "next_rank": {
                "type": ["object", "null"],
                "properties": {"name": {"type": "string"}, "points": {"type": "integer"}},
            },
            "badges": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "key": {"type": "string"},
                        "name": {"type": "string"},
                        "url": {"type": "string"},
                        "awarded_at": STAMP,
                    },
                },
            },
            "recent": {"type": "array", "items": ref("LedgerEntry")},
        },
    },
    "Leaderboard": {
        "type": "object",
        "properties": {
            "period": {"type": "string"},
            "space": {"type": ["string", "null"]},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "position": {"type": "integer"},
                        "member": AUTHOR,
                        "points": {"type": "integer"},
                        "rank": {"type": "string"},
                    },
                },
            },
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        },
    },
    "SocialValue": {
        "type": "object",
        "properties": {
            "member": AUTHOR,
            "member_id": {"type": "integer"},
            **{
                name: {"type": "integer"}
                for name in (
                    "accepted_answers", "solution_views", "deflections", "kudos_received",
                    "ideas_delivered", "advisory_spaces", "advisory_posts",
                )
            },
            "savings": {"type": "number"},
            "social_value": {"type": "number", "description": "See docs/reputation.md"},
            "currency": {"type": "string"},
            "engagement_level": {
                "type": "string", "enum": ["aware", "engaged", "committed", "advocate"]
            },
        },
    },
    "Participation": {
        "type": "object",
        "properties": {
            "from": DAY,
            "to": DAY,
            "members": {"type": "integer"},
            "profile": {
                "type": "object",
                "properties": {
                    "readers": COUNT_SHARE, "contributors": COUNT_SHARE, "creators": COUNT_SHARE
                },
            },
            "engagement": {
                "type": "object",
                "properties": {
                    level: {"type": "integer"}
                    for level in ("aware", "engaged", "committed", "advocate")
                },
            },
        },
    },
}  # fmt: skip
