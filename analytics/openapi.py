"""The analytics part of the OpenAPI document: one path per panel."""

from community.openapi import answer, ref

from .panels import PANELS

DAY = {"type": "string", "format": "date"}
PARAMETERS = [
    {
        "name": "from",
        "in": "query",
        "schema": DAY,
        "description": "UTC, inclusive; 30 days back by default",
    },
    {"name": "to", "in": "query", "schema": DAY, "description": "UTC, inclusive; today by default"},
    {
        "name": "segment",
        "in": "query",
        "schema": {"type": "string"},
        "description": "A CRM segment members carry",
    },
    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}},
]
# The two panels older clients know keep their own documented shapes.
SHAPES = {"deflection": "DeflectionAnalytics", "participation": "Participation"}

PATHS = {
    f"/api/v1/analytics/{name}": {
        "get": {
            "summary": f"Analytics: the {spec.title.lower()} panel (roles an admin chose)",
            "description": "Figures, chart series and tables; definitions in docs/metrics.md. "
            "`format=csv` answers text/csv rows of section, key, field, value.",
            "parameters": PARAMETERS,
            "responses": answer(
                "The panel",
                {"allOf": [ref("AnalyticsPanel"), ref(SHAPES[name])]} if name in SHAPES
                else ref("AnalyticsPanel"),
                errors=(401, 403, 422),
            ),
        }
    }
    for name, spec in PANELS.items()
}  # fmt: skip

SCHEMAS = {
    "AnalyticsPanel": {
        "type": "object",
        "properties": {
            "panel": {"type": "string", "enum": list(PANELS)},
            "title": {"type": "string"},
            "from": DAY,
            "to": DAY,
            "segment": {"type": ["string", "null"]},
            "figures": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
            "charts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "title": {"type": "string"},
                        "type": {"type": "string", "enum": ["line", "bar", "doughnut"]},
                        "labels": {"type": "array", "items": {"type": "string"}},
                        "datasets": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "label": {"type": "string"},
                                    "data": {"type": "array", "items": {"type": ["number", "null"]}},
                                },
                            },
                        },
                    },
                },
            },
        },
    }
}  # fmt: skip
