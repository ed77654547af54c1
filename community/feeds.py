"""Atom feeds: the same lists as the pages, for feed readers.

A feed answers with what its reader may see, exactly like the page it mirrors:
a feed reader without a session sees public content only, and a private space's
feed answers 404 to anyone outside it. Entries carry the sanitized HTML that was
rendered when the post was written (never the raw Markdown).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator
from flask import Response, current_app, url_for

FEED_ENTRIES = 30
ATOM = "application/atom+xml; charset=utf-8"


@dataclass(frozen=True)
class Entry:
    id: str  # a stable tag URI part, e.g. "thread:12"
    title: str
    url: str
    author: str
    published: datetime
    updated: datetime
    html: str


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def atom(title: str, self_url: str, page_url: str, entries: Iterable[Entry], *, private: bool):
    """An Atom document as a response; `private` feeds are never stored by shared caches."""
    entries = list(entries)
    site = current_app.config["SITE_NAME"]
    host = url_for("community.index", _external=True).split("//", 1)[-1].split("/", 1)[0]
    feed = FeedGenerator()
    feed.id(self_url)
    feed.title(f"{title} · {site}")
    feed.link(href=page_url, rel="alternate")
    feed.link(href=self_url, rel="self")
    feed.generator(site)
    newest = max((e.updated for e in entries), default=datetime(2026, 1, 1))
    feed.updated(_aware(newest))
    for item in reversed(entries):  # feedgen prepends: add oldest first
        entry = feed.add_entry()
        entry.id(f"tag:{host},2026:{item.id}")
        entry.title(item.title)
        entry.link(href=item.url, rel="alternate")
        entry.author(name=item.author)
        entry.published(_aware(item.published))
        entry.updated(_aware(item.updated))
        entry.content(item.html, type="html")
    response = Response(feed.atom_str(pretty=False), mimetype="application/atom+xml")
    response.headers["Content-Type"] = ATOM
    response.headers["Cache-Control"] = "private, no-store" if private else "public, max-age=60"
    response.vary.add("Cookie")
    return response
