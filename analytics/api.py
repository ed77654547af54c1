"""The analytics JSON API: GET /api/v1/analytics/<panel>?from=&to=&segment=
(and &format=csv). Every panel answers through the same registry."""

from __future__ import annotations

import csv
import io
import json

from flask import Response, request

from community.api import authenticate_request, signed_in
from community.errors import Invalid
from community.extensions import csrf

from . import api_bp, panels

csrf.exempt(api_bp)
api_bp.before_request(authenticate_request)


def csv_response(panel: panels.Panel) -> Response:
    out = io.StringIO()
    csv.writer(out).writerows(panel.csv_rows())
    name = f"parley-{panel.name}-{panel.period.start}-{panel.period.end}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def answer(name: str):
    viewer = signed_in()
    fmt = request.args.get("format") or "json"
    if fmt not in ("json", "csv"):
        raise Invalid("format must be json or csv.", fields={"format": "Unknown format."})
    panel = panels.build(name, viewer, panels.parse_period(request.args))
    if fmt == "csv":
        return csv_response(panel)
    # Not jsonify: it sorts keys, and the figures' order is the order people read them in.
    return Response(json.dumps(panel.as_json()), mimetype="application/json")


def _route(name: str):
    def view():
        return answer(name)

    view.__name__ = f"{name}_panel"
    api_bp.add_url_rule(f"/analytics/{name}", endpoint=f"{name}_panel", view_func=view)


for _name in panels.PANELS:
    _route(_name)
