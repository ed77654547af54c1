"""Pages members share: rendered once for everyone who sees them alike, with the
personal parts filled in for each member.

A thread page looks the same to every customer who belongs to the same spaces and
holds the same roles, except for a few personal parts: the CSRF token, the top
bar (their notifications, their name), whether they gave kudos, follow the
thread, voted for an idea, or wrote the post. Templates mark those parts:

- ``viewer_is(member_id, yes, no)``: ``yes`` for that member, ``no`` for anyone else,
  and ``shown_to(who, html)`` for an ``access.Who`` (the author, everyone but them);
- ``viewer_has(state, target_id, yes, no)``: ``yes`` when the member has that state for
  the target (kudos given, a thread followed, an idea voted for); each state is
  one query for every target of the page, registered by its domain with
  ``member_state``;
- ``personal(template)``: a small template rendered for the member (the top bar);
- ``csrf_token()`` and ``my_member_id()``.

Within a request the marked parts are left as markers while the page renders and
filled in once, when the response goes out; so a page decorated with ``@shared``
can keep its rendered HTML, markers and all, and serve it to the next member of
the same *audience* with no routing work, no SQL and no template beyond the
personal parts. Keys carry the page cache's generation, so any domain event
starts every shared page afresh, exactly like the visitors' page cache.

The audience is what decides what a member may see: their roles, their trust
level and the spaces they belong to. Some members never share, because what they
see is theirs alone: admins (each view of a private space is audited), suspended
members (the page names their suspension), members with hidden or held content
of their own (only they and moderators see it; domains say what counts with
``own_hidden_content``), and a request carrying flash messages.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from functools import cache, wraps

from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    make_response,
    render_template,
    request,
    session,
)
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import String, bindparam, cast, literal, or_, select, union_all

from . import access
from .cache import count_view_of
from .extensions import db

log = logging.getLogger(__name__)

MARKER = re.compile(r"<!--personal:(\d+)-->")
# Parts with nothing to choose between, the same wherever they appear in a page.
FIXED = {
    "<!--personal:csrf-->": lambda: generate_csrf(),
    "<!--personal:member-->": lambda: str(current_user.id),
}

_states: dict[str, Callable] = {}
_own_hidden: list[Callable] = []


def member_state(name: str):
    """Register a member state for ``viewer_has``: ``fn(member_id, target_ids)`` returns
    the query (one column) of the targets the member has it for; both arguments are
    bound parameters, so a page asks every state it shows in one prepared statement."""

    def register(fn):
        _states[name] = fn
        return fn

    return register


def own_hidden_content(fn):
    """Register ``fn(member_id) -> SQL condition`` (member_id: a bound parameter), true
    when the member has content of their own that others do not see (hidden or held
    for approval)."""
    _own_hidden.append(fn)
    return fn


# ---- marking the personal parts ----------------------------------------------------


def _deferring() -> bool:
    """Parts are left as markers during a signed-in request's render; a visitor, or a
    template rendered outside a request (or while the parts are being filled), gets
    them at once."""
    return (
        has_request_context()
        and current_user.is_authenticated
        and not g.get("personal_filling", False)
    )


def _mark(part: tuple) -> Markup:
    holes = g.setdefault("personal_parts", [])
    holes.append(part)
    return Markup(f"<!--personal:{len(holes) - 1}-->")  # noqa: S704 (a number)


def viewer_is(member_id: int, yes="", no=""):
    if _deferring():
        return _mark(("is", member_id, escape(yes), escape(no)))
    viewer = current_user if has_request_context() else None
    same = viewer is not None and viewer.is_authenticated and viewer.id == member_id
    return escape(yes if same else no)


def shown_to(who, html, otherwise=""):
    """``html`` for the members an ``access.Who`` allows, ``otherwise`` for the rest."""
    if who.member_id is None:
        return escape(html if who.everyone else otherwise)
    yes, no = (otherwise, html) if who.everyone else (html, otherwise)
    return viewer_is(who.member_id, yes, no)


def viewer_has(state: str, target_id: int, yes="", no=""):
    if _deferring():
        return _mark(("has", state, target_id, escape(yes), escape(no)))
    viewer = current_user if has_request_context() else None
    if viewer is None or not viewer.is_authenticated:
        return escape(no)
    held = _held(viewer, {state: {target_id}})[state]
    return escape(yes if target_id in held else no)


def personal(template: str):
    if _deferring():
        return _mark(("render", template))
    return Markup(render_template(template))  # noqa: S704 (autoescaped)


def _fixed(marker: str) -> Markup:
    g.setdefault("personal_parts", [])  # so that the response is filled
    return Markup(marker)  # noqa: S704 (a constant)


def csrf_token():
    return _fixed("<!--personal:csrf-->") if _deferring() else generate_csrf()


def my_member_id():
    return _fixed("<!--personal:member-->") if _deferring() else str(current_user.id)


# ---- filling them in ---------------------------------------------------------------


def fill(text: str, parts: list[tuple]) -> str:
    """The page for the signed-in member: every marker replaced by their part."""
    member = current_user._get_current_object()
    wanted: dict[str, set] = defaultdict(set)
    for part in parts:
        if part[0] == "has":
            wanted[part[1]].add(part[2])
    held = _held(member, wanted)

    def choose(index: int) -> str:
        part = parts[index]
        if part[0] == "is":
            return part[2] if part[1] == member.id else part[3]
        if part[0] == "has":
            return part[3] if part[2] in held[part[1]] else part[4]
        return render_template(part[1])

    def substitute(text: str, depth: int) -> str:
        pieces = MARKER.split(text)
        for i in range(1, len(pieces), 2):
            chosen = choose(int(pieces[i]))
            # A chosen part may carry markers of its own (kudos inside "not the author").
            pieces[i] = substitute(chosen, depth + 1) if depth < 3 and "<!--" in chosen else chosen
        return "".join(pieces)

    g.personal_filling = True
    try:
        text = substitute(text, 0)
    finally:
        g.personal_filling = False
    for marker, value in FIXED.items():
        if marker in text:
            text = text.replace(marker, value())
    return text


_state_queries: dict[tuple[str, ...], object] = {}


def _state_query(names: tuple[str, ...]):
    """The statement asking these states, built once: SQLAlchemy caches its compiled
    form, and building a union for every request costs more than running it."""
    query = _state_queries.get(names)
    if query is None:
        member_id = bindparam("member_id")
        asked = [
            # Typed, or PostgreSQL cannot tell what a bare parameter in a UNION is.
            select(
                cast(literal(name), String).label("state"),
                *_states[name](member_id, bindparam(f"ids_{n}", expanding=True)).subquery().c,
            )
            for n, name in enumerate(names)
        ]
        query = _state_queries[names] = union_all(*asked) if len(asked) > 1 else asked[0]
    return query


def _held(member, wanted: dict[str, set]) -> dict[str, set]:
    """Every state the page shows, for its targets, in one statement."""
    held: dict[str, set] = {name: set() for name in wanted}
    if not wanted:
        return held
    names = tuple(sorted(wanted))
    params = {f"ids_{n}": sorted(wanted[name]) for n, name in enumerate(names)}
    for name, target in db.session.execute(_state_query(names), {"member_id": member.id, **params}):
        held[name].add(target)
    return held


def fill_response(response):
    """The last step of every signed-in page that left personal parts as markers."""
    parts = g.pop("personal_parts", None)
    if parts is None or response.is_streamed or response.direct_passthrough:
        return response
    if response.mimetype == "text/html":
        text = response.get_data(as_text=True)
        if "<!--personal:" in text:
            response.set_data(fill(text, parts))
    return response


# ---- sharing a page within its audience ------------------------------------------


@cache
def _audience_query():
    """The member's spaces, and -1 when they have hidden content of their own: one
    statement, built once (see _state_query)."""
    member_id = bindparam("member_id")
    joined = access.joined_space_ids(member_id)
    own_hidden = [condition(member_id) for condition in _own_hidden]
    if not own_hidden:
        return joined
    return union_all(joined, select(literal(-1)).where(or_(*own_hidden)))


def audience(member) -> str | None:
    """Who sees this page alike, as a key; None when the member's view is theirs alone."""
    if not member.is_authenticated or member.is_admin or member.is_suspended:
        return None
    if session.get("_flashes"):
        return None
    spaces = sorted(db.session.scalars(_audience_query(), {"member_id": member.id}))
    if spaces and spaces[0] == -1:
        return None
    described = f"{sorted(member.roles)}|{member.trust_level}|{spaces}"
    return hashlib.blake2b(described.encode(), digest_size=12).hexdigest()


def shared(view):
    """Serve the page from what was rendered for the member's audience, when it is
    there; else render it, keep it for the audience, and serve it."""

    @wraps(view)
    def serve(*args, **kwargs):
        page_cache = current_app.extensions.get("parley_page_cache")
        if page_cache is None or not page_cache.enabled or request.method != "GET":
            return view(*args, **kwargs)
        who = audience(current_user)
        if who is None:
            return view(*args, **kwargs)
        # The scheme too: the JSON API writes absolute links.
        key = (
            f"shared:{page_cache.generation.current()}:{who}:{request.host_url}{request.full_path}"
        )
        try:
            entry = page_cache.backend.get(key)
        except Exception:  # the cache is an optimisation: without it, render
            log.exception("shared page cache unavailable")
            return view(*args, **kwargs)
        if entry is not None:
            body, mimetype, parts, viewed = entry
            g.personal_parts = list(parts)
            if viewed:
                count_view_of(viewed)
            response = current_app.response_class(body, mimetype=mimetype)
            response.headers["X-Parley-Cache"] = "shared"
            return response
        g.personal_parts = []
        response = make_response(view(*args, **kwargs))
        if (
            response.status_code == 200
            and response.mimetype in ("text/html", "application/json")
            and not response.is_streamed
            and not session.get("_flashes")
            # A raw token made during the render (a form's hidden_tag) is this member's.
            and "csrf_token" not in g
        ):
            entry = (
                response.get_data(as_text=True),
                response.mimetype,
                g.personal_parts,
                g.get("viewed_thread"),
            )
            try:
                page_cache.backend.set(key, entry, timeout=page_cache.timeout)
            except Exception:
                log.exception("shared page cache unavailable")
        return response

    return serve


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        viewer_is=viewer_is,
        shown_to=shown_to,
        viewer_has=viewer_has,
        personal=personal,
        csrf_token=csrf_token,
        my_member_id=my_member_id,
    )
    # Flask-WTF hands templates its own csrf_token through a context processor too;
    # a later one wins, so every template gets the marker instead.
    app.context_processor(lambda: {"csrf_token": csrf_token})
    app.after_request(fill_response)
