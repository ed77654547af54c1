"""The community's JSON API under /api/v1 (conventions in docs/api.md and DESIGN.md)."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for
from flask_login import current_user

from . import api_bp, search, services
from .auth import bearer_token
from .errors import Invalid, NotFound, Unauthorized
from .extensions import csrf, limiter
from .openapi import document
from .shared_pages import shared
from .web import iso

csrf.exempt(api_bp)  # checked below, for session-authenticated writes only


@api_bp.before_request
def authenticate_request():
    if bearer_token():
        if not current_user.is_authenticated:
            raise Unauthorized("The API token is invalid or revoked.")
        return
    # Only a signed-in browser session can be ridden by another site; csrf.protect()
    # itself ignores WTF_CSRF_ENABLED, so honour it here.
    if (
        request.method not in ("GET", "HEAD", "OPTIONS")
        and current_app.config.get("WTF_CSRF_ENABLED", True)
        and current_user.is_authenticated
    ):
        csrf.protect()


def _limit(name: str):
    return limiter.limit(lambda: current_app.config[name])


def json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("Send a JSON object with Content-Type: application/json.")
    return data


def signed_in():
    if not current_user.is_authenticated:
        raise Unauthorized("Sign in or send an API token.")
    return current_user._get_current_object()


def int_arg(name: str, default: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(
            f"{name} must be a whole number.", fields={name: "Must be a number."}
        ) from None
    if value < 1:
        raise Invalid(f"{name} must be 1 or more.", fields={name: "Must be 1 or more."})
    return min(value, maximum) if maximum else value


def paging(default_per_page: int) -> tuple[int, int]:
    maximum = current_app.config["API_MAX_PER_PAGE"]
    return int_arg("page", 1), int_arg("per_page", default_per_page, maximum)


def whole_list(items: list) -> dict:
    """A list that fits in one page, in the list shape every list answers."""
    return {"items": items, "page": 1, "per_page": len(items), "total": len(items)}


def list_body(pagination, serialize) -> dict:
    return {
        "items": [serialize(item) for item in pagination.items],
        "page": pagination.page,
        "per_page": pagination.per_page,
        "total": pagination.total,
    }


# ---- serializers ----------------------------------------------------------------


def member_json(member, *, private: bool = False) -> dict:
    data = {
        "id": member.id,
        "url": url_for("community.profile", member_id=member.id, _external=True),
        "name": member.display_name,
        "handle": member.handle,
        "bio": member.bio,
        "joined_at": iso(member.created_at),
    }
    if private:
        data["email"] = member.email
        data["roles"] = sorted(member.roles)
    return data


def member_ref(member) -> dict:
    """A member mentioned inside another object (author, actor)."""
    return {
        "id": member.id,
        "url": url_for("community.profile", member_id=member.id, _external=True),
        "name": member.display_name,
    }


def space_json(space) -> dict:
    return {
        "id": space.id,
        "url": url_for("community.space", slug=space.slug, _external=True),
        "slug": space.slug,
        "name": space.name,
        "description": space.description,
        "kind": space.kind,
        "visibility": space.visibility,
        "position": space.position,
    }


def post_json(post) -> dict:
    return {
        "id": post.id,
        "url": url_for("community.post", post_id=post.id, _external=True),
        "thread_id": post.thread_id,
        "number": post.number,
        "author": member_ref(post.author),
        "body": post.body,
        "body_html": post.body_html,
        "created_at": iso(post.created_at),
        "edited_at": iso(post.edited_at),
        "kudos": post.kudos_count,
        "accepted": post.thread.accepted_post_id == post.id,
    }


def thread_json(thread) -> dict:
    return {
        "id": thread.id,
        "url": url_for("community.thread", thread_id=thread.id, _external=True),
        "space": thread.space.slug,
        "kind": thread.kind,
        "title": thread.title,
        "tags": thread.tag_names,
        "author": member_ref(thread.author),
        "created_at": iso(thread.created_at),
        "last_post_at": iso(thread.last_post_at),
        "replies": thread.reply_count,
        "views": thread.view_count,
        "solved": thread.is_solved,
        "accepted_post_id": thread.accepted_post_id,
        "locked": thread.is_locked,
    }


def notification_url(note, external: bool = False) -> str | None:
    """Where a notification leads: the post it is about, or the page another domain gave."""
    if note.post_id:
        return url_for("community.post", post_id=note.post_id, _external=external)
    if note.url:
        return request.host_url.rstrip("/") + note.url if external else note.url
    return None


def notification_json(note) -> dict:
    return {
        "id": note.id,
        "url": notification_url(note, external=True),
        "kind": note.kind,
        "summary": note.summary,
        "actor": member_ref(note.actor) if note.actor else None,
        "thread": {
            "id": note.thread.id,
            "url": url_for("community.thread", thread_id=note.thread.id, _external=True),
            "title": note.thread.title,
        }
        if note.thread
        else None,
        "post_id": note.post_id,
        "created_at": iso(note.created_at),
        "read": note.read_at is not None,
    }


# ---- auth and members -----------------------------------------------------------


@api_bp.post("/auth/token")
@_limit("RATELIMIT_TOKEN")
def issue_token():
    data = json_body()
    try:
        member = services.authenticate(data.get("email"), data.get("password"))
    except Invalid as error:
        raise Unauthorized(error.message) from None
    name = data.get("name") or "API token"
    _token, plaintext = services.issue_api_token(member, name)
    return jsonify({"token": plaintext}), 201


@api_bp.get("/me")
def me():
    member = signed_in()
    data = member_json(member, private=True)
    data["unread_notifications"] = services.unread_count(member)
    return jsonify(data)


@api_bp.get("/members/<int:member_id>")
def member(member_id):
    member = services.get_member(member_id)
    activity = services.member_activity(member, current_user, limit=0)
    data = member_json(member)
    data["threads"] = activity.thread_count
    data["answers"] = activity.answer_count
    data["accepted_solutions"] = activity.solution_count
    return jsonify(data)


# ---- spaces and threads -----------------------------------------------------------


@api_bp.get("/spaces")
def spaces():
    items = services.space_summaries(current_user)
    result = []
    for summary in items:
        data = space_json(summary.space)
        data["threads"] = summary.thread_count
        data["posts"] = summary.post_count
        data["last_activity_at"] = iso(summary.last_activity)
        result.append(data)
    return jsonify(whole_list(result))


@api_bp.post("/spaces")
@_limit("RATELIMIT_POSTING")
def create_space():
    """Admins create spaces; the creator of a private space becomes its host."""
    member = signed_in()
    data = json_body()
    fields = {k: data.get(k) for k in ("name", "slug", "kind", "visibility", "description")}
    space = services.create_space(member, **fields)
    return jsonify(space_json(space)), 201


@api_bp.get("/spaces/<slug>")
def space(slug):
    return jsonify(space_json(services.get_space(slug, current_user)))


@api_bp.get("/spaces/<slug>/threads")
def space_threads(slug):
    space = services.get_space(slug, current_user)
    page, per_page = paging(current_app.config["THREADS_PER_PAGE"])
    sort = request.args.get("sort", "latest")
    threads = services.list_threads(
        current_user, space=space, sort=sort, page=page, per_page=per_page
    )
    return jsonify(list_body(threads, thread_json))


@api_bp.get("/threads")
@shared
def threads():
    page, per_page = paging(current_app.config["THREADS_PER_PAGE"])
    sort = request.args.get("sort", "latest")
    result = services.list_threads(current_user, sort=sort, page=page, per_page=per_page)
    return jsonify(list_body(result, thread_json))


@api_bp.post("/threads")
@_limit("RATELIMIT_POSTING")
def create_thread():
    member = signed_in()
    data = json_body()
    slug = data.get("space")
    if not isinstance(slug, str) or not slug:
        raise Invalid("Say which space.", fields={"space": "Required."})
    space = services.get_space(slug, member)
    thread = services.create_thread(
        space, member, data.get("kind", "question"), data.get("title"), data.get("body"),
        data.get("tags", []),
    )  # fmt: skip
    body = thread_json(thread)
    body["posts"] = list_body(services.thread_replies(thread, member), post_json)
    body["opening_post"] = post_json(services.opening_post(thread))
    return jsonify(body), 201, {"Location": body["url"]}


@api_bp.get("/threads/<int:thread_id>")
def thread(thread_id):
    thread = services.get_thread(thread_id, current_user)
    page, per_page = paging(current_app.config["POSTS_PER_PAGE"])
    body = thread_json(thread)
    body["opening_post"] = post_json(services.opening_post(thread))
    body["posts"] = list_body(
        services.thread_replies(thread, current_user, page=page, per_page=per_page), post_json
    )
    return jsonify(body)


@api_bp.post("/threads/<int:thread_id>/posts")
@_limit("RATELIMIT_POSTING")
def create_post(thread_id):
    member = signed_in()
    thread = services.get_thread(thread_id, member)
    data = json_body()
    post = services.reply(thread, member, data.get("body"))
    return jsonify(post_json(post)), 201


@api_bp.get("/posts/<int:post_id>")
def post(post_id):
    return jsonify(post_json(services.get_post(post_id, current_user)))


@api_bp.post("/posts/<int:post_id>/accept")
def accept(post_id):
    member = signed_in()
    post = services.get_post(post_id, member)
    thread = services.accept_answer(post, member)
    return jsonify(thread_json(thread))


@api_bp.delete("/posts/<int:post_id>/accept")
def unaccept(post_id):
    member = signed_in()
    post = services.get_post(post_id, member)
    thread = services.unaccept_answer(post, member)
    return jsonify(thread_json(thread))


@api_bp.post("/posts/<int:post_id>/kudos")
def give_kudos(post_id):
    member = signed_in()
    post = services.give_kudos(services.get_post(post_id, member), member)
    return jsonify({"post_id": post.id, "kudos": post.kudos_count, "given": True})


@api_bp.delete("/posts/<int:post_id>/kudos")
def withdraw_kudos(post_id):
    member = signed_in()
    post = services.withdraw_kudos(services.get_post(post_id, member), member)
    return jsonify({"post_id": post.id, "kudos": post.kudos_count, "given": False})


# ---- notifications ------------------------------------------------------------------


@api_bp.get("/notifications")
def notifications():
    member = signed_in()
    page, per_page = paging(30)
    unread_only = request.args.get("unread") in ("1", "true")
    notes = services.list_notifications(member, page, per_page, unread_only=unread_only)
    body = list_body(notes, notification_json)
    body["unread"] = services.unread_count(member)
    return jsonify(body)


@api_bp.post("/notifications/read")
def notifications_read():
    member = signed_in()
    # No body marks everything read; a body that is not a JSON object is refused.
    data = json_body() if request.get_data() else {}
    unread = services.mark_notifications_read(member, data.get("ids"))
    return jsonify({"unread": unread})


# ---- search ------------------------------------------------------------------------------

SOLVED_ARGS = {
    "": None,
    "1": True,
    "true": True,
    "yes": True,
    "0": False,
    "false": False,
    "no": False,
}


def search_item(hit) -> dict:
    return {
        "type": hit.type,
        "id": hit.id,
        "title": hit.title,
        "url": hit.url(external=True),
        # Escaped text; its only markup is <mark> around the matched words.
        "snippet": str(hit.snippet),
        "solved": hit.solved,
        "kind": hit.kind,
        "space": hit.space.slug if hit.space is not None else None,
        "tags": hit.tags,
    }


def _choice_arg(name: str, choices) -> str | None:
    value = request.args.get(name, "")
    if value == "":
        return None
    if value not in choices:
        raise Invalid(f"{name} must be one of: {', '.join(choices)}.", fields={name: "Unknown."})
    return value


@api_bp.get("/search")
def search_everything():
    page, per_page = paging(current_app.config["SEARCH_RESULTS_PER_PAGE"])
    kind = _choice_arg("kind", tuple(search.KIND_LABELS))
    sort = _choice_arg("sort", search.SORTS) or "relevance"
    solved_arg = request.args.get("solved", "").lower()
    if solved_arg not in SOLVED_ARGS:
        raise Invalid("solved must be true or false.", fields={"solved": "Not a yes or no."})
    space = None
    if request.args.get("space"):
        try:
            space = services.get_space(request.args["space"], current_user)
        except NotFound:
            space = False  # nothing: a space the caller may not see has no results either
    results = search.query(
        current_user,
        request.args.get("q", ""),
        space=space,
        kind=kind,
        solved=SOLVED_ARGS[solved_arg],
        tag=request.args.get("tag", "").strip().lower()[:30] or None,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    return jsonify(
        {
            "items": [search_item(hit) for hit in results.items],
            "page": results.page,
            "per_page": results.per_page,
            "total": results.total,
            "query": results.query,
            "suggestion": results.suggestion,
            "facets": {
                name: [{"value": f.value, "label": f.label, "count": f.count} for f in values]
                for name, values in results.facets.items()
            },
            "unavailable": results.unavailable,
        }
    )


@api_bp.get("/search/similar")
def search_similar():
    hits = search.similar(current_user, request.args.get("q", ""))
    items = [search_item(hit) for hit in hits]
    return jsonify(whole_list(items))


# ---- the contract ---------------------------------------------------------------------


@api_bp.get("/openapi.json")
def openapi():
    return jsonify(document(request.url_root.rstrip("/")))
