"""The ceiling: a bare Flask app that answers each page with the bytes Parley sent.

    BENCH_CEILING_DIR=/tmp/pages gunicorn ... ceiling:app    (run by bench/load_bench.py)

``/<n>`` answers (GET or POST) with the status, content type, Location and body
captured in ``<dir>/<n>.json`` and ``<dir>/<n>.body`` (read once, then kept in
memory): the same bytes over the same gunicorn settings, with one URL rule and no
session, database or template. What Flask and gunicorn cost on their own; the
bench divides by it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, Response, abort

app = Flask(__name__)
FOLDER = Path(os.environ.get("BENCH_CEILING_DIR", "."))
PAGES: dict[int, tuple[int, dict, bytes]] = {}


def _load(n: int) -> tuple[int, dict, bytes] | None:
    meta_file = FOLDER / f"{n}.json"
    if not meta_file.exists():
        return None
    meta = json.loads(meta_file.read_text())
    headers = {"Content-Type": meta["content_type"]}
    if meta.get("location"):
        headers["Location"] = meta["location"]
    return meta["status"], headers, meta_file.with_suffix(".body").read_bytes()


@app.route("/<int:n>", methods=["GET", "POST"])
def page(n: int):
    if n not in PAGES:
        found = _load(n)
        if found is None:
            abort(404)
        PAGES[n] = found
    status, headers, body = PAGES[n]
    return Response(body, status=status, headers=headers)
