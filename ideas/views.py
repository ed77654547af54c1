"""Ideas pages: browse, submit, vote, comment, and the product team's review."""

from __future__ import annotations

import csv
import io

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from community import access, feeds
from community import services as community
from community.errors import DomainError, NotFound
from community.extensions import limiter
from community.forms import ReplyForm
from community.shared_pages import shared
from community.web import page_arg, show_form_errors

from . import bp, services
from .forms import AreaForm, IdeaForm, MergeForm, StatusForm, VoteForm
from .models import IMPORTANCE, IMPORTANCE_LABELS, STATUS_LABELS, STATUSES


def _choice(value, allowed, default=None):
    return value if value in allowed else default


@bp.get("/")
@shared
def index():
    sort = _choice(request.args.get("sort"), services.SORTS, "top")
    status = _choice(request.args.get("status"), STATUSES)
    areas = services.list_areas(current_user)
    area_slug = request.args.get("area")
    area = next((a for a in areas if a.slug == area_slug), None)
    tag = (request.args.get("tag") or "")[:30] or None
    ideas = services.list_ideas(
        current_user, sort=sort, status=status, area=area, tag=tag, page=page_arg()
    )
    return render_template(
        "ideas/index.html",
        ideas=ideas,
        sort=sort,
        status=status,
        area=area,
        areas=areas,
        tag=tag,
        statuses=STATUS_LABELS,
    )


@bp.get("/feed.atom")
def feed():
    ideas = services.list_ideas(current_user, sort="new", page=1, per_page=feeds.FEED_ENTRIES)
    entries = [
        feeds.Entry(
            id=f"idea:{idea.id}",
            title=f"{idea.title} [{idea.status_label}]",
            url=url_for("ideas.idea", idea_id=idea.id, _external=True),
            author=idea.author.display_name,
            published=idea.created_at,
            updated=max(d for d in (idea.created_at, idea.status_changed_at, idea.edited_at) if d),
            html=idea.body_html,
        )
        for idea in ideas.items
    ]
    return feeds.atom(
        "New ideas",
        url_for("ideas.feed", _external=True),
        url_for("ideas.index", sort="new", _external=True),
        entries,
        private=current_user.is_authenticated,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_POSTING"], methods=["POST"])
def new():
    areas = services.list_areas(current_user)
    form = IdeaForm()
    form.area.choices = [(a.slug, a.name) for a in areas]
    if request.method == "GET":
        form.area.data = request.args.get("area") or (areas[0].slug if areas else None)
        form.title.data = (request.args.get("title") or "")[:200]
    if form.validate_on_submit():
        try:
            area = services.get_area(form.area.data, current_user)
            idea = services.submit_idea(
                current_user, area, form.title.data, form.body.data, form.tags.data
            )
        except DomainError as error:
            show_form_errors(form, error)
        else:
            flash("Your idea is posted, with your vote. Share it so others can vote!", "success")
            return redirect(url_for("ideas.idea", idea_id=idea.id))
    elif request.method == "POST":
        # An area that is not on the list is the only thing WTForms itself refuses.
        form.area.errors = ["Choose one of the product areas."]
    status = 422 if request.method == "POST" else 200
    return render_template("ideas/new.html", form=form, areas=areas), status


@bp.get("/<int:idea_id>")
def idea(idea_id):
    idea = services.get_idea(idea_id, current_user)
    if idea.status == "merged" and idea.merged_into_id:
        flash(f"“{idea.title}” was merged into this idea; its votes and comments are here.", "info")
        return redirect(url_for("ideas.idea", idea_id=idea.merged_into_id))
    # Forms make CSRF tokens (a session): a visitor gets none, and a cacheable page.
    return _idea_page(idea, ReplyForm() if current_user.is_authenticated else None)


def _idea_page(idea, reply_form, status: int = 200):
    replies = (
        community.thread_replies(idea.thread, current_user, page=page_arg(), per_page=50)
        if idea.thread
        else None
    )
    merged = services.merged_discussions(idea)
    merged_comments = [
        (m, community.thread_replies(m.thread, current_user, per_page=50).items)
        for m in merged
        if m.thread is not None
    ]
    member = current_user.is_authenticated
    vote_form = VoteForm() if member else None
    mine = services.my_vote(idea, current_user)
    if mine is not None and vote_form is not None:
        vote_form.importance.data = mine.importance or ""
    return render_template(
        "ideas/idea.html",
        idea=idea,
        history=services.status_history(idea),
        mine=mine,
        vote_form=vote_form,
        status_form=StatusForm(status=idea.status if idea.status != "merged" else "new")
        if member
        else None,
        merge_form=MergeForm() if member else None,
        form=reply_form,
        replies=replies,
        merged_comments=merged_comments,
        following=community.is_following_thread(idea.thread, current_user)
        if idea.thread
        else False,
        importance_labels=IMPORTANCE_LABELS,
    ), status


@bp.post("/<int:idea_id>/vote")
@login_required
def vote(idea_id):
    idea = services.get_idea(idea_id, current_user)
    try:
        if request.form.get("action") == "unvote":
            services.unvote(idea, current_user)
            flash("Your vote is withdrawn.", "info")
        else:
            services.vote(idea, current_user, request.form.get("importance") or None)
            flash("Thanks for your vote! You will hear when its status changes.", "success")
    except DomainError as error:
        flash(error.message, "error")
    return redirect(url_for("ideas.idea", idea_id=idea.id))


@bp.post("/<int:idea_id>/comments")
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_POSTING"])
def comment(idea_id):
    idea = services.get_idea(idea_id, current_user)
    if idea.thread is None:
        abort(404)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            post = community.reply(idea.thread, current_user, form.body.data)
        except DomainError as error:
            show_form_errors(form, error)
        else:
            return redirect(url_for("ideas.idea", idea_id=idea.id, _anchor=f"post-{post.id}"))
    return _idea_page(idea, form, status=422)


@bp.post("/<int:idea_id>/follow")
@login_required
def follow(idea_id):
    idea = services.get_idea(idea_id, current_user)
    if idea.thread is None:
        abort(404)
    if request.form.get("action") == "unfollow":
        community.unfollow_thread(idea.thread, current_user)
        flash("You no longer follow this idea.", "info")
    else:
        community.follow_thread(idea.thread, current_user)
        flash("You will hear about comments and status changes.", "info")
    return redirect(url_for("ideas.idea", idea_id=idea.id))


@bp.post("/<int:idea_id>/status")
@login_required
def change_status(idea_id):
    idea = services.get_idea(idea_id, current_user)
    if not access.can_respond_to_ideas(current_user, idea.area.space):
        abort(404)
    try:
        services.change_status(
            idea, request.form.get("status"), request.form.get("note", ""), by=current_user
        )
    except DomainError as error:
        flash(" ".join([error.message, *error.fields.values()]), "error")
    else:
        flash("Status changed; the author, voters and followers are told.", "success")
    return redirect(url_for("ideas.idea", idea_id=idea.id))


@bp.post("/<int:idea_id>/merge")
@login_required
def merge(idea_id):
    idea = services.get_idea(idea_id, current_user)
    if not access.can_review_ideas(current_user):
        abort(404)
    target = request.form.get("into", "").strip().lstrip("#")
    try:
        into = services.get_idea(int(target) if target.isdigit() else None, current_user)
        services.merge_ideas(idea, into, by=current_user)
    except NotFound:
        flash("There is no idea with that number.", "error")
        return redirect(url_for("ideas.idea", idea_id=idea.id))
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("ideas.idea", idea_id=idea.id))
    flash(f"Merged into “{into.title}”. Voters of both are counted once.", "success")
    return redirect(url_for("ideas.idea", idea_id=into.id))


# ---- the product team -------------------------------------------------------------


def _review_args():
    return {
        "sort": _choice(request.args.get("sort"), services.REVIEW_SORTS, "value"),
        "segment": (request.args.get("segment") or "")[:60] or None,
        "status": _choice(request.args.get("status"), STATUSES),
    }


@bp.get("/review")
@shared
def review():
    if not access.can_review_ideas(current_user):
        abort(404)
    args = _review_args()
    areas = services.list_areas(current_user)
    area = next((a for a in areas if a.slug == request.args.get("area")), None)
    rows = services.review(current_user, area=area, page=page_arg(), **args)
    return render_template(
        "ideas/review.html",
        rows=rows,
        areas=areas,
        area=area,
        segments=services.segments_in_use(),
        statuses=STATUS_LABELS,
        importance=IMPORTANCE,
        importance_labels=IMPORTANCE_LABELS,
        # The token is the page's personal part (community/shared_pages.py), not the form's.
        status_form=StatusForm(meta={"csrf": False}),
        **args,
    )


@bp.get("/review.csv")
def review_csv():
    if not access.can_review_ideas(current_user):
        abort(404)
    rows = services.review(current_user, page=1, per_page=200, **_review_args())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["id", "title", "area", "status", "votes", *IMPORTANCE, "votes_last_30_days",
         "votes_previous_30_days", "value_weighted_demand", "segments", "url"]
    )  # fmt: skip
    pages = [rows]
    while pages[-1].has_next:
        pages.append(
            services.review(current_user, page=pages[-1].next_num, per_page=200, **_review_args())
        )
    for page in pages:
        for row in page.items:
            writer.writerow(
                [
                    row.idea.id,
                    _csv_text(row.idea.title),
                    _csv_text(row.idea.area.name),
                    row.idea.status,
                    row.votes,
                    *(row.importance[i] for i in IMPORTANCE),
                    row.recent,
                    row.previous,
                    f"{row.value:.2f}",
                    _csv_text(  # segment names come from the CRM
                        "; ".join(
                            f"{k}: {v['votes']} / {v['value']:.2f}" for k, v in row.segments.items()
                        )
                    ),
                    url_for("ideas.idea", idea_id=row.idea.id, _external=True),
                ]
            )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=ideas-review.csv"},
    )


def _csv_text(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: defuse them."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@bp.post("/review/status")
def bulk_status():
    if not access.can_review_ideas(current_user):
        abort(404)
    ids = [int(i) for i in request.form.getlist("ideas") if i.isdigit()]
    try:
        changed = services.bulk_change_status(
            ids, request.form.get("status"), request.form.get("note", ""), by=current_user
        )
    except DomainError as error:
        flash(" ".join([error.message, *error.fields.values()]), "error")
    else:
        flash(f"{changed} idea(s) changed; their voters are told.", "success")
    return redirect(url_for("ideas.review", **request.args.to_dict()))


# ---- areas (admins) and fraud (moderators) ------------------------------------------------


@bp.route("/areas", methods=["GET", "POST"])
def areas():
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(404)
    form = AreaForm()
    spaces = community.list_spaces(current_user)
    form.space.choices = [(s.slug, f"{s.name} ({s.visibility})") for s in spaces]
    if form.validate_on_submit():
        try:
            space = community.get_space(form.space.data, current_user)
            area = services.create_area(
                current_user,
                name=form.name.data,
                slug=form.slug.data,
                description=form.description.data,
                space=space,
            )
        except DomainError as error:
            show_form_errors(form, error)
        else:
            flash(f"Idea area {area.name} created.", "success")
            return redirect(url_for("ideas.areas"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "ideas/areas.html", form=form, areas=services.list_areas(current_user)
    ), status


@bp.route("/votes/<int:member_id>", methods=["GET", "POST"])
def member_votes(member_id):
    if not access.is_moderator(current_user):
        abort(404)
    member = community.get_member(member_id)
    if request.method == "POST":
        try:
            idea_ids = services.void_votes(member, current_user, request.form.get("reason"))
        except DomainError as error:
            flash(" ".join([error.message, *error.fields.values()]), "error")
        else:
            flash(f"Voided {member.display_name}'s votes on {len(idea_ids)} idea(s).", "success")
        return redirect(url_for("ideas.member_votes", member_id=member.id))
    return render_template(
        "ideas/member_votes.html",
        member=member,
        votes=services.member_votes(member, current_user),
        importance_labels=IMPORTANCE_LABELS,
    )
