"""HTML pages of the community: parse the request, call a service, render."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from . import access, bp, cache, feeds, search, services
from .errors import DomainError, Invalid, NotFound
from .extensions import limiter
from .forms import (
    EditPostForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RegisterForm,
    ReplyForm,
    RolesForm,
    SpaceForm,
    ThreadForm,
    TokenForm,
)
from .shared_pages import shared
from .web import page_arg, session_key, show_form_errors


def _limit(name: str):
    return limiter.limit(lambda: current_app.config[name], methods=["POST"])


def _safe_next(target: str | None) -> str:
    """Only redirect to a path on this site after signing in."""
    if target:
        parts = urlsplit(target)
        # "//host" (and "////host", which Werkzeug's Location clean-up turns into
        # "//host") leave the site; control characters cannot go in a header.
        local = target.startswith("/") and not target.startswith("//") and target.isprintable()
        if local and not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("community.index")


def _sign_in(member, remember: bool = False) -> None:
    session.pop("key", None)  # a new browser-session id for the signed-in session
    login_user(member, remember=remember)
    session_key()


def _require_admin():
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(404)


# ---- home and lists ---------------------------------------------------------


@bp.get("/")
@shared
def index():
    return render_template(
        "community/index.html",
        summaries=services.space_summaries(current_user),
        unanswered=services.unanswered_questions(current_user),
        latest=services.list_threads(current_user, sort="latest", per_page=10, count=False).items,
    )


@bp.get("/threads")
@shared
def all_threads():
    sort = request.args.get("sort", "latest")
    if sort not in services.THREAD_SORTS:
        sort = "latest"
    threads = services.list_threads(current_user, sort=sort, page=page_arg())
    return render_template("community/threads.html", threads=threads, sort=sort, space=None)


@bp.get("/s/<slug>")
@shared
def space(slug):
    space = services.get_space(slug, current_user)
    sort = request.args.get("sort", "latest")
    if sort not in services.THREAD_SORTS:
        sort = "latest"
    threads = services.list_threads(current_user, space=space, sort=sort, page=page_arg())
    return render_template(
        "community/threads.html",
        threads=threads,
        sort=sort,
        space=space,
    )


@bp.post("/s/<slug>/follow")
@login_required
def follow_space(slug):
    space = services.get_space(slug, current_user)
    if request.form.get("action") == "unfollow":
        services.unfollow_space(space, current_user)
        flash(f"You no longer follow {space.name}.", "info")
    else:
        services.follow_space(space, current_user)
        flash(f"You will hear about new threads in {space.name}.", "info")
    return redirect(url_for("community.space", slug=space.slug))


@bp.route("/s/<slug>/new", methods=["GET", "POST"])
@login_required
@_limit("RATELIMIT_POSTING")
def new_thread(slug):
    space = services.get_space(slug, current_user)
    form = ThreadForm()
    if request.method == "GET" and request.args.get("title"):
        form.title.data = request.args["title"][:200]
    if form.validate_on_submit():
        try:
            thread = services.create_thread(
                space,
                current_user,
                form.kind.data,
                form.title.data,
                form.body.data,
                form.tags.data,
            )
        except DomainError as error:
            show_form_errors(form, error)
        else:
            return redirect(url_for("community.thread", thread_id=thread.id))
    return render_template("community/new_thread.html", form=form, space=space), (
        422 if form.errors or request.method == "POST" else 200
    )


# ---- search --------------------------------------------------------------------


@bp.get("/search")
@shared
def search_page():
    args = request.args
    selected = {
        "space": args.get("space", "")[:60],
        "kind": args.get("kind", "") if args.get("kind") in search.KIND_LABELS else "",
        "solved": args.get("solved", "") if args.get("solved") in ("yes", "no") else "",
        "tag": args.get("tag", "").strip().lower()[:30],
    }
    sort = args.get("sort") if args.get("sort") in search.SORTS else "relevance"
    space = None
    if selected["space"]:
        try:
            space = services.get_space(selected["space"], current_user)
        except NotFound:
            space = False  # nothing, exactly as for a space that does not exist
    results = search.query(
        current_user,
        args.get("q", ""),
        space=space,
        kind=selected["kind"] or None,
        solved={"yes": True, "no": False}.get(selected["solved"]),
        tag=selected["tag"] or None,
        sort=sort,
        page=page_arg(),
    )
    return render_template("community/search.html", results=results, selected=selected)


# ---- feeds ----------------------------------------------------------------------


def _thread_entries(pairs):
    return [
        feeds.Entry(
            id=f"thread:{thread.id}",
            title=thread.title,
            url=url_for("community.thread", thread_id=thread.id, _external=True),
            author=thread.author.display_name,
            published=thread.created_at,
            updated=opening.edited_at or thread.created_at,
            html=opening.body_html if not opening.is_hidden else "<p>Hidden by a moderator.</p>",
        )
        for thread, opening in pairs
    ]


@bp.get("/feed.atom")
def threads_feed():
    pairs = services.newest_threads_with_openings(current_user, limit=feeds.FEED_ENTRIES)
    return feeds.atom(
        "New threads",
        url_for("community.threads_feed", _external=True),
        url_for("community.all_threads", sort="new", _external=True),
        _thread_entries(pairs),
        private=current_user.is_authenticated,
    )


@bp.get("/s/<slug>/feed.atom")
def space_feed(slug):
    space = services.get_space(slug, current_user)
    pairs = services.newest_threads_with_openings(
        current_user, space=space, limit=feeds.FEED_ENTRIES
    )
    return feeds.atom(
        space.name,
        url_for("community.space_feed", slug=space.slug, _external=True),
        url_for("community.space", slug=space.slug, _external=True),
        _thread_entries(pairs),
        private=current_user.is_authenticated or space.is_private,
    )


@bp.get("/t/<int:thread_id>/feed.atom")
def thread_feed(thread_id):
    thread = services.get_thread(thread_id, current_user)
    replies = services.latest_replies(thread, current_user, limit=feeds.FEED_ENTRIES)
    entries = [
        feeds.Entry(
            id=f"post:{post.id}",
            title=f"Reply {post.number} to {thread.title}",
            url=url_for("community.post", post_id=post.id, _external=True),
            author=post.author.display_name,
            published=post.created_at,
            updated=post.edited_at or post.created_at,
            html=post.body_html if not post.is_hidden else "<p>Hidden by a moderator.</p>",
        )
        for post in replies
    ]
    return feeds.atom(
        thread.title,
        url_for("community.thread_feed", thread_id=thread.id, _external=True),
        url_for("community.thread", thread_id=thread.id, _external=True),
        entries,
        private=current_user.is_authenticated or thread.space.is_private,
    )


# ---- a thread -----------------------------------------------------------------


@bp.get("/t/<int:thread_id>")
@shared
def thread(thread_id):
    try:
        thread = services.get_thread(thread_id, current_user)
    except NotFound:
        into = services.merged_into(thread_id, current_user)
        if into is None:
            raise
        return redirect(url_for("community.thread", thread_id=into.id), 301)
    if thread.merged_into_id and services.merged_into(thread.id, current_user):
        return redirect(url_for("community.thread", thread_id=thread.merged_into_id), 301)
    if thread.embed_url:
        return redirect(thread.embed_url)  # a discussion shown on another page (an idea)
    cache.count_view(thread)
    # Only members can reply. The form draws the reply box; its token is the page's
    # personal part (community/shared_pages.py), so the form makes none of its own.
    form = ReplyForm(meta={"csrf": False}) if current_user.is_authenticated else None
    return _thread_page(thread, form, page=page_arg())


def _thread_page(thread, form: ReplyForm | None, page: int, status: int = 200):
    replies = services.thread_replies(thread, current_user, page=page)
    opening = services.opening_post(thread)
    accepted = services.accepted_answer(thread)
    if accepted is not None and not access.can_view_post(current_user, accepted):
        accepted = None
    return render_template(
        "community/thread.html",
        thread=thread,
        opening=opening,
        accepted=accepted,
        replies=replies,
        form=form,
    ), status


@bp.post("/t/<int:thread_id>/reply")
@login_required
@_limit("RATELIMIT_POSTING")
def reply(thread_id):
    thread = services.get_thread(thread_id, current_user)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            post = services.reply(thread, current_user, form.body.data)
        except DomainError as error:
            show_form_errors(form, error)
        else:
            page = services.page_of_post(post, current_user)
            return redirect(
                url_for(
                    "community.thread", thread_id=thread.id, page=page, _anchor=f"post-{post.id}"
                )
            )
    # Back to the last page, where the reply box is, with the form's errors.
    last_page = max(1, -(-thread.reply_count // current_app.config["POSTS_PER_PAGE"]))
    return _thread_page(thread, form, page=last_page, status=422)


@bp.post("/t/<int:thread_id>/follow")
@login_required
def follow_thread(thread_id):
    thread = services.get_thread(thread_id, current_user)
    if request.form.get("action") == "unfollow":
        services.unfollow_thread(thread, current_user)
        flash("You no longer follow this thread.", "info")
    else:
        services.follow_thread(thread, current_user)
        flash("You will be notified of new replies.", "info")
    return redirect(url_for("community.thread", thread_id=thread.id))


@bp.get("/posts/<int:post_id>")
def post(post_id):
    post = services.get_post(post_id, current_user)
    page = services.page_of_post(post, current_user) if post.number else 1
    return redirect(
        url_for("community.thread", thread_id=post.thread_id, page=page, _anchor=f"post-{post.id}")
    )


@bp.get("/posts/<int:post_id>/fragment")
def post_fragment(post_id):
    """One reply rendered for the viewer, fetched by the page when it arrives live."""
    post = services.get_post(post_id, current_user)
    return render_template("community/_post.html", post=post, thread=post.thread)


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit_post(post_id):
    post = services.get_post(post_id, current_user)
    if not access.can_edit_post(current_user, post):
        abort(403)
    form = EditPostForm()
    if request.method == "GET":
        form.body.data = post.body
        form.title.data = post.thread.title
        form.tags.data = ", ".join(post.thread.tag_names)
    elif form.validate_on_submit():
        try:
            if post.is_opening:
                services.edit_post(
                    post, current_user, form.body.data, title=form.title.data, tags=form.tags.data
                )
            else:
                services.edit_post(post, current_user, form.body.data)
        except DomainError as error:
            show_form_errors(form, error)
        else:
            flash("Your changes are saved.", "success")
            return redirect(url_for("community.post", post_id=post.id))
    status = 422 if request.method == "POST" else 200
    return render_template("community/edit_post.html", form=form, post=post), status


@bp.post("/posts/<int:post_id>/accept")
@login_required
def accept(post_id):
    post = services.get_post(post_id, current_user)
    if request.form.get("action") == "unaccept":
        services.unaccept_answer(post, current_user)
        flash("The answer is no longer marked as the solution.", "info")
    else:
        services.accept_answer(post, current_user)
        flash("Marked as the solution. Thank you for closing the loop!", "success")
    return redirect(url_for("community.thread", thread_id=post.thread_id))


@bp.post("/posts/<int:post_id>/kudos")
@login_required
def kudos(post_id):
    post = services.get_post(post_id, current_user)
    try:
        if request.form.get("action") == "withdraw":
            services.withdraw_kudos(post, current_user)
        else:
            services.give_kudos(post, current_user)
    except Invalid as error:
        flash(error.message, "error")
    return redirect(url_for("community.post", post_id=post.id))


# ---- accounts -----------------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@_limit("RATELIMIT_REGISTER")
def register():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = RegisterForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        if form.website.data:
            # The honeypot was filled in: a robot. Nothing is stored.
            flash("We could not create that account.", "error")
        else:
            try:
                member = services.register_member(
                    form.email.data, form.display_name.data, form.password.data
                )
            except DomainError as error:
                show_form_errors(form, error)
            else:
                _sign_in(member)
                flash(f"Welcome to the community, {member.display_name}!", "success")
                return redirect(_safe_next(form.next.data))
    status = 422 if request.method == "POST" else 200
    return render_template("community/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@_limit("RATELIMIT_LOGIN")
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        try:
            member = services.authenticate(form.email.data, form.password.data)
        except DomainError as error:
            show_form_errors(form, error)
        else:
            _sign_in(member, remember=bool(form.remember.data))
            return redirect(_safe_next(form.next.data))
    status = 422 if request.method == "POST" else 200
    return render_template("community/login.html", form=form), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        member, key = current_user._get_current_object(), session.get("key")
        logout_user()
        session.pop("key", None)
        services.end_session(member, key)
        flash("You are signed out.", "info")
    return redirect(url_for("community.index"))


@bp.get("/members/<int:member_id>")
@shared
def profile(member_id):
    member = services.get_member(member_id)
    return render_template(
        "community/profile.html",
        member=member,
        activity=services.member_activity(member, current_user),
    )


@bp.route("/settings/profile", methods=["GET", "POST"])
@login_required
def settings_profile():
    form = ProfileForm(obj=current_user) if request.method == "GET" else ProfileForm()
    if form.validate_on_submit():
        try:
            services.update_profile(current_user, form.display_name.data, form.bio.data)
        except DomainError as error:
            show_form_errors(form, error)
        else:
            flash("Your profile is saved.", "success")
            return redirect(url_for("community.settings_profile"))
    status = 422 if request.method == "POST" else 200
    return render_template("community/settings_profile.html", form=form), status


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def settings_password():
    form = PasswordForm()
    if form.validate_on_submit():
        member = current_user._get_current_object()
        try:
            services.change_password(member, form.current_password.data, form.new_password.data)
        except DomainError as error:
            show_form_errors(form, error)
        else:
            # Every other session has ended; this one carries on with the new epoch.
            _sign_in(member)
            flash("Your password is changed. Other devices have been signed out.", "success")
            return redirect(url_for("community.settings_profile"))
    status = 422 if request.method == "POST" else 200
    return render_template("community/settings_password.html", form=form), status


@bp.route("/settings/tokens", methods=["GET", "POST"])
@login_required
def settings_tokens():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        try:
            _token, new_token = services.issue_api_token(current_user, form.name.data)
        except DomainError as error:
            show_form_errors(form, error)
    return render_template(
        "community/settings_tokens.html",
        form=form,
        tokens=services.api_tokens(current_user),
        new_token=new_token,
    )


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id):
    services.revoke_api_token(current_user, token_id)
    flash("The token is revoked; programs using it can no longer sign in.", "info")
    return redirect(url_for("community.settings_tokens"))


# ---- notifications ------------------------------------------------------------


@bp.get("/notifications")
@login_required
def notifications():
    page = services.list_notifications(current_user, page=page_arg())
    return render_template("community/notifications.html", notes=page)


@bp.post("/notifications/read")
@login_required
def notifications_read():
    services.mark_notifications_read(current_user)
    return redirect(url_for("community.notifications"))


# ---- administration -----------------------------------------------------------


@bp.get("/admin/members")
def admin_members():
    _require_admin()
    query_text = request.args.get("q", "")[:100]
    members = services.list_members(page=page_arg(), query_text=query_text)
    return render_template(
        "community/admin_members.html", members=members, q=query_text, form=RolesForm()
    )


@bp.post("/admin/members/<int:member_id>/roles")
def admin_member_roles(member_id):
    _require_admin()
    member = services.get_member(member_id)
    try:
        services.set_roles(member, request.form.getlist("roles"), by=current_user)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(f"Roles of {member.display_name} saved.", "success")
    return redirect(url_for("community.admin_members", q=request.args.get("q", "")))


@bp.post("/admin/members/<int:member_id>/customer")
def admin_member_customer(member_id):
    """Customer value and segment, set by hand until the CRM bridge fills them."""
    _require_admin()
    member = services.get_member(member_id)
    try:
        services.set_customer_attributes(
            member, request.form.get("customer_value"), request.form.get("segment"), by=current_user
        )
    except DomainError as error:
        flash(" ".join([error.message, *error.fields.values()]), "error")
    else:
        flash(f"Customer data of {member.display_name} saved.", "success")
    return redirect(url_for("community.admin_members", q=request.args.get("q", "")))


@bp.route("/admin/spaces", methods=["GET", "POST"])
def admin_spaces():
    _require_admin()
    form = SpaceForm()
    if form.validate_on_submit():
        data = {
            "name": form.name.data,
            "slug": form.slug.data,
            "description": form.description.data,
            "kind": form.kind.data,
            "visibility": form.visibility.data,
        }
        if form.position.data is not None:
            data["position"] = form.position.data
        try:
            space = services.create_space(current_user, **data)
        except DomainError as error:
            show_form_errors(form, error)
        else:
            flash(f"Space {space.name} created.", "success")
            return redirect(url_for("community.admin_spaces"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "community/admin_spaces.html", form=form, spaces=services.list_spaces(current_user)
    ), status


@bp.post("/admin/spaces/<slug>")
def admin_space_update(slug):
    _require_admin()
    try:
        space = services.get_space(slug, current_user)
        services.update_space(
            space,
            current_user,
            name=request.form.get("name"),
            description=request.form.get("description", ""),
            position=request.form.get("position", ""),
        )
    except NotFound:
        raise
    except DomainError as error:
        flash(error.message + " " + " ".join(error.fields.values()), "error")
    else:
        flash(f"Space {space.name} saved.", "success")
    return redirect(url_for("community.admin_spaces"))
