"""The ceiling: a bare Flask app that answers each page with the bytes Parley sent.

    BENCH_CEILING_DIR=/tmp/pages gunicorn ... ceiling:app    (run by bench/load_bench.py)

``/<n>`` answers (GET or POST) with the status, content type, Location and body
captured in ``<dir>/<n>.json`` and ``<dir>/<n>.body``: the same bytes over the same
gunicorn settings, with no routing beyond one rule, no session, no database and no
template. What Flask and gunicorn cost on their own; the bench divides by it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, Response, abort

app = Flask(__name__)
PAGES: dict[int, tuple[int, dict, bytes]] = {}

folder = Path(os.environ.get("BENCH_CEILING_DIR", "."))
for meta_file in folder.glob("*.json"):
    meta = json.loads(meta_file.read_text())
    headers = {"Content-Type": meta["content_type"]}
    if meta.get("location"):
        headers["Location"] = meta["location"]
    PAGES[int(meta_file.stem)] = (
        meta["status"],
        headers,
        meta_file.with_suffix(".body").read_bytes(),
    )


@app.route("/<int:n>", methods=["GET", "POST"])
def page(n: int):
    if n not in PAGES:
        abort(404)
    status, headers, body = PAGES[n]
    return Response(body, status=status, headers=headers)
